"""The Explorer's core: the object table, its filters and order, the range-slider histogram, downloads.

Modules (each with its rules in its docstring):

* :mod:`detlens.core.explorer.table`: one row per object, its outcome and every metric;
* :mod:`detlens.core.explorer.filters`: outcome groups, metric and confidence ranges, sorting, counts;
* :mod:`detlens.core.explorer.errors`: each object's TIDE error type and confusion-matrix cell;
* :mod:`detlens.core.explorer.histogram`: the distribution under the metric range slider;
* :mod:`detlens.core.explorer.export`: CSV text and a COCO pair of the rows' images.

The public names are re-exported here: ``from detlens.core.explorer import ExplorerFilter``.
"""

from detlens.core.explorer.errors import ERROR_COLUMNS, error_columns, with_errors
from detlens.core.explorer.export import coco_subset, to_csv
from detlens.core.explorer.filters import (DEFAULT_OUTCOMES, ExplorerFilter, expand_fp, filter_mask, filter_objects,
                                           outcome_counts, outcome_groups, outcome_mask, range_mask, sort_objects)
from detlens.core.explorer.histogram import Histogram, histogram
from detlens.core.explorer.table import BASE_COLUMNS, metric_column, metric_columns, object_table

__all__ = [
    "BASE_COLUMNS", "DEFAULT_OUTCOMES", "ERROR_COLUMNS", "ExplorerFilter", "Histogram", "coco_subset",
    "error_columns", "expand_fp", "filter_mask", "with_errors",
    "filter_objects", "histogram", "metric_column", "metric_columns", "object_table", "outcome_counts",
    "outcome_groups", "outcome_mask", "range_mask", "sort_objects", "to_csv",
]
