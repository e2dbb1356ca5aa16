"""The dashboard's error analysis: TIDE, the confusion matrix and calibration of a view, memoised like every result.

Each result is computed from the view's cached match (:meth:`Queries.match
<detlens.app.queries.Queries.match>`, never a new one) and kept in the shared
cache under a key derived from the frozen :class:`~detlens.app.queries.ViewParams`,
so every process and page asking the same question shares one computation.
The rules are core's: :mod:`detlens.core.tide`, :mod:`detlens.core.confusion`,
:mod:`detlens.core.calibration`; the JSON is that of ``detlens evaluate --errors``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from detlens.app.cache import Entry, cache_key
from detlens.core.settings import CALIBRATION_BINS, CONFUSION_TOP_PAIRS

if TYPE_CHECKING:
    from detlens.app.queries import Queries, ViewParams
    from detlens.core.confusion import ConfusionMatrix
    from detlens.core.tide import ErrorClassification

TIDE_NEEDS_COCO = "TIDE's error types are defined on COCO matching: choose an AP rule with COCO matching."
PER_CLASS_CONFUSION = ("The confusion matrix takes one minimum confidence for every class: choose a global "
                       "minimum confidence to see it.")


class ErrorQueries:
    """TIDE, confusion, calibration and per-bucket TIDE of a view, over the :class:`Queries` cache."""

    def __init__(self, queries: "Queries"):
        self.queries = queries
        self.cache = queries.cache

    def _evaluator_and_match(self, view: "ViewParams"):
        q = self.queries
        evaluator = q.evaluator(view.key, view.pixel_plus_one)
        return evaluator, q.match(view, evaluator)

    def classification(self, view: "ViewParams") -> "ErrorClassification":
        """:func:`~detlens.core.tide.classify_errors` of the view's match over its classes (AP method aside).

        Raises:
            ValueError: the view's AP rule does not match as COCO does, or an unknown class.
        """
        from detlens.core.tide import classify_errors

        if view.match_method != "coco":
            raise ValueError(TIDE_NEEDS_COCO)

        def compute():
            evaluator, match = self._evaluator_and_match(view)
            return classify_errors(evaluator, match, view.class_list)
        return self.cache.memo(cache_key(Entry.EVALUATION, view.outcomes(), "tide_classification"), compute)

    def tide(self, view: "ViewParams") -> dict:
        """``TideResult.to_dict()`` plus ``"per_class": {NAME: {ap_base, delta_ap, counts}}`` (ΔAP None where
        undefined) and ``"oracle_counts": {"FP": false positives, "FN": false-negative labels}``: TIDE's
        counts and ΔAP of every error type and oracle at the view's IoU and AP method.

        Raises:
            ValueError: as :meth:`classification`.
        """
        from detlens.core.tide import FP_TYPES, tide_errors

        def compute() -> dict:
            evaluator, match = self._evaluator_and_match(view)
            result = tide_errors(evaluator, match, view.class_list, ap_method=view.ap_method,
                                 errors=self.classification(view))
            fn_labels = int(np.count_nonzero(self.classification(view).label_fn))
            return {**result.to_dict(), "per_class": result.per_class_dict(),
                    "oracle_counts": {"FP": sum(result.overall.counts[e] for e in FP_TYPES), "FN": fn_labels}}
        return self.cache.memo(cache_key(Entry.EVALUATION, view, "tide"), compute)

    def confusion(self, view: "ViewParams") -> "ConfusionMatrix":
        """The :class:`~detlens.core.confusion.ConfusionMatrix` at the view's IoU, minimum confidence, classes
        and per-image cap (the match's ``max_dets``); it does not depend on the AP method or matching rule."""
        from detlens.core.confusion import confusion_matrix

        if getattr(view, "per_class", False):  # per-class minimum-confidence modes (ViewParams.per_class)
            raise ValueError(PER_CLASS_CONFUSION)

        def compute():
            evaluator, match = self._evaluator_and_match(view)
            return confusion_matrix(evaluator, view.iou, view.class_list, match.max_dets, view.min_score,
                                    view.pixel_plus_one)
        # one entry for every AP rule with the same box convention
        return self.cache.memo(cache_key(Entry.EVALUATION, replace(view.outcomes(), match_method="coco"),
                                         "confusion_matrix"), compute)

    def confusion_doc(self, view: "ViewParams", top: int = CONFUSION_TOP_PAIRS) -> dict:
        """``ConfusionMatrix.to_dict()`` (``classes`` ending in "background", ``matrix`` counts, ``rates`` row
        rates) plus ``"top"``: the ``top`` largest off-diagonal cells as ``[label class, predicted class, count]``."""
        matrix = self.confusion(view)
        return {**matrix.to_dict(), "top": [list(t) for t in matrix.top_confusions(top)]}

    def calibration(self, view: "ViewParams", n_bins: int = CALIBRATION_BINS) -> dict:
        """``CalibrationResult.to_dict()``: ``{"iou_threshold", "ece", "mce", "bins", "per_class"}`` of the view's
        counted predictions.

        Raises:
            ValueError: scores outside [0, 1] (logits), or an unknown class.
        """
        from detlens.core.calibration import calibration

        def compute() -> dict:
            match = self.queries.match(view)
            return calibration(self.queries.dataset(view.key), match, view.class_list, int(n_bins)).to_dict()
        return self.cache.memo(cache_key(Entry.EVALUATION, view.outcomes(), "calibration", int(n_bins)), compute)

    def tide_by_metric(self, view: "ViewParams", metric: str, n_buckets: int, method: str) -> dict:
        """TIDE per bucket of ``metric`` (the buckets of Performance by metric for the same settings).

        Returns:
            ``{"metric": column name, "edges": [B+1 floats], "buckets": [{"low", "high", "counts": {type: int},
            "delta_ap": {type or oracle: float or None}} per bucket]}``.

        Raises:
            ValueError: as :meth:`classification`, an unknown metric, bucket count or method.
        """
        from detlens.core.tide import tide_by_metric

        def compute() -> dict:
            evaluator, match = self._evaluator_and_match(view)
            table = tide_by_metric(evaluator, match, self.classification(view), self.queries.tables(view.key),
                                   metric, int(n_buckets), method, view.ap_method)
            edges = [float(e) for e in table.edges]
            return {"metric": table.metric, "edges": edges,
                    "buckets": [{"low": edges[b], "high": edges[b + 1],
                                 **{k: v for k, v in breakdown.to_dict().items() if k != "ap_base"}}
                                for b, breakdown in enumerate(table.buckets)]}
        return self.cache.memo(cache_key(Entry.BUCKETS, view, metric, int(n_buckets), method, "tide"), compute)

    def object_errors(self, view: "ViewParams", tide: bool = True, confusion: bool = True) -> dict[str, np.ndarray]:
        """:func:`~detlens.core.explorer.error_columns` of the view: each object's TIDE type and confusion cell,
        in the Explorer's row order; ``tide`` or ``confusion`` False leaves those columns empty (a filter by
        confusion cell alone works under every matching rule, one by error type in every minimum mode).

        Raises:
            ValueError: as :meth:`classification` (``tide``) or :meth:`confusion` (``confusion``).
        """
        from detlens.core.explorer import error_columns

        return error_columns(self.queries.dataset(view.key), self.classification(view) if tide else None,
                             self.confusion(view) if confusion else None)
