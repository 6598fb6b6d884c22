"""gunicorn settings, read automatically from the working directory.

Environment: PORT (default 8000), GUNICORN_BIND (overrides host:port), WEB_CONCURRENCY
(worker processes), GUNICORN_THREADS, DJANGO_DEBUG (reload on code changes).
"""

import os

bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"

# Chosen by measurement (`python -m bench.tune`, figures in bench/results/tuning.md), on 2 cores:
# - sync workers, one per core. Every page is CPU work of well under a millisecond (content
#   pages and /sources/ are kept rendered), so processes beyond the cores add no throughput
#   for pages, raise p99 (8 ms with 2, 11-13 ms with 4) and cost about 40 MB each. Four did
#   take about a quarter more questions a second (SQLite commits overlap): production runs
#   two instances of this configuration (deploy/), four processes in all.
# - not gthread: with persistent connections one process can end up holding them all while
#   the other idles (seen at less than half the throughput); its p99 was 2-3 times sync's.
# - not preload_app: it saved about 6 MB per worker, but a HUP reload (ExecReload in
#   deploy/systemd) would then keep serving the old code.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
preload_app = False
worker_tmp_dir = "/dev/shm"  # noqa: S108 (heartbeat files in memory, as gunicorn advises)
keepalive = 5  # gthread only: sync workers close each connection (nginx opens one per request)
timeout = 30
graceful_timeout = 20
# gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), shared
# by every instance on the machine: two instances (deploy/systemd/tilsite-web@.service) would
# take it from each other. The site does not use it.
control_socket_disable = True
# The site runs behind a proxy (nginx) that sets X-Forwarded-Proto on the loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
# Path only, no query string: nothing a visitor typed ends up in the access log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
reload = os.environ.get("DJANGO_DEBUG", "").lower() in {"1", "true", "yes", "on"}
