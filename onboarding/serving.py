"""The production server on Linux: gunicorn, one worker process per core.

A Python process runs Python on one core at a time (the GIL), so threads (waitress, `serve`
without `--workers`) add no CPU: on a 2-core machine one waitress process reached 0.6 times what
two gunicorn workers served. gunicorn's workers each load the app after the fork (no preload:
no database connection or lock crosses a fork). Both ways in share these settings:
`onboarding serve --workers N` and `gunicorn 'wsgi:app'` (which reads ./gunicorn.conf.py).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any

from flask import Flask

# gthread rather than sync workers, by measurement (bench/README.md, wrk -c16, 2 cores): sync
# workers close every connection, gthread keeps them alive; the key check ran at 2,531-2,855
# req/s against 1,919-1,983 with sync, the consent screen at 609-715 against 605-616. A few
# threads per worker also overlap PostgreSQL's round trips and keep idle keep-alive connections
# from pinning a process. Python runs one thread at a time per process: the processes are what
# use the cores.
WORKER_CLASS = "gthread"
THREADS = 4


def settings(bind: str, workers: int | None = None) -> dict[str, Any]:
    """gunicorn's settings for the hub, as `gunicorn.conf.py` and `serve --workers` use them."""
    return {
        "bind": [bind],
        "workers": workers or os.cpu_count() or 1,
        "worker_class": WORKER_CLASS,
        "threads": THREADS,
        # Forwarded headers reach the app untouched: ProxyFix (ONBOARDING_PROXY_FIX) alone
        # decides whether to trust them (gunicorn would take X-Forwarded-Proto from 127.0.0.1).
        "secure_scheme_headers": {},
        "forwarded_allow_ips": "",
        "accesslog": None,  # the app writes one access line per request, with its request id
        "child_exit": child_exit,
        # No control socket in ~/.gunicorn: nothing here uses it, and several servers on one
        # machine (or one user) would contend for the one path.
        "control_socket_disable": True,
    }


def child_exit(_server: Any, worker: Any) -> None:
    """A worker's metrics files outlive it (prometheus-client's multiprocess mode): its gauges
    must stop counting once it is gone."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def hub() -> Flask:
    from onboarding import create_app
    from onboarding.observability import logs

    app = create_app()
    logs.configure(app, default="json")
    # What the worker holds from here on (modules, the app, its routes, the catalogs) lives as
    # long as the worker: out of the collector's sight, so that its full collections no longer
    # walk ~150,000 objects that can never be garbage.
    gc.freeze()
    return app


def run(bind: str, workers: int, load: Callable[[], Flask] = hub) -> None:
    """Serve `load()` (the hub; the bench's bare app) with gunicorn in the foreground until a
    signal stops it; each worker calls `load` after the fork."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
        def load_config(self) -> None:
            for name, value in settings(bind, workers).items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return load()

    Server().run()
