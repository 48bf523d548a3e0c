#!/usr/bin/env bash
# The blue-green walk-through: start the daemon (it owns the built-in proxy),
# deploy examples/bluegreen twice, see the route serve the new version, roll
# back to the old one, deploy again and confirm, then clean up. Every step is
# checked; the script fails loudly when one does not hold.
#
#   BLUEGREEN_PORT     the route's port on 127.0.0.1 (default 8090)
#   CUTOVER_STATE_DIR  state dir (default: a fresh temp dir, removed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."

go build -o bin/cutover ./cmd/cutover
CGO_ENABLED=0 go build -trimpath -o examples/hello/app/testapp ./internal/testapp

cutover=bin/cutover
file=examples/bluegreen/compose.yaml
export BLUEGREEN_PORT=${BLUEGREEN_PORT:-8090}
url="http://127.0.0.1:$BLUEGREEN_PORT/"
own_state=""
if [ -z "${CUTOVER_STATE_DIR:-}" ]; then
  CUTOVER_STATE_DIR=$(mktemp -d)
  own_state=1
fi
export CUTOVER_STATE_DIR
log="$CUTOVER_STATE_DIR/serve.log"

say() { printf '\n==> %s\n' "$*"; }
fail() { echo "demo-bluegreen: $*" >&2; [ -f "$log" ] && tail -20 "$log" >&2; exit 1; }
now_ms() { date +%s%3N; }
answer() { curl -fsS --max-time 5 "$url" 2>/dev/null || echo "(no answer)"; }

cleanup() {
  $cutover down bluegreen --volumes >/dev/null 2>&1 || true
  if [ -n "${serve_pid:-}" ]; then
    kill -TERM "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  [ -n "$own_state" ] && rm -rf "$CUTOVER_STATE_DIR"
  return 0
}
trap cleanup EXIT

say "cutover serve (state dir $CUTOVER_STATE_DIR, log $log)"
$cutover serve >"$log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do
  [ -S "$CUTOVER_STATE_DIR/cutover.sock" ] && curl -fsS --unix-socket "$CUTOVER_STATE_DIR/cutover.sock" http://cutover/v1/health >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || fail "cutover serve exited"
  sleep 0.1
done
curl -fsS --unix-socket "$CUTOVER_STATE_DIR/cutover.sock" http://cutover/v1/health >/dev/null || fail "the daemon does not answer"

say "release 1 (v1) in blue"
APP_VERSION=v1 $cutover deploy -f "$file"
[ "$(answer)" = v1 ] || fail "route answers $(answer), want v1"
echo "$url answers $(answer)"

say "release 2 (v2) in green: traffic switches when green is ready, blue stands by"
APP_VERSION=v2 $cutover deploy -f "$file"
[ "$(answer)" = v2 ] || fail "route answers $(answer), want v2"
echo "$url answers $(answer)"
$cutover status bluegreen | tee "$CUTOVER_STATE_DIR/status.txt"
grep -q "color:    green serves" "$CUTOVER_STATE_DIR/status.txt" || fail "status does not say green serves"
grep -q "standby:  blue" "$CUTOVER_STATE_DIR/status.txt" || fail "status shows no blue standby"

say "rollback: back to blue at once"
t0=$(now_ms)
$cutover rollback bluegreen &
rollback_pid=$!
# Poll the route until it answers v1: the switch back is what users see.
seen=""
while [ -z "$seen" ] && kill -0 "$rollback_pid" 2>/dev/null; do
  [ "$(curl -fsS --max-time 1 "$url" 2>/dev/null)" = v1 ] && seen=$(now_ms)
done
wait "$rollback_pid" || fail "cutover rollback failed"
t1=$(now_ms)
[ "$(answer)" = v1 ] || fail "after rollback the route answers $(answer), want v1"
[ -n "$seen" ] || seen=$t1
echo "$url answers $(answer): v1 served $((seen - t0)) ms after cutover rollback started (the command, which also stops green, took $((t1 - t0)) ms)"

say "release 3 (v2) in green again, then confirm: blue is removed"
APP_VERSION=v2 $cutover deploy -f "$file"
$cutover confirm bluegreen
[ "$(answer)" = v2 ] || fail "after confirm the route answers $(answer), want v2"
blue=$(docker ps -aq --filter label=com.docker.compose.project=bluegreen-blue | wc -l)
green=$(docker ps -q --filter label=com.docker.compose.project=bluegreen-green | wc -l)
[ "$blue" -eq 0 ] && [ "$green" -eq 2 ] || fail "after confirm: $blue blue and $green green containers, want 0 and 2"
$cutover status bluegreen
echo
$cutover history bluegreen

say "blue-green demo passed; cleaning up"
