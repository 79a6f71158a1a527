"""gunicorn configuration for the web tier: `gunicorn -c python:webapp.gunicorn_conf 'webapp:create_app()'`.

Values come from `webapp.settings.Settings` (`WEBAPP_*`), so one settings table documents them;
command-line flags still override them. Read top to bottom, it says how a request is served.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from webapp.logs import log_config
from webapp.settings import Settings

_settings = Settings()

# Where to listen. Behind an ingress in Kubernetes this is 0.0.0.0:8000 (WEBAPP_BIND).
bind = [_settings.bind]

# gthread: each worker process runs a pool of threads. A request spends nearly all its time
# waiting for a model server (ZeroMQ, no CPU), so threads — not processes — give concurrency; a
# few processes (about one per core) give CPU parallelism for JSON and multipart parsing.
worker_class = "gthread"
workers = _settings.workers
threads = _settings.threads

# The app is built in each worker after the fork (no preload_app): the ZeroMQ context, sockets and
# the client's I/O thread must be created in the process that uses them, never inherited.
preload_app = False

# A worker that has not notified the arbiter for this long is hung and is killed. Requests
# themselves are bounded much tighter by WEBAPP_REQUEST_TIMEOUT_MS (answered 504).
timeout = _settings.timeout_s

# On SIGTERM: stop accepting, let in-flight requests finish for this long, then exit. Keep
# Kubernetes' terminationGracePeriodSeconds above it.
graceful_timeout = _settings.graceful_timeout_s

# Idle keep-alive connections are held this long; keep it above the ingress' upstream idle timeout.
keepalive = _settings.keepalive_s

# Queued connections beyond the threads' capacity; beyond this the kernel refuses.
backlog = 2048

# Request line and headers are small for this API; refuse oversized ones early.
limit_request_line = 8190
limit_request_fields = 100

# No control socket (gunicornc): its default path is shared by every gunicorn of a user, and a
# pod's root filesystem is read-only. Kubernetes manages the process with signals.
control_socket_disable = True

# Request log lines come from the app (with their request id, see WEBAPP_ACCESS_LOG); gunicorn's
# access log is off.
accesslog = None

# Workers prove they are alive by touching a file on every loop iteration (several per request):
# on tmpfs that is a memory write, on an overlay or disk filesystem an inode update. (gunicorn
# makes the file with mkstemp and unlinks it at once.)
_SHM = "/dev/shm"  # noqa: S108 - see above
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
errorlog = "-"
logconfig_dict = log_config(_settings.log_level, _settings.log_format)

# prometheus-client multiprocess mode: every worker writes its metrics to files in this directory,
# and /metrics adds them up. prometheus_client reads the variable when it is first imported, so
# nothing imported above may import it (webapp's package imports the app lazily for this reason);
# tests/test_gunicorn_conf.py holds that.
_multiproc_dir = _settings.prometheus_multiproc_dir
_own_multiproc_dir = _multiproc_dir is None
if _multiproc_dir is None:
    _multiproc_dir = Path(tempfile.mkdtemp(prefix="webapp-metrics-"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_multiproc_dir)


def on_starting(server: Any) -> None:
    """In the arbiter, before any worker: start from an empty metrics directory (no stale pids)."""
    assert _multiproc_dir is not None  # noqa: S101 - set above
    _multiproc_dir.mkdir(parents=True, exist_ok=True)
    for stale in _multiproc_dir.glob("*.db"):
        stale.unlink()


def post_fork(server: Any, worker: Any) -> None:
    """In the new worker. Deliberately creates nothing: the app factory builds the ZeroMQ client
    lazily in this process. Nothing ZeroMQ may exist in the arbiter before a fork."""


def post_worker_init(worker: Any) -> None:
    """In the worker, once the app is loaded: connect to the model servers before taking requests."""
    from webapp.app import warm_up

    warm_up(worker.wsgi)


def worker_exit(server: Any, worker: Any) -> None:
    """In the worker, as it exits (after graceful shutdown): close its model client."""
    from webapp.app import shutdown

    if getattr(worker, "wsgi", None) is not None:
        shutdown(worker.wsgi)


def child_exit(server: Any, worker: Any) -> None:
    """In the arbiter, when a worker exits: mark its metric files dead (live gauges are dropped)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, path=str(_multiproc_dir))  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics directory if this config created it."""
    if _own_multiproc_dir and _multiproc_dir is not None:
        shutil.rmtree(_multiproc_dir, ignore_errors=True)
