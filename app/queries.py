"""The dashboard's query service: every number a callback shows, read from the shared cache.

:class:`Queries` is the one object :func:`detlens.app.server.create_app` builds
and hands to each tab's ``register(app, queries)``. It reads the prepared
dataset (see :mod:`detlens.app.preparation`) and memoises each result under a
key derived from a frozen :class:`ViewParams` (dataset, run, classes, IoU,
minimum confidence or its per-class mode, AP rule), so every process and every page asking the same question
shares one computation. Browsers only ever hold the dataset key and small JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from detlens.app.cache import MISSING, Entry, SharedCache, cache_key
from detlens.app.source import PreparationStatus, read_status
from detlens.core.ap_rule import COCO_RANGE_IOUS, APRule
from detlens.core.curves import thin_curve, thin_indices
from detlens.core.evaluation import Evaluator
from detlens.core.settings import IMPORTANCE_MAX_ROWS_DASHBOARD
from detlens.core.matching import ignored_labels, restrict_to_class_min_scores, restrict_to_min_score
from detlens.core.operating_point import operating_points, prediction_minimums
from detlens.core.vocabulary import MinScoreMode, Side

PREPARED_PARTS = (Entry.DATASET, Entry.CANDIDATES, Entry.OTHER_CLASS, Entry.ORDERS, Entry.MATCHING_BASIS, Entry.TABLES)
SUMMARY_FIELDS = 2  # bump when the fields of Queries.summary change


class NotPrepared(ValueError):
    """A prepared part of a dataset is missing or was damaged (and discarded): it must be prepared again.

    The page's status poll notices the same (:meth:`Queries.is_prepared`) and
    restarts the preparation (:class:`~detlens.app.preparation.PreparationSupervisor`).
    """

    def __init__(self):
        super().__init__("The prepared data of this dataset are missing or damaged and are being prepared again: "
                         "the page shows the progress, then the results.")


@dataclass(frozen=True)
class ViewParams:
    """What a view of the dashboard evaluates: the cache key of every result derives from it.

    Attributes:
        key: dataset fingerprint.
        classes: sorted class names, or None for every class (so "all selected" shares results).
        iou: IoU threshold, rounded to 2 decimals.
        min_score: minimum confidence rounded to 2 decimals, or None to keep every prediction.
        run: the prediction run of the dataset (None: its only run).
        ap_method, match_method, pixel_plus_one: the AP rule (:class:`~detlens.core.ap_rule.APRule`).
        min_score_mode: a :class:`~detlens.core.vocabulary.MinScoreMode` value; in a per-class mode
            ``min_score`` is None and each class's own threshold applies (:meth:`Queries.class_thresholds`).
    """

    key: str
    classes: tuple[str, ...] | None = None
    iou: float = 0.5
    min_score: float | None = None
    run: str | None = None
    ap_method: str = "coco101"
    match_method: str = "coco"
    pixel_plus_one: bool = False
    min_score_mode: str = MinScoreMode.GLOBAL.value

    def __post_init__(self):
        if self.min_score_mode != MinScoreMode.GLOBAL and self.min_score is not None:
            raise ValueError("a per-class minimum-confidence mode takes no global minimum (min_score None)")

    @classmethod
    def of(cls, key: str, classes=None, iou: float = 0.5, min_score: float | None = None,
           run: str | None = None, rule: APRule = APRule(),
           mode: MinScoreMode | str = MinScoreMode.GLOBAL) -> "ViewParams":
        """The canonical form of these settings (see the attributes); a per-class ``mode`` drops ``min_score``."""
        mode = MinScoreMode(mode)
        min_score = None if mode is not MinScoreMode.GLOBAL or not min_score else round(float(min_score), 2)
        return cls(key=str(key), classes=None if classes is None else tuple(sorted(str(c) for c in classes)),
                   iou=round(float(iou), 2), min_score=min_score, run=run,
                   ap_method=rule.ap_method, match_method=rule.match_method, pixel_plus_one=rule.pixel_plus_one,
                   min_score_mode=mode.value)

    @property
    def rule(self) -> APRule:
        """The AP rule of the view."""
        return APRule(self.ap_method, self.match_method, self.pixel_plus_one)

    @property
    def class_list(self) -> list[str] | None:
        """The classes as core/ takes them (None = all)."""
        return None if self.classes is None else list(self.classes)

    def all_classes(self) -> "ViewParams":
        """The same view over every class: matching does not depend on the class selection."""
        return replace(self, classes=None)

    def outcomes(self) -> "ViewParams":
        """The same view under the default AP method: who matches whom does not depend on it."""
        return replace(self, ap_method=APRule().ap_method)

    @property
    def per_class(self) -> bool:
        """True in a per-class minimum-confidence mode."""
        return self.min_score_mode != MinScoreMode.GLOBAL

    def without_minimum(self) -> "ViewParams":
        """The same view keeping every prediction: the match every minimum is derived from."""
        return replace(self, min_score=None, min_score_mode=MinScoreMode.GLOBAL.value)


class Queries:
    """Prepared data and memoised results of the datasets in one shared cache folder.

    Args:
        cache: the shared cache (its handles are safe to use after a fork).
        workspace: the server's :class:`~detlens.app.workspace.LiveWorkspace`: the only data sources a page may
            ask for; None outside a server (any source this cache remembers).
    """

    def __init__(self, cache: SharedCache, workspace=None):
        self.cache = cache
        self.workspace = workspace

    @cached_property
    def explorer(self):
        """The Explorer's queries (:class:`detlens.app.explorer_queries.ExplorerQueries`)."""
        from detlens.app.explorer_queries import ExplorerQueries

        return ExplorerQueries(self)

    @cached_property
    def compare(self):
        """Compare mode's queries, run A against run B (:class:`detlens.app.compare_queries.CompareQueries`)."""
        from detlens.app.compare_queries import CompareQueries

        return CompareQueries(self)

    @cached_property
    def errors(self):
        """TIDE, confusion and calibration queries (:class:`detlens.app.error_queries.ErrorQueries`)."""
        from detlens.app.error_queries import ErrorQueries

        return ErrorQueries(self)

    @cached_property
    def supervisor(self):
        """Preparation status, restart and supervision (:class:`detlens.app.preparation.PreparationSupervisor`)."""
        from detlens.app.preparation import PreparationSupervisor

        return PreparationSupervisor(self)

    # ----- preparation state ------------------------------------------------------------------
    def status(self, source_id: str) -> PreparationStatus:
        """How far the preparation of data source ``source_id`` has come."""
        return read_status(self.cache, source_id)

    def is_prepared(self, key: str | None) -> bool:
        """True when the dataset, its candidates, orders and metric tables are all cached, each value whole
        (a missing or truncated value file is found and its entry discarded, see
        :meth:`HealingCache.__contains__ <detlens.app.cache.HealingCache.__contains__>`)."""
        return bool(key) and all(cache_key(part, key) in self.cache.data for part in PREPARED_PARTS)

    def _prepared(self, part: Entry, key: str):
        """A prepared part; an unreadable one is discarded by the cache and reads as missing.

        Raises:
            NotPrepared: missing or damaged.
        """
        value = self.cache.data.get(cache_key(part, key), default=MISSING)
        if value is MISSING:
            raise NotPrepared()
        return value

    # ----- prepared data ------------------------------------------------------------------------
    def dataset(self, key: str):
        """The cached :class:`~detlens.core.dataset.Dataset`."""
        return self._prepared(Entry.DATASET, key)

    def images(self, key: str) -> dict:
        """Image registry: ``{"dir": images folder or None, "file_names": PackedStrings (N,), "widths", "heights":
        (N,) float64 pixels}`` (caches prepared before hold lists: both index and ``len`` alike)."""
        return self._prepared(Entry.IMAGES, key)

    def has_images(self, key: str) -> bool:
        """True when dataset ``key`` is known and was prepared with an images folder."""
        registry = self.cache.data.get(cache_key(Entry.IMAGES, key))
        return registry is not None and registry["dir"] is not None

    def tables(self, key: str):
        """The cached :class:`~detlens.core.metrics.tables.MetricTables`."""
        return self._prepared(Entry.TABLES, key)

    def evaluator(self, key: str, pixel_plus_one: bool = False) -> Evaluator:
        """An :class:`Evaluator` of the dataset with its candidate pairs, score orders and the default rule's
        :class:`~detlens.core.matching.MatchingBasis` from the cache.

        ``pixel_plus_one``: with the "+1 pixel" candidate pairs too; the preparation computes only the exact
        ones, so these are computed on first use and kept with the memoised results.
        """
        candidates = {False: self._prepared(Entry.CANDIDATES, key)}
        other_class = {False: self._prepared(Entry.OTHER_CLASS, key)}
        if pixel_plus_one:
            candidates[True], other_class[True] = self.cache.memo(
                cache_key(Entry.CANDIDATES, key, "pixel_plus_one"), lambda: self._plus_one_candidates(key))
        return Evaluator(self.dataset(key), candidates=candidates, orders=self._prepared(Entry.ORDERS, key),
                         other_class=other_class, bases=[self._prepared(Entry.MATCHING_BASIS, key)])

    def _plus_one_candidates(self, key: str) -> tuple:
        """``(same-class, other-class)`` candidate pairs of dataset ``key`` with "+1 pixel" box sizes."""
        evaluator = Evaluator(self.dataset(key), orders=self._prepared(Entry.ORDERS, key))
        return evaluator.candidates(True), evaluator.other_class_candidates(True)

    def summary(self, key: str) -> dict:
        """Small JSON: name, counts, class names, metric descriptions (``MetricInfo.to_dict``), warnings.

        ``labels`` counts every label; ``ignored_labels`` those that never count
        (crowd, VOC difficult, area outside pycocotools' range:
        :func:`~detlens.core.matching.ignored_labels`), so at any IoU threshold
        ``labels - ignored_labels == TP + FN``. ``unlabelled_classes``: the
        classes (in ``classes`` order) without a counted label, which have no AP
        and are left out of the per-class charts.
        """
        def compute() -> dict:
            ds, tables = self.dataset(key), self.tables(key)
            ignored = ignored_labels(ds)
            counted = np.bincount(ds.labels.category_index[~ignored], minlength=ds.n_categories)
            names = [str(c) for c in ds.category_names]
            return {"name": ds.name, "images": len(ds.images), "labels": len(ds.labels),
                    "ignored_labels": int(ignored.sum()), "predictions": len(ds.predictions), "classes": names,
                    "unlabelled_classes": [n for n, count in zip(names, counted) if count == 0],
                    "metrics": {n: m.to_dict() for n, m in tables.info.items()},
                    "warnings": list(ds.warnings) + list(tables.warnings)}
        # SUMMARY_FIELDS in the key: a summary cached before its fields changed is not read back
        return self.cache.memo(cache_key(Entry.SUMMARY, key, SUMMARY_FIELDS), compute)

    def view(self, key: str, selected: list[str] | None, iou: float, min_score: float | None,
             rule: APRule = APRule(), mode: MinScoreMode | str = MinScoreMode.GLOBAL) -> ViewParams:
        """The :class:`ViewParams` of the page's controls; every class selected gives ``classes=None``.

        Raises:
            ValueError: no class selected.
        """
        if not selected:
            raise ValueError("Select at least one class.")
        every = set(self.summary(key)["classes"])
        return ViewParams.of(key, None if set(selected) >= every else selected, iou, min_score, rule=rule, mode=mode)

    # ----- memoised results -----------------------------------------------------------------------
    def match(self, view: ViewParams, evaluator: Evaluator | None = None, dataset=None):
        """The :class:`~detlens.core.matching.MatchResult` of ``view`` (computed once, then cached).

        ``evaluator``, ``dataset``: already loaded by the caller, so the data are not read twice.
        """
        view = view.all_classes().outcomes()
        # derived in a moment from the match without a minimum (core/matching.py)
        if view.per_class or view.min_score is not None:
            base = self.match(view.without_minimum(), evaluator)
            scores = (dataset if dataset is not None else self.dataset(view.key)).predictions.scores
            if view.per_class:
                return restrict_to_class_min_scores(base, scores, self.prediction_minimums(view))
            return restrict_to_min_score(base, scores, view.min_score)
        # in a job, stored after its answer: a page's jobs at a new threshold each compute it, none waits for a write
        return self.cache.memo(cache_key(Entry.MATCH, view), lambda: (
            evaluator or self.evaluator(view.key, view.pixel_plus_one)).match(
            view.iou, method=view.match_method, pixel_plus_one=view.pixel_plus_one, min_score=view.min_score),
            store_after_answer=True)

    def class_thresholds(self, view: ViewParams) -> dict:
        """Each class's operating point under the view's per-class mode (F-beta-optimal, beta of the mode).

        Computed from the match without a minimum at the view's IoU and match rule
        (:func:`~detlens.core.operating_point.operating_points`), for every class: a class's point does not
        depend on the class selection, nor on the AP method, so one entry serves them all.

        Returns:
            ``{class name: {"score", "precision", "recall", "F<beta>", "precision_at_score", "recall_at_score"}}``
            (``OperatingPoint.to_dict``; ``score`` None: no threshold, the class keeps every prediction).

        Raises:
            ValueError: the view is not in a per-class mode.
        """
        if not view.per_class:
            raise ValueError("class thresholds need a per-class minimum-confidence mode")
        view = view.all_classes().outcomes()

        def compute() -> dict:
            ev = self.evaluator(view.key, view.pixel_plus_one)
            match = self.match(view.without_minimum(), ev)
            return operating_points(ev, match, beta=MinScoreMode(view.min_score_mode).beta).to_dict()
        return self.cache.memo(cache_key(Entry.EVALUATION, view, "class_thresholds"), compute)

    def prediction_minimums(self, view: ViewParams) -> np.ndarray:
        """``(P,)`` float64 minimum score of each prediction in the view's per-class mode: its class's threshold,
        ``-inf`` for a class without one (:func:`~detlens.core.operating_point.prediction_minimums`)."""
        thresholds = {name: point["score"] for name, point in self.class_thresholds(view).items()}
        return prediction_minimums(self.dataset(view.key), thresholds)

    def evaluation_doc(self, view: ViewParams) -> dict:
        """``EvaluationResult.to_dict()`` plus ``"pr"``: per class, thinned precision-recall curves and the
        confidence of each kept point (``{"recall", "precision", "score"}`` lists)."""
        def compute() -> dict:
            ev = self.evaluator(view.key, view.pixel_plus_one)
            m = self.match(view, ev)
            result = ev.evaluate_match(m, classes=view.class_list, ap_method=view.ap_method)
            doc = result.to_dict()
            doc["pr"] = {}
            ds = ev.dataset
            # the evaluation order (class, then score descending): the point after k predictions has score[k - 1]
            order, bounds = ev.class_order(m)  # the order evaluate_match used, not computed again
            for k, c in zip(ds.category_indices(view.class_list), result.per_class):
                recall, precision = thin_curve(c.recall, c.precision)
                scores = ds.predictions.scores[order[bounds[k]:bounds[k + 1]]]
                doc["pr"][c.name] = {"recall": recall, "precision": precision,
                                     "score": [float(s) for s in scores[thin_indices(scores.shape[0])]]}
            return doc
        return self.cache.memo(cache_key(Entry.EVALUATION, view), compute)

    def ap_by_iou(self, view: ViewParams) -> dict:
        """AP of every class at each IoU of mAP@[.50:.95] under the view's rule and minimum confidence.

        In a per-class mode, the thresholds chosen at the view's IoU are kept at every IoU (as a deployed
        model keeps them): pycocotools' mAP@[.50:.95] of the predictions at or above their class's threshold.

        Returns:
            ``{"ious": [0.5, ..., 0.95], "classes": [names], "AP": [[AP or None per class] per IoU]}``
            (None: a class without labels). It does not depend on the view's classes nor, but in a per-class
            mode, on its IoU, so every slider position and class selection reads one entry.
        """
        view = replace(view.all_classes(), iou=view.iou if view.per_class else 0.0)

        def compute() -> dict:
            # one evaluator: the ten thresholds reuse its candidate IoUs and score orders
            ev = self.evaluator(view.key, view.pixel_plus_one)
            names = [str(c) for c in ev.dataset.category_names]
            if not view.per_class:  # outcomes only, the work common to the thresholds done once
                aps = ev.aps_at_thresholds(COCO_RANGE_IOUS, view.ap_method, match_method=view.match_method,
                                           pixel_plus_one=view.pixel_plus_one, min_score=view.min_score)
                return {"ious": list(COCO_RANGE_IOUS), "classes": names,
                        "AP": [[None if np.isnan(ap) else float(ap) for ap in row] for row in aps]}
            minimums = self.prediction_minimums(view)
            rows = []
            for iou in COCO_RANGE_IOUS:
                match = restrict_to_class_min_scores(self.match(replace(view.without_minimum(), iou=iou), ev),
                                                     ev.dataset.predictions.scores, minimums)
                rows.append([c["AP"] for c in ev.evaluate_match(match, ap_method=view.ap_method)
                             .to_dict()["per_class"].values()])
            return {"ious": list(COCO_RANGE_IOUS), "classes": names, "AP": rows}
        return self.cache.memo(cache_key(Entry.EVALUATION, view, "ap_by_iou"), compute)

    def map_coco_range(self, view: ViewParams) -> float | None:
        """mAP@[.50:.95] of the view's classes and rule: the mean of AP over IoU 0.50:0.05:0.95 and the
        selected classes with labels (pycocotools' ``stats[0]`` under the COCO rule); None without labels."""
        doc = self.ap_by_iou(view)
        columns = [k for k, name in enumerate(doc["classes"]) if view.classes is None or name in view.classes]
        aps = np.array([[row[k] for k in columns] for row in doc["AP"]], dtype=float)
        aps = aps[~np.isnan(aps)]
        return float(aps.mean()) if aps.size else None

    def ranking(self, view: ViewParams, side: Side) -> list[dict]:
        """Metric importance and correlation of one side, most important first (``MetricDependency.to_dict``)."""
        from detlens.core.analysis import rank_metrics

        side = Side(side)

        def compute() -> list[dict]:
            ranked = rank_metrics(self.dataset(view.key), self.tables(view.key), self.match(view), view.class_list,
                                  side, IMPORTANCE_MAX_ROWS_DASHBOARD)
            return [d.to_dict() for d in ranked]
        return self.cache.memo(cache_key(Entry.RANKING, view.outcomes(), side), compute)

    def buckets(self, view: ViewParams, metric: str, n_buckets: int, method: str) -> dict:
        """Performance by metric (``BucketTable.to_dict()``)."""
        from detlens.core.analysis import performance_by_metric

        def compute() -> dict:
            table = performance_by_metric(self.dataset(view.key), self.tables(view.key), self.match(view), metric,
                                          view.class_list, int(n_buckets), method)
            return table.to_dict()
        return self.cache.memo(cache_key(Entry.BUCKETS, view.outcomes(), metric, int(n_buckets), method), compute)
