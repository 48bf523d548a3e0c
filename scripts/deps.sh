#!/usr/bin/env bash
# Installs what the benchmarks need from Debian packages, when missing:
# nginx (the reference reverse proxy) and wrk (the load generator).
# Idempotent: does nothing when both are installed. nginx is not left
# running as a system service: the benchmarks start their own instances.
set -euo pipefail

packages=()
command -v wrk >/dev/null 2>&1 || packages+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx)

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "bench-deps: need root or sudo to install: ${packages[*]}" >&2
    exit 1
  fi
fi

echo "bench-deps: installing ${packages[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"

# The nginx package starts the system service where it can; the benchmarks
# run their own nginx on a private port, so stop the service again.
for p in "${packages[@]}"; do
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
