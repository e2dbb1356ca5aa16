"""The AP rule of an evaluation: AP method, matching method and box-size convention, and their names.

The three settings ``detlens evaluate`` takes as ``--ap-method``, ``--match`` and
``--pixel-plus-one`` travel together as one :class:`APRule`; the dashboard's
selector holds its :attr:`APRule.code`, and every page names it with
:attr:`APRule.title` (the wording below is the only place these names are spelled).
"""

from __future__ import annotations

from dataclasses import dataclass

from detlens.core.ap import AP_METHODS
from detlens.core.matching import MATCH_METHODS

AP_METHOD_TITLES = {"coco101": "COCO 101-point", "voc_all_point": "VOC all-point", "voc_11_point": "VOC 11-point"}
MATCH_TITLES = {"coco": "COCO matching", "voc": "VOC matching"}
PLUS_ONE_TITLE = "+1 px"
# the matching each AP method is published with: only another one is named in a title
OWN_MATCH = {"coco101": "coco", "voc_all_point": "voc", "voc_11_point": "voc"}
COCO_RANGE_IOUS = tuple(round(0.5 + 0.05 * k, 2) for k in range(10))  # mAP@[.50:.95]: 0.50, 0.55, ..., 0.95


@dataclass(frozen=True)
class APRule:
    """How AP is computed.

    Attributes:
        ap_method: one of :data:`~detlens.core.ap.AP_METHODS` (the precision-recall curve's summary).
        match_method: one of :data:`~detlens.core.matching.MATCH_METHODS` (who matches whom).
        pixel_plus_one: legacy VOC box sizes (width = x2 - x1 + 1).

    Raises:
        ValueError: an unknown AP or matching method.
    """

    ap_method: str = "coco101"
    match_method: str = "coco"
    pixel_plus_one: bool = False

    def __post_init__(self):
        if self.ap_method not in AP_METHODS:
            raise ValueError(f"ap_method must be one of {', '.join(AP_METHODS)}, got {self.ap_method!r}")
        if self.match_method not in MATCH_METHODS:
            raise ValueError(f"match must be one of {', '.join(MATCH_METHODS)}, got {self.match_method!r}")
        object.__setattr__(self, "pixel_plus_one", bool(self.pixel_plus_one))

    @property
    def title(self) -> str:
        """Its name on the page: ``"COCO 101-point"``, ``"VOC all-point, +1 px"``, ``"VOC 11-point, COCO matching"``."""
        parts = [AP_METHOD_TITLES[self.ap_method]]
        if self.match_method != OWN_MATCH[self.ap_method]:
            parts.append(MATCH_TITLES[self.match_method])
        if self.pixel_plus_one:
            parts.append(PLUS_ONE_TITLE)
        return ", ".join(parts)

    @property
    def code(self) -> str:
        """One string naming the rule (the selector's value): ``"<ap_method>:<match_method>:<0|1>"``."""
        return f"{self.ap_method}:{self.match_method}:{int(self.pixel_plus_one)}"


def every_rule() -> tuple[APRule, ...]:
    """Every rule, as the selector lists them: by AP method, its own matching first, exact sizes first."""
    return tuple(APRule(ap, match, plus_one) for ap in AP_METHODS
                 for match in sorted(MATCH_METHODS, key=lambda m: m != OWN_MATCH[ap]) for plus_one in (False, True))


RULES_BY_CODE = {rule.code: rule for rule in every_rule()}
