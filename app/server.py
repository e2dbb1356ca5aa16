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
from typing import TextIO

import dash
import diskcache

from detlens.app.datastore import DataSource, DataStore, Progress
from detlens.app.images import register_image_routes

ASSETS = Path(__file__).resolve().parents[1] / "assets"
CACHE_ENV = "DETLENS_CACHE_DIR"


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


def create_app(source_id: str, store: DataStore) -> dash.Dash:
    """The dashboard for the data source ``source_id`` whose data live in ``store``.

    Sets ``DETLENS_CACHE_DIR`` for this process (callbacks and their background
    jobs open the store through it). Bootstrap CSS and Dash's scripts are served
    locally, so the page needs no internet access.
    """
    os.environ[CACHE_ENV] = str(store.cache_dir)
    import detlens.callbacks.explorer_detail  # noqa: F401  (registers the callbacks)
    import detlens.callbacks.explorer_links  # noqa: F401
    import detlens.callbacks.explorer_tab  # noqa: F401
    import detlens.callbacks.metrics_tab  # noqa: F401
    import detlens.callbacks.performance_tab  # noqa: F401
    import detlens.callbacks.shell  # noqa: F401
    import detlens.core.analysis  # noqa: F401  (imported once here rather than in every forked job)
    from detlens.callbacks.figures import warm_up
    from detlens.layouts import shell

    warm_up()

    manager = BackgroundJobs(diskcache.Cache(str(store.cache_dir / "callbacks")))
    app = dash.Dash(__name__, title="detlens", assets_folder=str(ASSETS), serve_locally=True,
                    background_callback_manager=manager, update_title=None)
    app.layout = shell.build(source_id)
    register_image_routes(app.server, store)
    return app


def text_progress(stream: TextIO = sys.stderr, width: int = 30) -> Progress:
    """A one-line progress bar for the terminal: ``progress(fraction, text)``."""
    def show(fraction: float, text: str) -> None:
        filled = int(round(width * fraction))
        end = "\n" if fraction >= 1.0 else ""
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:5.1f}%  {text:<60.60}{end}")
        stream.flush()
    return show


def _prepare_process(cache_dir: str, source: DataSource, show_progress: bool, precompute: bool) -> None:
    store = DataStore(cache_dir)
    try:
        key = store.prepare(source, text_progress() if show_progress else None)
    except Exception as exc:  # the page shows it from the status; the terminal too
        print(f"\ndetlens: error: {exc}", file=sys.stderr)
        return
    if precompute:
        store.warm_thresholds(key)


def start_preparation(store: DataStore, source: DataSource, show_progress: bool = False, precompute: bool = True):
    """Prepare ``source`` (then pre-compute the other IoU thresholds) in a separate process.

    A process, not a thread: the server forks background jobs, and a fork while
    another thread is inside SQLite (diskcache) deadlocks the child. Failures are
    recorded in the store's status, which the page shows.
    """
    import atexit
    import multiprocessing

    # not a daemon: the pixel pass starts worker processes of its own
    process = multiprocessing.get_context("spawn").Process(
        target=_prepare_process, args=(str(store.cache_dir), source, show_progress, precompute),
        name="detlens-prepare")
    process.start()
    atexit.register(process.terminate)  # stop it with the server instead of waiting for it
    return process


def demo_source(cache_dir: str | Path) -> DataSource:
    """The embedded demo data set, written under ``cache_dir/demo`` on first use."""
    from detlens.core.demo import DemoConfig, write_demo

    out = Path(cache_dir) / "demo"
    store = DataStore(cache_dir)
    with store.exclusive("demo", expire=600):
        if not (out / "README.txt").exists():  # written last
            write_demo(out, DemoConfig.preset("default"))
    return DataSource(labels=str(out / "labels.json"), predictions=str(out / "predictions.json"),
                      images=str(out / "images"))


def source_from_env(cache_dir: Path) -> DataSource:
    """The data source named by ``DETLENS_LABELS``/``DETLENS_PREDICTIONS``/``DETLENS_IMAGES``/``DETLENS_FORMAT``,
    or the embedded demo when they are absent."""
    labels, predictions = os.environ.get("DETLENS_LABELS"), os.environ.get("DETLENS_PREDICTIONS")
    if not labels and not predictions:
        return demo_source(cache_dir)
    if not (labels and predictions):
        raise ValueError("set both DETLENS_LABELS and DETLENS_PREDICTIONS, or neither for the demo")
    return DataSource(labels=labels, predictions=predictions, images=os.environ.get("DETLENS_IMAGES") or None,
                      fmt=os.environ.get("DETLENS_FORMAT", "auto"))


def serve(source: DataSource | None, cache_dir: Path, host: str, port: int, precompute: bool = True) -> int:
    """``detlens serve``: prepare (with a terminal progress bar) while serving the page; blocks.

    SIGTERM ends it like Ctrl-C, so the preparation process is stopped with it.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    store = DataStore(cache_dir)
    if source is None:
        print(f"detlens: using the embedded demo data in {cache_dir / 'demo'}", file=sys.stderr)
        source = demo_source(cache_dir)
    app = create_app(source.source_id(), store)
    start_preparation(store, source, show_progress=True, precompute=precompute)
    print(f"detlens: dashboard on http://{host}:{port}/  (Ctrl-C to stop)", file=sys.stderr)
    # One request at a time: background jobs are forked, and a fork while another thread is inside
    # SQLite (diskcache) deadlocks the child. Requests are short; the heavy work runs in the jobs.
    app.run(host=host, port=port, debug=False, threaded=False)
    return 0
