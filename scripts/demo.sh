#!/usr/bin/env bash
# The demo: deploy examples/hello on the local Docker engine as a release,
# then switch it to a new version as the next release. Nothing is pulled:
# the image is built FROM scratch around cutover's static test app.
#
#   HELLO_PORT   host port of the web service (default 8080)
#   CUTOVER_STATE_DIR  where releases are recorded (default: cutover's own)
set -euo pipefail
cd "$(dirname "$0")/.."

go build -o bin/cutover ./cmd/cutover
CGO_ENABLED=0 go build -trimpath -o examples/hello/app/testapp ./internal/testapp

cutover=bin/cutover
stack=examples/hello/compose.yaml
port=${HELLO_PORT:-8080}
export HELLO_PORT=$port

fetch() {
  # the web service answers with its version
  for _ in $(seq 1 50); do
    if out=$(curl -fsS "http://127.0.0.1:$port/" 2>/dev/null); then echo "$out"; return 0; fi
    sleep 0.1
  done
  echo "web did not answer on :$port" >&2
  return 1
}

echo "==> deploying hello v1"
HELLO_VERSION=v1 $cutover deploy -f "$stack"
echo "==> http://127.0.0.1:$port/ answers: $(fetch)"

echo "==> switching hello to v2"
HELLO_VERSION=v2 $cutover deploy -f "$stack"
echo "==> http://127.0.0.1:$port/ answers: $(fetch)"

echo
$cutover status hello
echo
$cutover history hello
echo
echo "Try: docker-compose -p hello -f $stack ps"
echo "     $cutover deploy -f $stack --image web=cutover-hello:v1   # back to v1 as a new release"
echo "     $cutover down hello                                       # remove it all"
