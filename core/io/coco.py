"""COCO JSON importer.

Accepted layouts (decided by the top-level JSON type):

* **Dataset file** (object): ``images`` (``id`` int, ``file_name`` str,
  optional ``width``/``height`` > 0), ``categories`` (``id`` int, ``name``
  str, both unique) and ``annotations`` (``id``, ``image_id``,
  ``category_id`` ints, ``bbox`` ``[x, y, w, h]`` pixels with ``w, h > 0``,
  optional ``area`` (default ``w * h``), optional ``iscrowd`` 0/1 (default 0)).
  Used as labels, or as predictions when every annotation has a numeric
  ``score`` (annotation ``id`` is then optional: 1..N when absent) (ids may then differ from the labels': matching happens in
  :func:`detlens.core.io.assemble.assemble`).
* **Results list** (array): ``{image_id, category_id, bbox, score}`` records,
  as written for ``pycocotools.COCO.loadRes``; ids 1..N in file order. Only
  valid as predictions. An empty list ``[]`` means "no predictions".

Other numeric per-annotation fields (e.g. ``ignore``, custom metrics) are kept
in ``BoxTable.extra``. Validation is vectorised: whole columns are converted
with numpy and only on failure is the offending record located for the message.
A 0-byte/whitespace file, a dataset without images, malformed JSON (with
line/column), wrong types, missing fields, non-finite numbers, duplicate ids or
category names and dangling references raise :class:`InputError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from detlens.core.io.common import Part, check_boxes, display_name, first_bad, no_gc, read_bytes, stem_of
from detlens.core.io.errors import InputError, short

_STANDARD = {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "score", "segmentation"}
_NUM = (int, float)


def load_coco(path: Path, role: str) -> Part:
    """Read a COCO dataset file or results list.

    Args:
        path: the ``.json`` file.
        role: ``"labels"`` or ``"predictions"`` (predictions need scores).

    Returns:
        a :class:`Part`; for a results list ``box_img``/``box_cat`` hold raw
        source ids, otherwise local indices.
    """
    disp = display_name(path)
    data = read_bytes(path, disp)
    with no_gc():
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InputError(disp, f"line {exc.lineno}, column {exc.colno}", f"malformed JSON: {exc.msg}") from None
        kind = type(doc).__name__
        if isinstance(doc, list):
            if role == "labels":
                raise InputError(disp, "file", "a COCO results list (JSON array) cannot be used as labels; give a COCO dataset file")
            part = _results(doc, disp)
        elif isinstance(doc, dict):
            part = _dataset(doc, disp, role)
        else:
            part = None
        # free the millions of parsed objects while the collector is still paused:
        # re-enabling it first would make it scan them all once more
        del doc
    if part is None:
        raise InputError(disp, "file", f"expected a JSON object (COCO dataset) or array (results list), got {kind}")
    return part


# ---------------------------------------------------------------- columns


def _describer(disp: str, recs: list, what: str):
    def describe(i: int) -> tuple[str, str]:
        r = recs[i]
        rid = r.get("id") if isinstance(r, dict) else None
        return disp, f"{what} #{i}" + (f" (id {short(rid, 30)})" if rid is not None else "")

    return describe


def _values(recs: list, key: str, describe, required: bool, default=None) -> list:
    try:
        if required:
            return [r[key] for r in recs]
        return [r.get(key, default) for r in recs]
    except (KeyError, TypeError, AttributeError):
        for i, r in enumerate(recs):
            if not isinstance(r, dict):
                raise InputError(*describe(i), f"expected a JSON object, got {short(r)}") from None
            if key not in r:
                raise InputError(*describe(i), f"missing field '{key}'") from None
        raise


def _ints(recs: list, key: str, describe, required: bool = True, default=None) -> np.ndarray:
    vals = _values(recs, key, describe, required, default)
    if not vals:
        return np.zeros(0, np.int64)
    a = np.array(vals)
    if a.dtype.kind in "iu" and a.ndim == 1:
        return a.astype(np.int64)
    if a.dtype.kind == "f" and a.ndim == 1 and np.isfinite(a).all() and (a == np.round(a)).all():
        return a.astype(np.int64)
    for i, v in enumerate(vals):
        if type(v) is not int and not (type(v) is float and v.is_integer()):
            raise InputError(*describe(i), f"'{key}' must be an integer, got {short(v)}")
    raise InputError(*describe(0), f"'{key}' values are not 64-bit integers")


def _floats(recs: list, key: str, describe, required: bool = True) -> np.ndarray:
    """``(N,)`` float64; NaN where an optional field is absent."""
    vals = _values(recs, key, describe, required, float("nan"))
    if not vals:
        return np.zeros(0, np.float64)
    a = np.array(vals)
    if a.dtype.kind not in "iuf" or a.ndim != 1:
        for i, v in enumerate(vals):
            if type(v) not in _NUM:
                raise InputError(*describe(i), f"'{key}' must be a number, got {short(v)}")
    a = a.astype(np.float64)
    bad = np.isinf(a) if not required else ~np.isfinite(a)
    if bad.any():
        i = first_bad(bad)
        raise InputError(*describe(i), f"'{key}' must be a finite number, got {vals[i]}")
    return a


def _strs(recs: list, key: str, describe) -> np.ndarray:
    vals = _values(recs, key, describe, True)
    for i, v in enumerate(vals):
        if type(v) is not str:
            raise InputError(*describe(i), f"'{key}' must be a string, got {short(v)}")
    return np.array(vals, dtype=object).reshape(len(vals))


def _bboxes(recs: list, describe) -> np.ndarray:
    vals = _values(recs, "bbox", describe, True)
    n = len(vals)
    if n == 0:
        return np.zeros((0, 4), np.float64)
    try:
        a = np.array(vals)
    except (ValueError, TypeError):
        a = None
    if a is None or a.shape != (n, 4) or a.dtype.kind not in "iuf":
        for i, v in enumerate(vals):
            if type(v) is not list or len(v) != 4 or any(type(x) not in _NUM for x in v):
                raise InputError(*describe(i), f"bbox must be a list of 4 numbers [x, y, w, h], got {short(v)}")
        raise InputError(*describe(0), "bbox values are not numbers")
    a = a.astype(np.float64)
    check_boxes(a, describe)
    return a


def _unique(ids: np.ndarray, describe, what: str) -> None:
    if ids.size < 2:
        return
    u, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts > 1).any():
        v = u[counts > 1][0]
        where = np.flatnonzero(ids == v)
        raise InputError(*describe(int(where[1])), f"duplicate {what} {v} (first at #{int(where[0])})")


def _extra(recs: list) -> dict[str, np.ndarray]:
    """Numeric non-standard fields, ``(N,)`` float64 with NaN where absent."""
    if not recs:
        return {}
    keys = set(recs[0].keys())
    if len(set(map(len, recs))) != 1:
        keys = set().union(*(r.keys() for r in recs))
    out: dict[str, np.ndarray] = {}
    for k in sorted(keys - _STANDARD):
        vals = [r.get(k) for r in recs]
        if all(v is None or type(v) in _NUM for v in vals):
            out[k] = np.array([np.nan if v is None else v for v in vals], np.float64)
    return out


# ---------------------------------------------------------------- layouts


def _results(recs: list, disp: str) -> Part:
    describe = _describer(disp, recs, "result")
    img = _ints(recs, "image_id", describe)
    cat = _ints(recs, "category_id", describe)
    boxes = _bboxes(recs, describe)
    scores = _floats(recs, "score", describe)
    n = len(recs)
    empty_i, empty_o = np.zeros(0, np.int64), np.zeros(0, object)
    return Part(
        file=disp, has_ids=True, results_list=True,
        img_ids=empty_i, img_names=empty_o, img_stems=empty_o, img_w=np.zeros(0), img_h=np.zeros(0),
        cat_ids=empty_i, cat_names=empty_o,
        box_img=img, box_cat=cat, boxes=boxes, scores=scores,
        iscrowd=np.zeros(n, bool), areas=np.full(n, np.nan), ids=None,
        describe=describe, extra=_extra(recs),
    )


def _section(doc: dict, key: str, disp: str) -> list:
    if key not in doc:
        raise InputError(disp, "file", f"missing '{key}' list")
    sec = doc[key]
    if not isinstance(sec, list):
        raise InputError(disp, key, f"'{key}' must be a list, got {type(sec).__name__}")
    return sec


def _refs(refs: np.ndarray, ids: np.ndarray, describe, key: str, section: str) -> np.ndarray:
    """Local indices of ``refs`` into ``ids``; InputError on an unknown id."""
    if refs.size == 0:
        return refs
    order = np.argsort(ids, kind="stable")
    sid = ids[order]
    pos = np.minimum(np.searchsorted(sid, refs), max(len(sid) - 1, 0))
    ok = sid[pos] == refs if len(sid) else np.zeros(len(refs), bool)
    if not ok.all():
        i = first_bad(~ok)
        raise InputError(*describe(i), f"{key} {refs[i]} is not in '{section}'")
    return order[pos].astype(np.int64)


def _dataset(doc: dict, disp: str, role: str) -> Part:
    images = _section(doc, "images", disp)
    cats = _section(doc, "categories", disp)
    anns = _section(doc, "annotations", disp)
    if not images:
        raise InputError(disp, "images", "no images")
    if not cats:
        raise InputError(disp, "categories", "no categories")
    d_img = _describer(disp, images, "image")
    d_cat = _describer(disp, cats, "category")
    d_ann = _describer(disp, anns, "annotation")

    img_ids = _ints(images, "id", d_img)
    _unique(img_ids, d_img, "image id")
    names = _strs(images, "file_name", d_img)
    w = _floats(images, "width", d_img, required=False)
    h = _floats(images, "height", d_img, required=False)
    for arr, key in ((w, "width"), (h, "height")):
        bad = arr <= 0
        if bad.any():
            i = first_bad(bad)
            raise InputError(*d_img(i), f"{key} must be > 0, got {arr[i]:g}")

    cat_ids = _ints(cats, "id", d_cat)
    _unique(cat_ids, d_cat, "category id")
    cat_names = _strs(cats, "name", d_cat)
    seen: dict[str, int] = {}
    for i, nm in enumerate(cat_names.tolist()):
        if nm in seen:
            raise InputError(*d_cat(i), f"duplicate category name {nm!r} (first at #{seen[nm]})")
        seen[nm] = i

    ann_ids = None  # predictions without ids get 1..N, like pycocotools loadRes
    if role == "labels" or (anns and isinstance(anns[0], dict) and "id" in anns[0]):
        ann_ids = _ints(anns, "id", d_ann)
        _unique(ann_ids, d_ann, "annotation id")
    box_img = _refs(_ints(anns, "image_id", d_ann), img_ids, d_ann, "image_id", "images")
    box_cat = _refs(_ints(anns, "category_id", d_ann), cat_ids, d_ann, "category_id", "categories")
    boxes = _bboxes(anns, d_ann)
    areas = _floats(anns, "area", d_ann, required=False)
    crowd = _ints(anns, "iscrowd", d_ann, required=False, default=0)
    bad = (crowd != 0) & (crowd != 1)
    if bad.any():
        i = first_bad(bad)
        raise InputError(*d_ann(i), f"iscrowd must be 0 or 1, got {crowd[i]}")
    scores = _floats(anns, "score", d_ann) if role == "predictions" else None
    return Part(
        file=disp, has_ids=True, results_list=False,
        img_ids=img_ids, img_names=names,
        img_stems=np.array([stem_of(n) for n in names.tolist()], dtype=object).reshape(len(names)),
        img_w=w, img_h=h, cat_ids=cat_ids, cat_names=cat_names,
        box_img=box_img, box_cat=box_cat, boxes=boxes, scores=scores,
        iscrowd=crowd.astype(bool), areas=areas, ids=ann_ids,
        describe=d_ann, extra=_extra(anns),
    )
