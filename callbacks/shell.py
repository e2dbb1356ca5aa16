"""Callbacks of the page frame: workspace pickers, preparation progress and supervision, dataset header, filter
value labels."""

from __future__ import annotations

from dash import Input, Output, State, callback_context, no_update
from dash.exceptions import PreventUpdate

from detlens.callbacks import inputs
from detlens.callbacks.common import alert
from detlens.core.settings import STATUS_POLL_MS
from detlens.core.vocabulary import MinScoreMode
from detlens.layouts import ids

SHOWN, HIDDEN = {"display": "block"}, {"display": "none"}
READY_POLL_MS = 3000  # once ready the status is still checked, this often: damaged data are prepared again
READ_ONLY_NOTE = ("The server's cache folder is read-only: results are computed but not kept, and some charts may "
                  "not update. Make the folder writable again.")
# what poll_preparation returns, by name: (component id, property)
POLL_OUTPUTS = {
    "data_key": (ids.DATA_KEY, "data"),
    "stop": (ids.STATUS_INTERVAL, "disabled"),
    "poll_ms": (ids.STATUS_INTERVAL, "interval"),
    "progress_style": (ids.PROGRESS_BOX, "style"),
    "percent": (ids.PROGRESS_BAR, "value"),
    "percent_label": (ids.PROGRESS_BAR, "label"),
    "progress_text": (ids.PROGRESS_TEXT, "children"),
    "retry_style": (ids.PREP_RETRY, "style"),
    "alert": (ids.SHELL_ALERT, "children"),
    "cache_alert": (ids.CACHE_ALERT, "children"),
    "content_style": (ids.CONTENT, "style"),
    "name": (ids.DATASET_NAME, "children"),
    "counts": (ids.DATASET_COUNTS, "children"),
    "options": (ids.CLASSES, "options"),
    "classes": (ids.CLASSES, "value"),
}


# what sync_pickers returns, by name: (component id, property)
PICKER_OUTPUTS = {
    "datasets": (ids.DATASET_PICKER, "options"),
    "dataset": (ids.DATASET_PICKER, "value"),
    "run_options": (ids.RUN_PICKER, "options"),
    "run": (ids.RUN_PICKER, "value"),
    "runs": (ids.RUNS, "data"),
    "source": (ids.SOURCE, "data"),
    "alert": (ids.WORKSPACE_ALERT, "children"),
}
NOT_SERVED = "The page asked for a data source this server does not show: reload the page."


def picker_state(workspace, dataset: str | None = None, run: str | None = None) -> dict:
    """The pickers' state for ``workspace`` (a :class:`~detlens.app.workspace.Workspace`), ``dataset`` and its
    ``run`` selected (None, or not in it: the first): ``{"datasets": [name], "dataset", "runs": [{"name",
    "source"}], "run", "shown", "reloadable"}`` (see :func:`detlens.layouts.shell.pickers`)."""
    names = workspace.dataset_names()
    dataset = dataset if dataset in names else names[0]
    runs = workspace.run_choices(dataset)
    run = run if any(r["name"] == run for r in runs) else runs[0]["name"]
    return {"datasets": names, "dataset": dataset, "runs": runs, "run": run, "shown": workspace.has_choices,
            "reloadable": workspace.file is not None}


def served(queries, source_id) -> bool:
    """True when ``source_id`` (anything the page sent) is a run of the server's workspace (any remembered
    source outside a server: ``queries.workspace`` None)."""
    if queries.workspace is None:
        return isinstance(source_id, str) and len(source_id) <= inputs.MAX_TEXT
    return queries.workspace.current().find(source_id) is not None


