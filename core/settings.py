"""Settings shared by the CLI, the dashboard and core: slider ranges, defaults, caps and limits.

The one place these numbers are written. Layouts build their controls from
them, the server pre-computes the IoU slider's values, callbacks and core
validate against the same limits.
"""

from __future__ import annotations

# IoU threshold slider: 0.05, 0.10, ..., 0.95 (a match needs IoU >= t)
IOU_MIN, IOU_MAX, IOU_STEP = 0.05, 0.95, 0.05
IOU_DEFAULT = 0.5
IOU_SLIDER_VALUES = tuple(round(IOU_MIN + k * IOU_STEP, 2) for k in range(round((IOU_MAX - IOU_MIN) / IOU_STEP) + 1))
IOU_MARKS = (0.05, 0.25, 0.5, 0.75, 0.95)

# Minimum-confidence slider: 0 keeps every prediction
SCORE_MAX, SCORE_STEP = 0.95, 0.05
SCORE_SLIDER_VALUES = tuple(round(k * SCORE_STEP, 2) for k in range(round(SCORE_MAX / SCORE_STEP) + 1))
SCORE_MARKS = (0.25, 0.5, 0.75, 0.95)

# Performance by metric: number of buckets (the CLI's --buckets and the dashboard's input)
BUCKETS_MIN, BUCKETS_MAX, BUCKETS_DEFAULT = 2, 50, 10
BUCKET_METHODS = ("quantile", "equal_width")
DEFAULT_METRIC = "Object Area - Relative (L)"  # the metric Performance by metric opens with

# Importance ranking: rows used (subsampled above this), so an IoU change redraws within 1 s
IMPORTANCE_MAX_ROWS_DASHBOARD = 50_000
IMPORTANCE_MAX_ROWS_CLI = 200_000

# Charts
PR_POINTS = 200  # precision-recall points kept per class
MAX_PR_CLASSES = 12  # curves drawn: all, or the best and worst half of this many
CLASS_NAME_MAX_CHARS = 24  # longer class names are cut to this many characters (ending in "…"); full name on hover

# Performance by metric, one panel per class (small multiples)
PERF_PANELS_DEFAULT = 6  # panels shown before the user picks classes: the largest classes by objects
PERF_PANELS_MAX = 24  # panels drawn at most (more picked: the first this many, and the page says so)
PERF_PANEL_COLUMNS = 3  # panels per row
# buckets with fewer objects than this are drawn grey and not used for findings (never below
# core/findings.MIN_BUCKET_TOTAL, the rows a bucket needs to be tested)
PERF_MIN_COUNT_DEFAULT, PERF_MIN_COUNT_MAX = 5, 10_000

# Errors (TIDE, confusion matrix, calibration) on the dashboard
CONFUSION_HEATMAP_MAX_CLASSES = 15  # more selected classes: the most confused pairs as a list, not a heatmap
CONFUSION_TOP_PAIRS = 10  # pairs listed (label class -> predicted class, off the diagonal)
CALIBRATION_BINS = 10  # equal-width confidence bins of the reliability diagram

# Explorer
EXPLORER_PAGE_SIZE = 24  # thumbnails per page
EXPLORER_SORT_DEFAULT = "score"  # the Explorer's first order: by confidence, highest first
EXPLORER_HISTOGRAM_BINS = 40
EXPLORER_MAX_OTHER_BOXES = 40  # faint boxes drawn per thumbnail besides its object
EXPLORER_RANGE_STEPS = 200  # steps of the metric range slider
EXPORT_MAX_ROWS = 200_000  # objects in one CSV or COCO-pair download (more: narrow the filters)

# Polling (milliseconds)
STATUS_POLL_MS = 1000  # preparation progress: longer than a busy server takes to answer (Dash drops an answer when
# the timer has asked again: at 300 ms, ten pages opened at once on 2 cores never saw theirs)
WORKSPACE_POLL_MS = 2000  # a workspace file's changes; its own timer, so the progress poll never waits for it
BACKGROUND_POLL_MS = 100  # a background callback's result

# Comparing two runs (detlens compare): paired bootstrap over images
BOOTSTRAP_RESAMPLES = 1_000  # resamples of the images
BOOTSTRAP_SEED = 0  # numpy.random.default_rng(seed)
BOOTSTRAP_LEVEL = 0.95  # coverage of the percentile intervals
BOOTSTRAP_CHUNK_MB = 128  # memory of one chunk of resamples' precision-recall arrays (core/bootstrap.py)
