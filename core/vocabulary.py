"""The words detlens shows for objects and outcomes: each vocabulary defined once, as a ``StrEnum``.

Members are ``str``: they compare equal to their values (``Outcome.TP == "TP"``),
serialise to JSON as their values and can be built from them
(``Outcome("ignored")``). Tables, JSON documents and Dash stores hold the values.

Vocabularies
    ``Outcome``       what matching decided for one object (``TP``, ``FP``, ``FN``, ``ignored``);
    ``FPReason``      why a false positive is false (see :mod:`detlens.core.matching`);
    ``IgnoreReason``  why a prediction is neither TP nor FP;
    ``ObjectKind``    a row of the Explorer's object table is a ``prediction`` or a ``label``;
    ``Side``          the two populations the statistics look at: ``predictions``
                      (TP vs FP, rate TPR) and ``labels`` (detected vs missed, rate FNR);
    ``OutcomeGroup``  the Explorer's outcome groups (which rows a filter keeps, see
                      :mod:`detlens.core.explorer.filters`);
    ``RunSide``       the two runs a comparison sets against each other: ``A`` (the
                      reference) and ``B`` (the challenger); deltas are B - A;
    ``BootstrapPart`` the statistics a comparison's bootstrap recomputes (see
                      :func:`detlens.core.compare.resample`);
    ``ErrorType``     TIDE's error types of a false positive or a missed label, and
    ``TideOracle``    TIDE's two whole-side oracles (see :mod:`detlens.core.tide`);
    ``MinScoreMode``  how the dashboard's minimum confidence is chosen: one for every
                      class, or each class's F1-optimal threshold (see
                      :mod:`detlens.core.operating_point`).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What matching decided for one prediction or label."""

    TP = "TP"
    FP = "FP"
    FN = "FN"
    IGNORED = "ignored"


class FPReason(StrEnum):
    """Why a false-positive prediction is false (first rule that applies, see :mod:`detlens.core.matching`)."""

    DUPLICATE = "duplicate"
    WRONG_CLASS = "wrong_class"
    LOW_IOU = "low_iou"
    BACKGROUND = "background"


class IgnoreReason(StrEnum):
    """Why a prediction is ignored (neither TP nor FP)."""

    CROWD = "crowd"
    BEYOND_MAX_DETS = "beyond_max_dets"
    AREA = "area"
    BELOW_MIN_SCORE = "below_min_score"


class ObjectKind(StrEnum):
    """What a row of the object table is."""

    PREDICTION = "prediction"
    LABEL = "label"


class Side(StrEnum):
    """A population the statistics look at: counted predictions or counted labels."""

    PREDICTIONS = "predictions"
    LABELS = "labels"

    @property
    def rate(self) -> str:
        """The rate shown for this side: ``"TPR"`` (TP / (TP + FP)) or ``"FNR"`` (FN / (TP + FN))."""
        return "TPR" if self is Side.PREDICTIONS else "FNR"

    @property
    def noun(self) -> str:
        """The objects counted: ``"predictions"`` or ``"labels"``."""
        return self.value

    @property
    def outcome_words(self) -> tuple[str, str]:
        """The two outcomes the side tells apart: ``("TP", "FP")`` or ``("detected", "missed")``."""
        return ("TP", "FP") if self is Side.PREDICTIONS else ("detected", "missed")

    @property
    def title(self) -> str:
        """Display title: ``"predictions (TP vs FP)"`` or ``"labels (detected vs missed)"``."""
        first, second = self.outcome_words
        return f"{self.noun} ({first} vs {second})"

    @property
    def groups(self) -> tuple[OutcomeGroup, ...]:
        """The Explorer groups of the side's counted rows (a bucket of :class:`Side` rate)."""
        return OutcomeGroup.prediction_side() if self is Side.PREDICTIONS else OutcomeGroup.label_side()

    @classmethod
    def of_rate(cls, rate: str) -> Side:
        """The side showing ``rate`` ("TPR" or "FNR").

        Raises:
            ValueError: any other rate name.
        """
        for side in cls:
            if side.rate == rate:
                return side
        raise ValueError(f"rate must be TPR or FNR, got {rate!r}")


