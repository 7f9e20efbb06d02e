"""Outbound webhooks (webhooks/): the SSRF rule, retries, disabling, retention.

Imported by base.py (`from saas.settings.webhooks import *`); every name here is a setting.
"""

import os

# Delivery to loopback, private, link-local or reserved addresses (SSRF): off in production;
# tests that run a receiver on loopback turn it on for themselves.
WEBHOOKS_ALLOW_PRIVATE = os.environ.get("WEBHOOKS_ALLOW_PRIVATE", "0") == "1"
# Seconds between attempts after the first (Standard Webhooks' schedule): 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h; a delivery fails after the last.
WEBHOOKS_RETRY_SCHEDULE = [
    float(s)
    for s in os.environ.get("WEBHOOKS_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000").split(
        ","
    )
    if s.strip()
]
# Failed attempts in a row (any delivery) after which an endpoint is disabled and owners mailed.
WEBHOOKS_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOKS_DISABLE_AFTER_FAILURES", "20"))
WEBHOOKS_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_CONNECT_TIMEOUT_SECONDS", "3"))
WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_TIMEOUT_SECONDS", "5"))
# Retries up to this delay ride on a Celery countdown; longer ones (and lost messages) are
# queued by the sweep, which takes a delivery this long after it was due.
WEBHOOKS_COUNTDOWN_MAX_SECONDS = float(os.environ.get("WEBHOOKS_COUNTDOWN_MAX_SECONDS", "600"))
WEBHOOKS_SWEEP_GRACE_SECONDS = float(os.environ.get("WEBHOOKS_SWEEP_GRACE_SECONDS", "60"))
# Events (their payloads) and finished deliveries are kept this long for the log and resends.
WEBHOOKS_RETENTION_DAYS = int(os.environ.get("WEBHOOKS_RETENTION_DAYS", "30"))