def sync_pickers(queries, reload_clicks, dataset, run, shown_datasets, shown_runs, source_id) -> dict:
    """Keep the dataset and run pickers, the ``RUNS`` store and the page's ``SOURCE`` in step with the workspace.

    Called every ``WORKSPACE_POLL_MS`` when the workspace has a file (read again when it changed: one ``stat``), on the reload
    button (read again in any case) and when either picker changes. A dataset picked shows its runs, the run of
    the same name selected if it has one, else its first; the source follows the run. An invalid workspace file
    keeps the previous workspace and shows its one-line error. Values the page sent that are not names of the
    workspace (any type) select the first dataset or run.

    Returns:
        ``{name: value}`` for every output of :data:`PICKER_OUTPUTS` (``no_update`` where unchanged).
    """
    live = queries.workspace
    if live is None:
        raise PreventUpdate
    reload = callback_context.triggered_id == ids.WORKSPACE_RELOAD and bool(reload_clicks)
    workspace = live.current(force=reload)
    wanted = dataset
    if wanted not in workspace.dataset_names():  # any type: list membership compares, never hashes
        found = workspace.find(source_id)
        wanted = found[0] if found else None
    state = picker_state(workspace, wanted, run)
    values = {"datasets": [{"label": n, "value": n} for n in state["datasets"]], "dataset": state["dataset"],
              "run_options": [{"label": r["name"], "value": r["name"]} for r in state["runs"]], "run": state["run"],
              "runs": state["runs"], "source": workspace.run(state["dataset"], state["run"]).source_id,
              "alert": alert(f"The workspace file was not read again: {live.error}", "danger") if live.error else None}
    current = {"datasets": shown_datasets, "dataset": dataset, "run": run, "runs": shown_runs, "source": source_id,
               "run_options": [{"label": r["name"], "value": r["name"]} for r in shown_runs]
               if isinstance(shown_runs, list) and all(isinstance(r, dict) and "name" in r for r in shown_runs)
               else None}
    changed = {name: value for name, value in values.items() if name == "alert" or current.get(name) != value}
    if not reload and live.error is None and set(changed) == {"alert"}:
        raise PreventUpdate  # the usual poll: nothing changed
    return {name: changed.get(name, no_update) for name in PICKER_OUTPUTS}


def _shown(**values) -> dict:
    """Every output of :func:`poll_preparation`: ``values`` where given, else unchanged."""
    return {name: values.get(name, no_update) for name in POLL_OUTPUTS}


def _failed(message: str, keep_polling: bool = False) -> dict:
    """Nothing to show but ``message``; with ``keep_polling`` the retry button too (the preparation died)."""
    return _shown(data_key=None, stop=not keep_polling, poll_ms=STATUS_POLL_MS, progress_style=HIDDEN,
                  retry_style=SHOWN if keep_polling else HIDDEN, alert=alert(message, "danger"),
                  content_style=HIDDEN, name="", counts="", options=[], classes=[])


def poll_preparation(queries, n_intervals, source_id, shown_key=None) -> dict:
    """Show preparation progress; once ready, store the dataset key and fill the header and class filter.

    Polled every ``STATUS_POLL_MS`` while preparing and every ``READY_POLL_MS``
    once ready: a preparation that died shows its last step, a message and the
    retry button; prepared data found missing or damaged are prepared again (the
    page goes back to the progress bar, then shows the data again); a cache
    folder that became read-only shows a warning.

    Args:
        n_intervals: the poll count (unused: any tick polls).
        source_id: the page's data source.
        shown_key: the dataset key the page shows now (the ``DATA_KEY`` store), None before.

    Returns:
        ``{name: value}`` for every output of :data:`POLL_OUTPUTS` (``no_update`` where unchanged).
    """
    if not isinstance(source_id, str) or len(source_id) > inputs.MAX_TEXT:
        return _failed("The page sent an invalid data source: reload the page.")
    if not served(queries, source_id):
        return _failed(NOT_SERVED)
    status = queries.supervisor.status(source_id)
    cache_alert = None if queries.cache.is_writable() else alert(READ_ONLY_NOTE, "warning")
    if status.state == "ready" and status.key == shown_key:
        return _shown(cache_alert=cache_alert)
    if status.state == "ready":
        try:
            summary = queries.summary(status.key)
        except ValueError as exc:  # a prepared part found damaged just now: the supervisor prepares it again
            status = queries.supervisor.status(source_id)
            if status.state == "ready":
                return {**_failed(str(exc)), "cache_alert": cache_alert}
    if status.state == "error":
        return {**_failed(status.text), "cache_alert": cache_alert}
    if status.state == "died":
        return {**_failed(status.text, keep_polling=True), "cache_alert": cache_alert}
    if status.state != "ready":
        percent = round(100 * status.fraction)
        return _shown(data_key=None if shown_key else no_update, stop=False, poll_ms=STATUS_POLL_MS,
                      progress_style=SHOWN, percent=percent, percent_label=f"{percent}%",
                      progress_text=status.text + "…", retry_style=HIDDEN, alert=None, cache_alert=cache_alert,
                      content_style=HIDDEN)
    counts = header_counts(summary)
    notes = [alert(f"Note: {w}", "info") for w in summary["warnings"][:3]] or None
    unlabelled = set(summary["unlabelled_classes"])
    options = [{"label": f"{c} (no labels)" if c in unlabelled else c, "value": c} for c in summary["classes"]]
    return _shown(data_key=status.key, stop=False, poll_ms=READY_POLL_MS, progress_style=HIDDEN, percent=100,
                  percent_label="", progress_text="", retry_style=HIDDEN, alert=notes, cache_alert=cache_alert,
                  content_style=SHOWN, name=summary["name"], counts=counts, options=options,
                  classes=summary["classes"])


