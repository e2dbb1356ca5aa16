"""Component ids of the dashboard: the only place they are spelled out.

Layouts and callbacks import these constants; an id is never typed twice.
"""

# Shell (every tab)
SOURCE = "source-id"                # dcc.Store: which data source this page shows (small string)
DATA_KEY = "data-key"               # dcc.Store: dataset fingerprint once prepared, else None
STATUS_INTERVAL = "status-interval"  # dcc.Interval polling preparation progress
PROGRESS_BOX = "progress-box"
PROGRESS_BAR = "progress-bar"
PROGRESS_TEXT = "progress-text"
SHELL_ALERT = "shell-alert"
DATASET_NAME = "dataset-name"
DATASET_COUNTS = "dataset-counts"
CLASSES = "classes"
IOU = "iou"
IOU_VALUE = "iou-value"
MIN_SCORE = "min-score"
MIN_SCORE_VALUE = "min-score-value"
CONTENT = "content"
TABS = "tabs"
TAB_METRICS = "tab-metrics"
TAB_PERFORMANCE = "tab-performance"

# Tab "Metrics"
METRICS_ALERT = "metrics-alert"
METRICS_RUNNING = "metrics-running"
MAP_VALUE = "map-value"
MAR_VALUE = "mar-value"
TP_VALUE = "tp-value"
FP_VALUE = "fp-value"
FN_VALUE = "fn-value"
AP_AR_GRAPH = "ap-ar-graph"
PR_GRAPH = "pr-graph"
SIDE = "importance-side"
IMPORTANCE_RUNNING = "importance-running"
IMPORTANCE_ALERT = "importance-alert"
IMPORTANCE_GRAPH = "importance-graph"
CORRELATION_GRAPH = "correlation-graph"

# Tab "Performance by metric"
PERF_METRIC = "perf-metric"
PERF_BUCKETS = "perf-buckets"
PERF_METHOD = "perf-method"
PERF_DECOMPOSE = "perf-decompose"
PERF_RUNNING = "perf-running"
PERF_ALERT = "perf-alert"
PERF_GRAPH = "perf-graph"
PERF_DESCRIPTION = "perf-description"
PERF_FINDING = "perf-finding"
