"""gunicorn settings for production (`gunicorn cadcam.wsgi`), tuned by environment variables."""

import multiprocessing
import os
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
# Case files are up to 100 MB: allow slow uploads to finish.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
graceful_timeout = 30
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
# connections over them. With one shared socket, whichever worker wakes first may accept a
# burst of keep-alive connections and keep them (issue 17 saw two workers serve 0.95x what one
# did). A worker that exits drops the connections queued on its own socket: see docs/deploy.md.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "true").lower() not in {"0", "false", "no"}
# A worker is replaced after this many requests (a guard against slow leaks). Booting Django
# takes about a second, during which the worker's connections wait: at 2,000 a busy worker
# (600 requests/s from the browse cache) was replaced every 3 s and p95 went past 1 s.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 50_000))
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
# The reverse proxy in front sets X-Forwarded-Proto; trust it only from where it runs.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket sits in the home folder by default, one path for every instance
# on the machine; nothing here uses it.
control_socket_disable = True

# Prometheus metrics (/metrics) add up the figures of every worker process through files in
# this folder; a fresh one per server start unless the environment names one.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cadcam-metrics-")


def child_exit(server, worker):
    """A worker process ended: its live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
