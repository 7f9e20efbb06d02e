# Sourced by `make test` / `make bench`: Redis for the tests that need a real one.
# Uses REDIS_URL when given; else a local redis on 6379 (started if it is down).
if [[ -z "${REDIS_URL:-}" ]]; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    if command -v redis-server >/dev/null 2>&1; then
      mkdir -p .data/redis
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir "$PWD/.data/redis" --logfile "$PWD/.data/redis/redis.log" >/dev/null
      sleep 0.5
    fi
  fi
  export TEST_REDIS_URL="redis://127.0.0.1:6379/15"
else
  export TEST_REDIS_URL="$REDIS_URL"
fi
export DJANGO_SETTINGS_MODULE=saas.settings.test
