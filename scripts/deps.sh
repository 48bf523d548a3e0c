#!/usr/bin/env bash
# Installs the real servers the tests and benchmarks use, from Debian's
# packages, when missing: nginx (router tests, the reference proxy in
# bench-proxy), wrk (load generator), bind9 + bind9-dnsutils (named, dig and
# nsupdate for the DNS router tests), docker-registry (a real registry for the
# trigger and registry tests), python3-aiosmtpd (a real SMTP server for the
# email notification tests). Idempotent: does nothing when all are
# installed. nginx and named are not left running as system services: the
# tests start their own instances on private ports.
set -euo pipefail

packages=()
command -v wrk >/dev/null 2>&1 || packages+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx)
command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ] || packages+=(bind9)
command -v dig >/dev/null 2>&1 && command -v nsupdate >/dev/null 2>&1 || packages+=(bind9-dnsutils)
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || packages+=(docker-registry)
# Debian's aiosmtpd, for /usr/bin/python3 (a pyenv python3 first in PATH cannot see it).
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || packages+=(python3-aiosmtpd)

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "deps: need root or sudo to install: ${packages[*]}" >&2
    exit 1
  fi
fi

echo "deps: installing ${packages[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"

# The nginx package starts the system service where it can; the benchmarks
# run their own nginx on a private port, so stop the service again.
for p in "${packages[@]}"; do
  if [ "$p" = bind9 ] || [ "$p" = docker-registry ]; then
    service=named
    [ "$p" = docker-registry ] && service=docker-registry
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      "${as_root[@]}" systemctl stop "$service" >/dev/null 2>&1 || true
      "${as_root[@]}" systemctl disable "$service" >/dev/null 2>&1 || true
    fi
    continue
  fi
  [ "$p" = nginx ] || continue
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    "${as_root[@]}" systemctl stop nginx >/dev/null 2>&1 || true
    "${as_root[@]}" systemctl disable nginx >/dev/null 2>&1 || true
  fi
  if [ -s /run/nginx.pid ]; then
    "${as_root[@]}" /usr/sbin/nginx -s stop >/dev/null 2>&1 ||
      "${as_root[@]}" kill "$(cat /run/nginx.pid)" >/dev/null 2>&1 || true
  fi
done
