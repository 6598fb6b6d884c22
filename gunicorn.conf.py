"""gunicorn settings, read automatically from the working directory.

Environment: PORT (default 8000), GUNICORN_BIND (overrides host:port), WEB_CONCURRENCY
(worker processes), GUNICORN_THREADS, DJANGO_DEBUG (reload on code changes).
"""

import os

bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_tmp_dir = "/dev/shm"  # noqa: S108 (heartbeat files in memory, as gunicorn advises)
keepalive = 5
timeout = 30
graceful_timeout = 20
# The site runs behind a proxy (nginx) that sets X-Forwarded-Proto on the loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
# Path only, no query string: nothing a visitor typed ends up in the access log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
reload = os.environ.get("DJANGO_DEBUG", "").lower() in {"1", "true", "yes", "on"}
