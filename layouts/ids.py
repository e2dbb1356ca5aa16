"""Component ids of the dashboard: the only place they are spelled out.

Layouts and callbacks import these constants; an id is never typed twice.
"""

# Shell (every tab)
SOURCE = "source-id"                # dcc.Store: which data source this page shows (small string)
DATASET_PICKER = "dataset-picker"    # dropdown: the workspace dataset's name (app/workspace.py)
RUN_PICKER = "run-picker"            # dropdown: the run's name within that dataset; SOURCE follows it
RUNS = "runs"                        # dcc.Store: the current dataset's runs, [{"name", "source"}] in file order
WORKSPACE_RELOAD = "workspace-reload"  # button: read the workspace file again
WORKSPACE_ALERT = "workspace-alert"  # the workspace file's one-line error after a failed reload
COMPARE_PICKER = "compare-picker"    # dropdown: the run B compared with the shown run A (None: normal mode)
COMPARE = "compare"                  # dcc.Store: {"key": B's dataset key, "a": A's name, "b": B's name} or None
COMPARE_ALERT = "compare-alert"      # why compare mode is off (B being prepared, not the same dataset)
COMPARE_PICKER_BOX = "compare-picker-box"  # the picker with its label, shown when the dataset has another run
DATA_KEY = "data-key"               # dcc.Store: dataset fingerprint once prepared, else None
STATUS_INTERVAL = "status-interval"  # dcc.Interval polling preparation progress
COMPARE_INTERVAL = "compare-interval"  # dcc.Interval polling run B's preparation (on only while it runs)
WORKSPACE_INTERVAL = "workspace-interval"  # dcc.Interval looking for changes of the workspace file
PROGRESS_BOX = "progress-box"
PROGRESS_BAR = "progress-bar"
PROGRESS_TEXT = "progress-text"
SHELL_ALERT = "shell-alert"
PREP_RETRY = "prep-retry"            # button: start the preparation again after its process died
CACHE_ALERT = "cache-alert"          # warning while the cache folder is read-only
DATASET_NAME = "dataset-name"
DATASET_COUNTS = "dataset-counts"
URL = "url"                          # dcc.Location: the view in the query string (callbacks/url_state.py)
URL_SHOWN = "url-shown"              # dcc.Store: the query string the controls show now (tells an echo from a move)
URL_NOTICE = "url-notice"            # what a link asked for that the page cannot show, one line each
CLASSES = "classes"
IOU = "iou"
IOU_VALUE = "iou-value"
MIN_SCORE = "min-score"
MIN_SCORE_VALUE = "min-score-value"
MIN_SCORE_MODE = "min-score-mode"      # radio: one minimum for all classes, or each class's F1-optimal one
THRESHOLDS_TABLE = "thresholds-table"  # the per-class thresholds in use (collapsible, under the mode)
AP_RULE = "ap-rule"                  # dropdown: the AP rule's code (detlens.core.ap_rule.APRule.code)
CONTENT = "content"
TABS = "tabs"
TAB_METRICS = "tab-metrics"
TAB_PERFORMANCE = "tab-performance"
TAB_EXPLORER = "tab-explorer"


def tab_pane(tab: str) -> str:
    """The id of the ``dbc.Tab`` whose ``tab_id`` is ``tab`` (a tab gate reads its ``tab_id``)."""
    return f"{tab}-pane"


# Tab "Metrics"
METRICS_ALERT = "metrics-alert"
METRICS_RUNNING = "metrics-running"
METRICS_REQUEST = "metrics-request"  # the summary job's inputs, stored while the Metrics tab is shown
MAP_VALUE = "map-value"
MAP_RULE = "map-rule"               # the mAP card's line naming the AP rule
MAP_RANGE_VALUE = "map-range-value"  # mAP@[.50:.95]
MAR_VALUE = "mar-value"
TP_VALUE = "tp-value"
FP_VALUE = "fp-value"
FN_VALUE = "fn-value"
AP_AR_GRAPH = "ap-ar-graph"
PR_GRAPH = "pr-graph"
SIDE = "importance-side"
IMPORTANCE_RUNNING = "importance-running"
IMPORTANCE_REQUEST = "importance-request"
IMPORTANCE_ALERT = "importance-alert"
IMPORTANCE_GRAPH = "importance-graph"
HIDE_CONFIDENCE = "importance-hide-confidence"  # switch: leave Model Confidence (P) out of the ranking
CORRELATION_GRAPH = "correlation-graph"
ERRORS_BODY = "errors-body"  # dbc.Collapse of the error analysis, open while ERRORS_SHOW is on
ERRORS_SHOW = "errors-show"  # dbc.Switch: the error analysis is computed and shown only when on
ERRORS_REQUEST = "errors-request"    # the error analysis job's inputs, stored while the Metrics tab is shown
ERRORS_RUNNING = "errors-running"
ERRORS_ALERT = "errors-alert"
TIDE_GRAPH = "errors-tide-graph"            # ΔAP per TIDE error type and oracle
CONFUSION_GRAPH = "errors-confusion-graph"  # confusion heatmap, or the most confused pairs with many classes
RELIABILITY_GRAPH = "errors-reliability-graph"
COMPARE_METRICS_BOX = "compare-metrics-box"        # compare mode's part of the Metrics tab (hidden without B)
COMPARE_METRICS_REQUEST = "compare-metrics-request"
COMPARE_METRICS_RUNNING = "compare-metrics-running"
COMPARE_METRICS_ALERT = "compare-metrics-alert"
COMPARE_SUMMARY = "compare-summary"                # the delta card: mAP, mAR, mAP@[.50:.95] of A, B, B - A, CI
COMPARE_CLASS_GRAPH = "compare-class-graph"        # per-class AP and AR differences with intervals
COMPARE_IMPORTANCE_REQUEST = "compare-importance-request"
COMPARE_IMPORTANCE_RUNNING = "compare-importance-running"
COMPARE_IMPORTANCE_A = "compare-importance-a"
COMPARE_IMPORTANCE_B = "compare-importance-b"