class OutcomeGroup(StrEnum):
    """The Explorer's outcome groups: ``FP`` is every false positive, ``FP:<reason>`` those of one reason."""

    TP = "TP"
    FP = "FP"
    FP_DUPLICATE = f"FP:{FPReason.DUPLICATE}"
    FP_WRONG_CLASS = f"FP:{FPReason.WRONG_CLASS}"
    FP_LOW_IOU = f"FP:{FPReason.LOW_IOU}"
    FP_BACKGROUND = f"FP:{FPReason.BACKGROUND}"
    FN = "FN"
    DETECTED = "detected"
    IGNORED = "ignored"

    @property
    def label(self) -> str:
        """Display text, e.g. ``"FP · wrong class"``, ``"FN (missed label)"``."""
        return _GROUP_LABELS[self]

    @classmethod
    def of_reason(cls, reason: FPReason | str) -> OutcomeGroup:
        """The group of false positives of one reason (``"duplicate"`` -> ``FP:duplicate``)."""
        return cls(f"FP:{FPReason(reason)}")

    @classmethod
    def fp_groups(cls) -> tuple[OutcomeGroup, ...]:
        """Every ``FP:<reason>`` group, in :class:`FPReason` order."""
        return tuple(cls.of_reason(r) for r in FPReason)

    @classmethod
    def prediction_side(cls) -> tuple[OutcomeGroup, ...]:
        """Counted predictions: ``TP`` and every ``FP:<reason>`` group."""
        return (cls.TP, *cls.fp_groups())

    @classmethod
    def label_side(cls) -> tuple[OutcomeGroup, ...]:
        """Counted labels: ``FN`` and ``detected``."""
        return (cls.FN, cls.DETECTED)

    @classmethod
    def defaults(cls) -> tuple[OutcomeGroup, ...]:
        """The default groups ``TP, FP, FN``: each object once (a match by its prediction)."""
        return (cls.TP, cls.FP, cls.FN)

    @classmethod
    def choices(cls) -> tuple[OutcomeGroup, ...]:
        """The groups a user picks from: every group but the shorthand ``FP``."""
        return tuple(g for g in cls if g is not cls.FP)


_GROUP_LABELS = {
    OutcomeGroup.TP: "TP",
    OutcomeGroup.FP: "FP",
    OutcomeGroup.FP_DUPLICATE: "FP · duplicate",
    OutcomeGroup.FP_WRONG_CLASS: "FP · wrong class",
    OutcomeGroup.FP_LOW_IOU: "FP · low IoU",
    OutcomeGroup.FP_BACKGROUND: "FP · background",
    OutcomeGroup.FN: "FN (missed label)",
    OutcomeGroup.DETECTED: "detected label",
    OutcomeGroup.IGNORED: "ignored",
}


class RunSide(StrEnum):
    """One of the two runs of a comparison (:mod:`detlens.core.compare`): differences are B - A."""

    A = "A"
    B = "B"


class CompareGroup(StrEnum):
    """How an object changed from run A to run B (:mod:`detlens.core.compare_objects`; the Explorer's compare filter)."""

    FIXED = "fixed"  # wrong in A, right in B
    BROKEN = "broken"  # right in A, wrong in B
    BOTH_WRONG = "both_wrong"  # wrong in both runs

    @property
    def label(self) -> str:
        """Display text: ``"fixed by B"``, ``"broken by B"``, ``"both wrong"``."""
        return {CompareGroup.FIXED: "fixed by B", CompareGroup.BROKEN: "broken by B",
                CompareGroup.BOTH_WRONG: "both wrong"}[self]


class BootstrapPart(StrEnum):
    """A group of statistics the paired bootstrap recomputes (:func:`detlens.core.compare.resample`)."""

    AT_IOU = "at_iou"  # mAP, mAR and per-class AP/AR at the chosen IoU threshold
    COCO_RANGE = "coco_range"  # mAP@[.50:.95]: AP at each of ten IoU thresholds
    BUCKETS = "buckets"  # TPR and FNR per bucket of the metric


class ErrorType(StrEnum):
    """TIDE's error types (Bolya et al. 2020; spelled as tidecv and hotcoco): five of a false positive, one of a label."""

    CLS = "Cls"  # right box, wrong class
    LOC = "Loc"  # right class, poorly placed
    BOTH = "Both"  # wrong class and poorly placed
    DUPE = "Dupe"  # a duplicate of a true positive
    BKG = "Bkg"  # background: overlaps no label
    MISS = "Miss"  # a label never matched that no Cls or Loc fix would recover

    @classmethod
    def false_positive_types(cls) -> tuple[ErrorType, ...]:
        """The five types of a false positive, in report order (``Miss`` is a label's)."""
        return tuple(t for t in cls if t is not cls.MISS)


class TideOracle(StrEnum):
    """TIDE's whole-side oracles: ``FP`` removes every false positive, ``FN`` every missed label."""

    FP = "FP"
    FN = "FN"


class MinScoreMode(StrEnum):
    """How the dashboard's minimum confidence is chosen: ``global`` (the slider's one value for every class) or
    ``per_class_f1`` (each class's F1-optimal threshold, :mod:`detlens.core.operating_point`)."""

    GLOBAL = "global"
    PER_CLASS_F1 = "per_class_f1"

    @property
    def beta(self) -> float | None:
        """The beta of the F-beta a per-class mode maximises (None for ``global``)."""
        return None if self is MinScoreMode.GLOBAL else 1.0

    @property
    def label(self) -> str:
        """The selector's text: ``"one for all"`` or ``"per class: F1-optimal"``."""
        return "one for all" if self is MinScoreMode.GLOBAL else "per class: F1-optimal"

    @property
    def badge(self) -> str:
        """What the minimum's badge says in a per-class mode: ``"per class (F1)"`` (``""`` for ``global``)."""
        return "" if self is MinScoreMode.GLOBAL else "per class (F1)"
