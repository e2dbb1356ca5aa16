"""Compare mode's queries: run A against run B of one dataset, memoised in the shared cache.

Each run is its own prepared dataset key; a :class:`CompareView` holds both
runs' :class:`~detlens.app.queries.ViewParams` (B's is A's with B's key, so both
runs are evaluated at the same settings; in a per-class minimum-confidence mode
each run uses its own per-class thresholds) and the bootstrap settings, and
every result is memoised under a key derived from it. The statistics are
:mod:`detlens.core.compare`'s, computed from each run's cached matches
(:meth:`Queries.match <detlens.app.queries.Queries.match>`) and evaluator; the
Explorer's groups are :mod:`detlens.core.compare_objects`'.

The Explorer's table in compare mode is run A's object table (its predictions,
then the shared labels) followed by run B's predictions, with three columns
more: ``run`` ("A" or "B" on predictions, "" on labels), ``change`` (the
:class:`~detlens.core.vocabulary.CompareGroup` value, "" for none) and
``outcome_b`` (a label's outcome in run B, "" on predictions). Row numbers run
on through B's predictions, so filters, pages and the detail view are the
Explorer's own (:class:`~detlens.app.explorer_queries.ExplorerQueries`, given
this table).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from detlens.app.cache import Entry, cache_key
from detlens.core.compare import compare_runs, run_outcomes, same_dataset
from detlens.core.compare_objects import NO_GROUP, object_changes
from detlens.core.explorer import ExplorerFilter
from detlens.core.explorer.filters import COMPARE_COLUMN
from detlens.core.settings import BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from detlens.core.vocabulary import RunSide, Side

if TYPE_CHECKING:
    from detlens.app.queries import Queries, ViewParams

RUN_COLUMN, OUTCOME_B_COLUMN = "run", "outcome_b"
COMPARE_FIELDS = 1  # bump when the documents of CompareQueries change


@dataclass(frozen=True)
class CompareView:
    """What a comparison computes: the cache key of every compare result derives from it.

    Attributes:
        a, b: the runs' views (same settings, B's dataset key).
        names: the runs' display names (A's, B's).
        resamples, seed, level: the paired bootstrap (:mod:`detlens.core.bootstrap`).
    """

    a: "ViewParams"
    b: "ViewParams"
    names: tuple[str, str] = (RunSide.A.value, RunSide.B.value)
    resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = BOOTSTRAP_SEED
    level: float = BOOTSTRAP_LEVEL

    @property
    def key(self) -> str:
        """Run A's dataset key (both runs share images and labels)."""
        return self.a.key

    @property
    def classes(self) -> tuple[str, ...] | None:
        """The selected classes (None: all)."""
        return self.a.classes

    @property
    def class_list(self) -> list[str] | None:
        """The classes as core/ takes them (None = all)."""
        return self.a.class_list

    def explorer(self) -> "CompareView":
        """The view the Explorer's results depend on: the runs' outcomes and classes, not names or bootstrap."""
        return CompareView(self.a.outcomes(), self.b.outcomes())


