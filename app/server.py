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

import sys
from pathlib import Path

import dash

from detlens.app.cache import SharedCache
from detlens.app.config import ServeConfig
from detlens.app.errors import register_error_handlers
from detlens.app.images import register_image_routes
from detlens.app.inline_answers import answer_in_first_response
from detlens.app.jobs import background_manager
from detlens.app.security import check_exposure, secure_server
from detlens.app.preparation import start_preparation
from detlens.app.queries import Queries
from detlens.app.source import demo_source
from detlens.app.workspace import LiveWorkspace, Workspace

ASSETS = Path(__file__).resolve().parents[1] / "assets"  # the repository's assets/, or detlens/assets installed


def create_app(config: ServeConfig, prepare: bool = False, show_progress: bool = False) -> dash.Dash:
    """The dashboard for ``config``: one :class:`Queries` service passed to every tab's ``register``.

    Writes the embedded demo first when ``config.workspace`` is None. With
    ``prepare``, the preparation process is started too, for every run of the
    workspace in order (see :func:`detlens.app.preparation.start_preparation`;
    ``show_progress``: a progress bar in the terminal), and again for the runs a
    changed workspace file adds. Bootstrap CSS and Dash's
    scripts are served locally, so the page needs no internet access.
    """
    from detlens.callbacks import (errors_tab, explorer_detail, explorer_links, explorer_tab, metrics_tab,
                                   min_score_mode, performance_tab, shell)
    from detlens.callbacks import compare_mode
    from detlens.callbacks import url_state
    from detlens.callbacks.figures import warm_up
    from detlens.layouts import shell as shell_layout

    import detlens.core.analysis  # noqa: F401  (imported once here rather than in every forked job)

    check_exposure(config)  # before anything is written
    cache = SharedCache(config.cache_dir, results_bytes=config.results_cache_mb * 2**20)
    workspace = config.workspace or Workspace.of_runs(demo_source(cache), dataset="demo")
    live = LiveWorkspace(workspace, on_change=(lambda new, old: prepare_runs(config, cache, new, old)) if prepare
                         else None)
    queries = Queries(cache, workspace=live)
    warm_up()
    app = dash.Dash(__name__, title="detlens", assets_folder=str(ASSETS), serve_locally=True,
                    background_callback_manager=background_manager(config, cache), update_title=None)
    app.layout = shell_layout.build(workspace.first.source_id, logout=config.users_file is not None,
                                    rule=config.rule, pickers=shell.picker_state(workspace))
    for tab in (shell, min_score_mode, metrics_tab, performance_tab, errors_tab, explorer_links, explorer_tab,
                explorer_detail):
        tab.register(app, queries)
    url_state.register(app, queries)  # after the layout and the controls' own callbacks: it reads the layout
    compare_mode.register(app, queries)  # run A against run B on every tab
    register_image_routes(app.server, queries)
    register_error_handlers(app)
    secure_server(app, config)
    answer_in_first_response(app.server)  # after secure_server: its headers are added to the answer
    if prepare:
        prepare_runs(config, cache, workspace, show_progress=show_progress)
    return app


def prepare_runs(config: ServeConfig, cache: SharedCache, workspace: Workspace, previous: Workspace | None = None,
                 show_progress: bool = False) -> None:
    """Start preparing the runs of ``workspace`` not in ``previous`` (None: every run), in order, one after
    the other: by Celery workers with a broker (:mod:`detlens.app.celery_jobs`), else in one local process."""
    known = set() if previous is None else {run.source_id for run in previous.runs}
    sources = [run.source for run in workspace.runs if run.source_id not in known]
    if not sources:
        return
    if config.broker:  # scale-out: a Celery worker prepares it
        from detlens.app.celery_jobs import send_preparation

        for source in sources:
            send_preparation(config, source)
    else:
        start_preparation(cache, sources, show_progress=show_progress, precompute=config.precompute)


def serve(config: ServeConfig) -> int:
    """``detlens serve``: prepare (with a terminal progress bar) while gunicorn serves the page; blocks.

    SIGTERM and Ctrl-C stop the server, its workers and the preparation.
    """
    from detlens.app.gunicorn_server import DashboardServer

    if config.workspace is None:
        print(f"detlens: using the embedded demo data in {config.cache_dir / 'demo'}", file=sys.stderr)
    DashboardServer(config).run()
    return 0
