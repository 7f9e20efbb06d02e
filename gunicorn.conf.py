"""gunicorn settings for every way this project starts it (compose, Dockerfile, tests, bench).

gunicorn reads ./gunicorn.conf.py from its working directory; command-line
flags override these values.
"""

import os

# Threads share one database pool per process (saas/settings: DB_POOL_*), so a
# worker holds at most DB_POOL_MAX_SIZE connections however many threads it runs.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Above the app's MAX_URI_LENGTH (4,096), so a URI the app refuses gets the
# API's 414 error body; gunicorn's own plain 414 only starts past 8,190 bytes.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100