class CompareQueries:
    """Run A against run B over the :class:`~detlens.app.queries.Queries` cache."""

    def __init__(self, queries: "Queries"):
        self.queries = queries
        self.cache = queries.cache

    def same_dataset(self, key_a: str, key_b: str) -> str | None:
        """Why two prepared runs cannot be compared (one line, :func:`detlens.core.compare.same_dataset`), or None."""
        q = self.queries
        doc = self.cache.memo(cache_key(Entry.SUMMARY, "same_dataset", key_a, key_b), lambda: {
            "problem": same_dataset(q.dataset(key_a), q.dataset(key_b))})
        return doc["problem"]

    def view(self, view_a: "ViewParams", key_b: str, names: tuple[str, str] = (RunSide.A.value, RunSide.B.value),
             resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> CompareView:
        """The comparison of run A's view with run B (dataset key ``key_b``) at the same settings.

        Raises:
            ValueError: B is not prepared, or the runs are not on the same dataset (one line).
        """
        if not self.queries.is_prepared(key_b):
            raise ValueError(f"Run {names[1]} is not prepared yet: compare mode starts once it is.")
        problem = self.same_dataset(view_a.key, key_b)
        if problem:
            raise ValueError(f"Cannot compare {names[0]} with {names[1]}: {problem}.")
        return CompareView(view_a, replace(view_a, key=key_b), (str(names[0]), str(names[1])), int(resamples),
                           int(seed))

    def outcomes(self, cv: CompareView, metric: str | None = None) -> tuple:
        """:func:`~detlens.core.compare.run_outcomes` of both runs from their cached matches (with ``metric``:
        performance by that metric too)."""
        q, runs = self.queries, []
        for name, view in zip(cv.names, (cv.a, cv.b)):
            evaluator = q.evaluator(view.key, view.pixel_plus_one)

            def match_at(t: float, view=view, evaluator=evaluator):
                return q.match(replace(view, iou=round(float(t), 2)), evaluator)
            runs.append(run_outcomes(name, evaluator, view.iou, view.class_list, view.rule, min_score=view.min_score,
                                     tables=q.tables(view.key) if metric else None, metric=metric,
                                     match_at=match_at))
        return tuple(runs)

    def summary(self, cv: CompareView) -> dict:
        """``Comparison.to_dict()`` (:mod:`detlens.core.compare`): mAP, mAR, mAP@[.50:.95] and per-class AP/AR
        of both runs, their differences B - A and the paired-bootstrap intervals."""
        def compute() -> dict:
            return compare_runs(*self.outcomes(cv), resamples=cv.resamples, seed=cv.seed, level=cv.level).to_dict()
        return self.cache.memo(cache_key(Entry.EVALUATION, cv, "compare", COMPARE_FIELDS), compute)

    def by_metric(self, cv: CompareView, metric: str, n_buckets: int, method: str) -> dict:
        """:meth:`summary` with performance by ``metric``: ``by_metric`` (both runs' TPR/FNR per shared bucket,
        their differences with intervals), ``edges``, ``finding`` (the sentence naming significant buckets).

        Raises:
            ValueError: an unknown metric.
        """
        def compute() -> dict:
            info = self.queries.tables(cv.key).info.get(metric)
            unit = "" if info is None or info.custom else info.unit
            return compare_runs(*self.outcomes(cv, metric), n_buckets=int(n_buckets), bucket_method=method,
                                resamples=cv.resamples, seed=cv.seed, level=cv.level, unit=unit).to_dict()
        return self.cache.memo(cache_key(Entry.BUCKETS, cv, "compare", metric, int(n_buckets), method,
                                         COMPARE_FIELDS), compute)

    def rankings(self, cv: CompareView, side: Side) -> tuple[list[dict], list[dict]]:
        """Metric importance of both runs (:meth:`Queries.ranking <detlens.app.queries.Queries.ranking>`)."""
        return self.queries.ranking(cv.a, side), self.queries.ranking(cv.b, side)

    # ----- the Explorer in compare mode ---------------------------------------------------------------
    def objects(self, cv: CompareView) -> pd.DataFrame:
        """The compare table (module docstring): ``P_a + L + P_b`` rows, index equal to column ``row``."""
        ev = cv.explorer()
        ev = CompareView(ev.a.all_classes(), ev.b.all_classes())
        q = self.queries

        def compute() -> pd.DataFrame:
            ds_a, ds_b = q.dataset(ev.a.key), q.dataset(ev.b.key)
            match_a, match_b = q.match(ev.a), q.match(ev.b)
            changes = object_changes(ds_a, match_a, ds_b, match_b, ev.a.iou, ev.a.pixel_plus_one)
            n_pa, n_pb, n_l = len(ds_a.predictions), len(ds_b.predictions), len(ds_a.labels)
            a = q.explorer.objects(ev.a)
            table_b = q.explorer.objects(ev.b)
            b = table_b.iloc[:n_pb].copy()
            label_b = table_b["outcome"].to_numpy()[n_pb:]
            a[RUN_COLUMN] = np.array([RunSide.A.value] * n_pa + [""] * n_l, dtype=object)
            a[COMPARE_COLUMN] = np.concatenate([changes.predictions_a, changes.labels]).astype(object)
            a[OUTCOME_B_COLUMN] = np.concatenate([np.full(n_pa, "", object), label_b]).astype(object)
            b[RUN_COLUMN] = RunSide.B.value
            b[COMPARE_COLUMN] = changes.predictions_b.astype(object)
            b[OUTCOME_B_COLUMN] = ""
            b["row"] = np.arange(n_pa + n_l, n_pa + n_l + n_pb, dtype=np.int64)
            return pd.concat([a, b], ignore_index=True)
        return self.cache.memo(cache_key(Entry.OBJECTS, ev, "compare", COMPARE_FIELDS), compute)

    def table_of(self, cv: CompareView) -> Callable[[], pd.DataFrame]:
        """``objects(cv)`` read at most once, when first called (as :meth:`ExplorerQueries.table_of
        <detlens.app.explorer_queries.ExplorerQueries.table_of>`)."""
        return functools.cache(lambda: self.objects(cv))

    def filtered(self, cv: CompareView, flt: ExplorerFilter, sort_by: str, descending: bool,
                 table_of: Callable[[], pd.DataFrame] | None = None) -> dict:
        """:meth:`ExplorerQueries.filtered <detlens.app.explorer_queries.ExplorerQueries.filtered>` of the
        compare table.

        Raises:
            ValueError: an error-type filter (not available in compare mode), an unknown metric or sort column.
        """
        if flt.needs_errors:
            raise ValueError("Error-type and confusion filters show one run: leave compare mode to use them.")
        return self.queries.explorer.filtered(cv.explorer(), flt, sort_by, descending, table_of or self.table_of(cv))

    def selection(self, cv: CompareView, flt: ExplorerFilter) -> pd.DataFrame:
        """The filtered rows of the compare table, in row order (for the downloads)."""
        return self.objects(cv).iloc[self.filtered(cv, flt, "row", False)["rows"]]

    def page(self, cv: CompareView, rows: np.ndarray, number: int, value_column: str | None,
             table_of: Callable[[], pd.DataFrame] | None = None) -> list[dict]:
        """:meth:`ExplorerQueries.page <detlens.app.explorer_queries.ExplorerQueries.page>` of the compare
        table, each box with its ``run`` ("A", "B", "" for a label), the item with its ``change`` and
        ``outcome_b``."""
        table_of = table_of or self.table_of(cv)
        items = self.queries.explorer.page(cv.explorer(), rows, number, value_column, table_of)
        return [self._with_runs(table_of(), item, "others") for item in items]

    def detail(self, cv: CompareView, row: int) -> dict:
        """:meth:`ExplorerQueries.detail <detlens.app.explorer_queries.ExplorerQueries.detail>` of the
        compare table, every box with its ``run``."""
        table_of = self.table_of(cv)
        doc = self.queries.explorer.detail(cv.explorer(), row, table_of)
        doc["object"] = self._with_runs(table_of(), doc["object"], None)
        doc["boxes"] = [self._with_runs(table_of(), box, None) for box in doc["boxes"]]
        doc["runs"] = list(cv.names)
        return doc

    @staticmethod
    def _with_runs(table: pd.DataFrame, item: dict, others: str | None) -> dict:
        run, change, outcome_b = (table[c].to_numpy() for c in (RUN_COLUMN, COMPARE_COLUMN, OUTCOME_B_COLUMN))
        r = item["row"]
        item = {**item, "run": run[r], "change": change[r] or NO_GROUP, "outcome_b": outcome_b[r]}
        if others:
            item[others] = [{**o, "run": run[o["row"]]} for o in item[others]]
        return item