# Tab "Performance by metric"
PERF_METRIC = "perf-metric"
PERF_BUCKETS = "perf-buckets"
PERF_METHOD = "perf-method"
PERF_DECOMPOSE = "perf-decompose"
PERF_RUNNING = "perf-running"
PERF_REQUEST = "perf-request"
PERF_ALERT = "perf-alert"
PERF_GRAPH = "perf-graph"
PERF_DESCRIPTION = "perf-description"
PERF_FINDING = "perf-finding"
PERF_LAYOUT = "perf-layout"              # radio: TPR and FNR in one panel or stacked
PERF_PANEL_CLASSES = "perf-panel-classes"  # multi-select: the classes drawn as panels (None: the largest)
PERF_PANEL_BOX = "perf-panel-box"        # the panel picker's column, shown in the per-class view
PERF_PANELS_TEXT = "perf-panels-text"    # "k of n classes"
PERF_MIN_COUNT = "perf-min-count"        # buckets under this many objects are grey, not used for findings
PERF_ERRORS_BODY = "perf-errors-body"  # dbc.Collapse of errors per bucket, open while PERF_ERRORS_SHOW is on
PERF_ERRORS_SHOW = "perf-errors-show"  # dbc.Switch: errors per bucket, computed and shown only when on
PERF_ERRORS_REQUEST = "perf-errors-request"  # the per-bucket TIDE job's inputs, stored while the tab is shown
PERF_ERRORS_RUNNING = "perf-errors-running"
PERF_ERRORS_ALERT = "perf-errors-alert"
PERF_ERRORS_GRAPH = "perf-errors-graph"  # stacked error-type counts per bucket
COMPARE_PERF_BOX = "compare-perf-box"    # compare mode's part of Performance by metric (hidden without B)
COMPARE_PERF_REQUEST = "compare-perf-request"
COMPARE_PERF_RUNNING = "compare-perf-running"
COMPARE_PERF_ALERT = "compare-perf-alert"
COMPARE_PERF_GRAPH = "compare-perf-graph"  # both runs' TPR/FNR per bucket and the differences' panel
COMPARE_PERF_FINDING = "compare-perf-finding"

# Tab "Explorer"
EXPLORER_FILTER = "explorer-filter"        # dcc.Store: ExplorerFilter.to_dict() (small JSON)
EXPLORER_CHIPS = "explorer-chips"
EXPLORER_CHIP = "explorer-chip"            # pattern-matching type: {"type": EXPLORER_CHIP, "part": ...}
EXPLORER_OUTCOMES = "explorer-outcomes"
EXPLORER_COMPARE = "explorer-compare"          # radio: compare group (fixed by B, broken by B, both wrong) or all
EXPLORER_COMPARE_BOX = "explorer-compare-box"  # its column, shown in compare mode
EXPLORER_METRIC = "explorer-metric"
EXPLORER_RANGE = "explorer-range"
EXPLORER_RANGE_TEXT = "explorer-range-text"
EXPLORER_HISTOGRAM = "explorer-histogram"
EXPLORER_HISTOGRAM_SHOWN = "explorer-histogram-shown"  # dcc.Store: which objects the histogram shows (a digest)
EXPLORER_SCORE = "explorer-score"
EXPLORER_SCORE_TEXT = "explorer-score-text"
EXPLORER_SORT = "explorer-sort"
EXPLORER_ORDER = "explorer-order"
EXPLORER_COUNT = "explorer-count"
EXPLORER_PAGES = "explorer-pages"
EXPLORER_GRID = "explorer-grid"
EXPLORER_THUMB = "explorer-thumb"          # pattern-matching type: {"type": EXPLORER_THUMB, "row": object row}
EXPLORER_RUNNING = "explorer-running"
EXPLORER_REQUEST = "explorer-request"
EXPLORER_ALERT = "explorer-alert"
EXPLORER_MODAL = "explorer-modal"
EXPLORER_DETAIL_TITLE = "explorer-detail-title"
EXPLORER_DETAIL = "explorer-detail"
EXPLORER_CSV = "explorer-csv"
EXPLORER_COCO = "explorer-coco"
EXPLORER_DOWNLOAD = "explorer-download"

# switches that open a part of a tab computed on demand (its job's gate waits for them: callbacks/common.py)
GATE_SWITCHES = (ERRORS_SHOW, PERF_ERRORS_SHOW)
