# Stops the redis-server that scripts/test-env.sh started, and only that one (its pidfile
# names it). Sourced by `make test` / `make bench` after the run (TEST_REDIS_STARTED is set
# only when test-env.sh started one); run by `make clean` with the pidfile as argument.
pidfile="${1:-${TEST_REDIS_STARTED:-}}"
if [[ -n "$pidfile" && -f "$pidfile" ]]; then
  pid="$(cat "$pidfile")"
  if [[ -n "$pid" ]] && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
fi
