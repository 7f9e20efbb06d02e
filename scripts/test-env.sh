# Sourced by `make test` / `make bench`.
# The test process itself runs like the embedded default (local-memory cache,
# Celery tasks in-process); the tests that are about Redis, a worker or several
# processes use the real Redis at TEST_REDIS_URL explicitly. REDIS_URL, when
# given, names that Redis; otherwise a local one on 6379 (started if down).
if [[ -n "${REDIS_URL:-}" ]]; then
  export TEST_REDIS_URL="$REDIS_URL"
  unset REDIS_URL
else
  if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    if command -v redis-server >/dev/null 2>&1; then
      mkdir -p .data/redis
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir "$PWD/.data/redis" --logfile "$PWD/.data/redis/redis.log" \
        --pidfile "$PWD/.data/redis/redis.pid" >/dev/null
      sleep 0.5
      # Started here, so stopped by the caller when it is done (scripts/stop-redis.sh).
      export TEST_REDIS_STARTED="$PWD/.data/redis/redis.pid"
    fi
  fi
  export TEST_REDIS_URL="redis://127.0.0.1:6379/15"
fi
export DJANGO_SETTINGS_MODULE=saas.settings.test