def header_counts(summary: dict) -> str:
    """The header's counts: ignored labels (crowd, difficult) and classes without labels said apart.

    ``"100 images · 839 labels (9 ignored: crowd/difficult) · 734 predictions · 80 classes (10 without
    labels)"``: labels minus ignored ones are what TP + FN add up to, and classes without labels have no
    AP, so the per-class charts show the others (the class filter marks them "(no labels)").
    """
    ignored = summary["ignored_labels"]
    unlabelled = len(summary["unlabelled_classes"])
    return (f"{summary['images']:,} images · {summary['labels']:,} labels"
            + (f" ({ignored:,} ignored: crowd/difficult)" if ignored else "")
            + f" · {summary['predictions']:,} predictions · {len(summary['classes'])} classes"
            + (f" ({unlabelled} without labels)" if unlabelled else ""))


def retry_preparation(queries, n_clicks, source_id) -> None:
    """The retry button: start the preparation of the page's data source again (the poll shows its progress)."""
    if not n_clicks or not inputs.is_dataset_key(source_id) or not served(queries, source_id):
        raise PreventUpdate
    queries.supervisor.restart(source_id)


def show_iou(iou):
    """The exact IoU threshold next to its slider."""
    try:
        return f"IoU ≥ {inputs.iou(iou):.2f}"
    except inputs.InvalidInput:
        return "IoU: not a valid threshold"


def show_min_score(min_score, mode=MinScoreMode.GLOBAL.value):
    """The minimum confidence next to its slider ("all" at 0: every prediction is kept; "per class (F1)" in
    the per-class mode, :class:`~detlens.core.vocabulary.MinScoreMode`)."""
    try:
        mode = inputs.min_score_mode(mode)
    except inputs.InvalidInput:
        return "score: not a valid mode"
    if mode is not MinScoreMode.GLOBAL:
        return mode.badge
    try:
        score = inputs.min_score(min_score)
    except inputs.InvalidInput:
        return "score: not a valid minimum"
    return "all" if not score else f"score ≥ {score:.2f}"


def register(app, queries) -> None:
    """Wire the page frame's callbacks to ``app``, answering from ``queries``."""
    @app.callback(
        output={name: Output(*target) for name, target in PICKER_OUTPUTS.items()},
        inputs=dict(n_intervals=Input(ids.WORKSPACE_INTERVAL, "n_intervals"),
                    reload_clicks=Input(ids.WORKSPACE_RELOAD, "n_clicks"),
                    dataset=Input(ids.DATASET_PICKER, "value"), run=Input(ids.RUN_PICKER, "value")),
        state=dict(shown_datasets=State(ids.DATASET_PICKER, "options"), shown_runs=State(ids.RUNS, "data"),
                   source_id=State(ids.SOURCE, "data")),
    )
    def _sync_pickers(n_intervals, reload_clicks, dataset, run, shown_datasets, shown_runs, source_id):
        return sync_pickers(queries, reload_clicks, dataset, run, shown_datasets, shown_runs, source_id)

    @app.callback(
        output={name: Output(*target) for name, target in POLL_OUTPUTS.items()},
        # the source as an input: a run picked is polled at once (its progress, or its data when ready)
        inputs=dict(n_intervals=Input(ids.STATUS_INTERVAL, "n_intervals"), source_id=Input(ids.SOURCE, "data")),
        state=dict(shown_key=State(ids.DATA_KEY, "data")),
    )
    def _poll_preparation(n_intervals, source_id, shown_key):
        return poll_preparation(queries, n_intervals, source_id, shown_key)

    @app.callback(Input(ids.PREP_RETRY, "n_clicks"), State(ids.SOURCE, "data"), prevent_initial_call=True)
    def _retry_preparation(n_clicks, source_id):
        retry_preparation(queries, n_clicks, source_id)

    app.callback(Output(ids.IOU_VALUE, "children"), Input(ids.IOU, "value"))(show_iou)
    app.callback(Output(ids.MIN_SCORE_VALUE, "children"), Input(ids.MIN_SCORE, "value"),
                 Input(ids.MIN_SCORE_MODE, "value"))(show_min_score)
