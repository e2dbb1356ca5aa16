"""The Dash application: built from a data source, a shared cache folder and the tab callbacks.

Data flow: :func:`start_preparation` prepares the dataset in a process (loading,
IoU candidates, metric tables; cached by fingerprint in the
:class:`~detlens.app.datastore.DataStore`) while the page polls its progress. Once
ready, the page stores only the dataset key; every callback reads the data from
the store, and the heavy ones run as Dash background callbacks through a
:class:`dash.DiskcacheManager` in the same cache folder, so several gunicorn
workers pointed at one folder share everything.
"""

from __future__ import annotations

import functools
import os
import signal
import stat
import sys
from pathlib import Path

import dash
import diskcache

from detlens.app.cache import SharedCache
from detlens.app.config import ServeConfig
from detlens.app.images import register_image_routes
from detlens.app.preparation import start_preparation
from detlens.app.queries import Queries
from detlens.app.source import demo_source

ASSETS = Path(__file__).resolve().parents[1] / "assets"  # the repository's assets/, or detlens/assets installed


def close_inherited_sockets() -> None:
    """Close every socket this (forked) process inherited from the web server.

    A background job is forked while the server handles the request that starts
    it; holding a copy of that connection would keep the browser waiting for the
    response until the job ends.
    """
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []:
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                os.close(int(name))
        except OSError:
            pass


def _run_detached(job_fn, *args):
    close_inherited_sockets()
    return job_fn(*args)


class BackgroundJobs(dash.DiskcacheManager):
    """Dash's diskcache manager, with jobs that do not hold the server's sockets or block requests.

    * A job closes the sockets it inherited when forked (see :func:`close_inherited_sockets`).
    * The stock ``terminate_job`` waits up to 1 s for the killed process inside a
      cache-wide transaction; with several jobs ending at once (every chart after
      an IoU change) requests queue behind each other. Finished jobs have already
      stored their result, so a short wait is enough.
    """

    def call_job_fn(self, key, job_fn, args, context):
        """Start the job in a forked process that first drops the inherited sockets."""
        import multiprocessing

        multiprocessing.active_children()  # reaps a finished preparation process
        return super().call_job_fn(key, functools.partial(_run_detached, job_fn), args, context)

    def terminate_job(self, job) -> None:
        """Kill the job's process (and its children) without waiting for it more than a moment."""
        import psutil

        if job is None:
            return
        try:
            process = psutil.Process(int(job))
            for child in process.children(recursive=True):
                child.kill()
            process.kill()
            process.wait(0.05)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired, psutil.AccessDenied, ValueError):
            pass


def create_app(config: ServeConfig, prepare: bool = False, show_progress: bool = False) -> dash.Dash:
    """The dashboard for ``config``: one :class:`Queries` service passed to every tab's ``register``.

    Writes the embedded demo first when ``config.source`` is None. With
    ``prepare``, the preparation process is started too (see
    :func:`detlens.app.preparation.start_preparation`; ``show_progress``: a
    progress bar in the terminal). Bootstrap CSS and Dash's
    scripts are served locally, so the page needs no internet access.
    """
    from detlens.callbacks import explorer_detail, explorer_links, explorer_tab, metrics_tab, performance_tab, shell
    from detlens.callbacks.figures import warm_up
    from detlens.layouts import shell as shell_layout

    import detlens.core.analysis  # noqa: F401  (imported once here rather than in every forked job)

    cache = SharedCache(config.cache_dir)
    queries = Queries(cache)
    source = config.source or demo_source(cache)
    warm_up()
    manager = BackgroundJobs(diskcache.Cache(str(cache.cache_dir / "callbacks")))
    app = dash.Dash(__name__, title="detlens", assets_folder=str(ASSETS), serve_locally=True,
                    background_callback_manager=manager, update_title=None)
    app.layout = shell_layout.build(source.source_id())
    for tab in (shell, metrics_tab, performance_tab, explorer_links, explorer_tab, explorer_detail):
        tab.register(app, queries)
    register_image_routes(app.server, queries)
    if prepare:
        start_preparation(cache, source, show_progress=show_progress, precompute=config.precompute)
    return app


def serve(config: ServeConfig) -> int:
    """``detlens serve``: prepare (with a terminal progress bar) while serving the page; blocks.

    SIGTERM ends it like Ctrl-C, so the preparation process is stopped with it.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if config.source is None:
        print(f"detlens: using the embedded demo data in {config.cache_dir / 'demo'}", file=sys.stderr)
    app = create_app(config, prepare=True, show_progress=True)
    print(f"detlens: dashboard on http://{config.host}:{config.port}/  (Ctrl-C to stop)", file=sys.stderr)
    # One request at a time: background jobs are forked, and a fork while another thread is inside
    # SQLite (diskcache) deadlocks the child. Requests are short; the heavy work runs in the jobs.
    app.run(host=config.host, port=config.port, debug=False, threaded=False)
    return 0
