"""gunicorn's configuration for the web role: `gunicorn -c python:config.gunicorn config.wsgi:application`.

Sizing comes from settings.py (the environment): WEB_CONCURRENCY processes of WEB_THREADS threads each. Threads let
one process overlap requests that wait on PostgreSQL or on the disk; processes use the cores (the GIL).
"""
import os

from config import settings

bind = f"{settings.WEB_HOST}:{settings.WEB_PORT}"
workers = settings.WEB_CONCURRENCY
threads = settings.WEB_THREADS
worker_class = "gthread"
timeout = settings.WEB_TIMEOUT_SECONDS
graceful_timeout = settings.WEB_TIMEOUT_SECONDS
keepalive = 5
# Recycle a process now and then (jitter: never all at once), so slow leaks in any library stay bounded.
max_requests = 10_000
max_requests_jitter = 1_000
# The heartbeat file on tmpfs: a container's overlay filesystem can stall it and get healthy workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Access logs only when asked for (the proxy in front usually keeps them); errors always go to stderr.
accesslog = "-" if settings.WEB_ACCESS_LOG else None
errorlog = "-"
forwarded_allow_ips = settings.WEB_FORWARDED_ALLOW_IPS
