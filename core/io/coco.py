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
in ``BoxTable.extra`` (a field counts when it is a number or null wherever it
appears, in any record; NaN where absent or null). Validation is vectorised:
whole columns are converted with numpy and only on failure is the offending
record located for the message. A 0-byte/whitespace file, a dataset without
images, malformed JSON (with line/column), wrong types, missing fields,
non-finite numbers, duplicate ids or category names and dangling references
raise :class:`InputError`.

Two decoders, one behaviour:

* **typed** (fast path): ``msgspec`` decodes straight into
  :class:`msgspec.Struct` records whose field types are exactly what the
  importer accepts without comment (integers for ids, four numbers for a
  bbox, ...), so no generic JSON tree is built; numpy columns are then
  gathered from the structs, which are dropped before returning. Record
  fields the structs do not declare are learned from msgspec's "unknown
  field" error and the decode is repeated with them declared as ``Any`` (so
  extra numeric annotation fields survive, and every value is still parsed
  as strictly as orjson does).
* **generic** (fallback): ``orjson`` to dicts and lists, then the same
  column checks with precise messages. Whatever the typed decoder does not
  accept (malformed JSON, a wrong type, a missing field, a float-valued id,
  a 64-bit overflow, too many unknown fields, ...) is decoded again this
  way, which accepts it with the same result or names file, record and
  problem. The typed path only accepts inputs on which both agree, with one
  known exception: an integer too large for a double (over 309 digits) in a
  field detlens ignores is read by msgspec, where orjson rejects the file.

A results list of 64 MB or more is first tried in chunks by the typed decoder,
half of them in a forked process (:mod:`detlens.core.io.coco_chunks`); whatever
that path cannot vouch for is decoded whole as above.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec
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
    from detlens.core.io.coco_chunks import load_results_in_chunks

    disp = display_name(path)
    if role == "predictions":  # a large results list: in chunks, two processes at once (None: decoded whole)
        with no_gc():
            part = load_results_in_chunks(path, disp)
        if part is not None:
            return part
    data = read_bytes(path, disp)
    part = None
    with no_gc():
        decoded = decode_typed(data, role)
        if decoded is not None:
            # the records hold every value now: drop the file's bytes before gathering the columns, so
            # that bytes, records and columns are never all held at once (a third of the peak at 5M)
            del data
            part = typed_part(decoded, disp, role)
            if part is None:  # rare: a value the typed path cannot vouch for; the generic path reads again
                data = read_bytes(path, disp)
    if part is None:
        part = load_generic(data, disp, role)
    return part


def load_generic(data: bytes, disp: str, role: str) -> Part:
    """The generic decoder (orjson to dicts, then columns): the fallback that words every error.

    ``data`` is the file's content, ``disp`` its display name; see :func:`load_coco`.
    """
    with no_gc():
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InputError(disp, f"line {exc.lineno}, column {exc.colno}", f"malformed JSON: {exc.msg}") from None
        kind = type(doc).__name__
        if isinstance(doc, list):
            if role == "labels":
                raise InputError(disp, "file", "a COCO results list (JSON array) cannot be used as labels; give a COCO dataset file")
            part = _results(_Records(doc, disp, "result"), disp)
        elif isinstance(doc, dict):
            part = _dataset_generic(doc, disp, role)
        else:
            part = None
        # free the millions of parsed objects while the collector is still paused:
        # re-enabling it first would make it scan them all once more
        del doc
    if part is None:
        raise InputError(disp, "file", f"expected a JSON object (COCO dataset) or array (results list), got {kind}")
    return part


# ---------------------------------------------------------------- generic columns


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
    return _finite(a.astype(np.float64), key, describe, required)


def _finite(a: np.ndarray, key: str, describe, required: bool) -> np.ndarray:
    """``a`` unless it holds an infinity (or, when ``required``, a NaN)."""
    bad = np.isinf(a) if not required else ~np.isfinite(a)
    if bad.any():
        i = first_bad(bad)
        raise InputError(*describe(i), f"'{key}' must be a finite number, got {a[i].item()}")
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


def _extra_column(vals: list) -> np.ndarray | None:
    """``(N,)`` float64 (NaN for None) when every value is a number or None, else None."""
    if all(v is None or type(v) in _NUM for v in vals):
        return np.array([np.nan if v is None else v for v in vals], np.float64)
    return None


def _extra(recs: list) -> dict[str, np.ndarray]:
    """Numeric non-standard fields, ``(N,)`` float64 with NaN where absent.

    A field counts wherever it appears (the union of all records' keys)."""
    if not recs:
        return {}
    keys = set(recs[0].keys())
    keys = keys.union(*(r.keys() for r in recs if r.keys() != keys))
    out: dict[str, np.ndarray] = {}
    for k in sorted(keys - _STANDARD):
        col = _extra_column([r.get(k) for r in recs])
        if col is not None:
            out[k] = col
    return out


class _Records:
    """Column access to a list of parsed JSON records (dicts, unchecked)."""

    def __init__(self, recs: list, disp: str, what: str):
        self.recs, self.n = recs, len(recs)
        self.describe = _describer(disp, recs, what)

    def ints(self, key: str, required: bool = True, default=None) -> np.ndarray:
        return _ints(self.recs, key, self.describe, required, default)

    def floats(self, key: str, required: bool = True) -> np.ndarray:
        return _floats(self.recs, key, self.describe, required)

    def strs(self, key: str) -> np.ndarray:
        return _strs(self.recs, key, self.describe)

    def bboxes(self) -> np.ndarray:
        return _bboxes(self.recs, self.describe)

    def first_has(self, key: str) -> bool:
        return bool(self.recs) and isinstance(self.recs[0], dict) and key in self.recs[0]

    def extra(self) -> dict[str, np.ndarray]:
        return _extra(self.recs)


# ---------------------------------------------------------------- typed decoding


class _Fallback(Exception):
    """The typed decoder cannot vouch for this input: decode it the generic way."""


_ABSENT = msgspec.UNSET
_EXTRA = "extra_"  # attribute prefix of learned fields (their JSON names go through `rename`)
MAX_LEARNED = 64  # unknown field names learned (one re-decode each) before giving up
_UNKNOWN = re.compile(r"Object contains unknown field `(.*)` - at `\$(.*)`", re.S)
_BBOX = tuple[float, float, float, float]

# Declared fields per record kind: (name, type[, default]). A field typed `float` also takes JSON
# integers (as the generic path does) but never null, booleans or infinities; fields the importer
# does not read are `Any` so that they are parsed (and rejected) exactly as orjson would.
_IGNORED = (Any, None)
_FIELDS: dict[str, list[tuple]] = {
    # a result's other standard fields (id, area, iscrowd, segmentation) are learned when present, so
    # that a file without any "id" costs no scan for ids to quote in messages
    "result": [("image_id", int), ("category_id", int), ("bbox", _BBOX), ("score", float)],
    "annotation": [("image_id", int), ("category_id", int), ("bbox", _BBOX),
                   ("area", float, float("nan")), ("iscrowd", int, 0), ("segmentation", *_IGNORED)],
    "image": [("id", int), ("file_name", str), ("width", float, float("nan")), ("height", float, float("nan")),
              ("license", *_IGNORED), ("coco_url", *_IGNORED), ("flickr_url", *_IGNORED),
              ("date_captured", *_IGNORED)],
    "category": [("id", int), ("name", str), ("supercategory", *_IGNORED)],
    "dataset": [("info", *_IGNORED), ("licenses", *_IGNORED), ("type", *_IGNORED)],
}
# where msgspec reports an unknown field of each record kind
_WHERE = {"result": r"\[\d+\]", "annotation": r"\.annotations\[\d+\]", "image": r"\.images\[\d+\]",
          "category": r"\.categories\[\d+\]", "dataset": ""}


def _struct(kind: str, role: str, learned: tuple[str, ...], extra_fields: list[tuple] = ()) -> type:
    fields = list(_FIELDS[kind]) + list(extra_fields)
    if kind == "annotation":
        # labels need an integer id; predictions may omit it (UNSET); scores only matter for predictions
        fields += [("id", int), ("score", *_IGNORED)] if role == "labels" else \
                  [("id", int | msgspec.UnsetType, _ABSENT), ("score", float)]
    rename = {f"{_EXTRA}{k}": name for k, name in enumerate(learned)}
    fields += [(attr, *_IGNORED) for attr in rename]
    return msgspec.defstruct(f"Coco{kind.title()}", fields, kw_only=True, forbid_unknown_fields=True, gc=False,
                             rename=rename or None)


@lru_cache(maxsize=32)
def _decoder(layout: str, role: str, learned: tuple[tuple[str, tuple[str, ...]], ...]) -> msgspec.json.Decoder:
    """A decoder for a results list or a dataset file, with ``learned`` unknown fields per record kind."""
    by_kind = dict(learned)
    if layout == "result":
        return msgspec.json.Decoder(list[_struct("result", role, by_kind.get("result", ()))])
    parts = {k: _struct(k, role, by_kind.get(k, ())) for k in ("image", "category", "annotation")}
    sections = [("images", list[parts["image"]]), ("categories", list[parts["category"]]),
                ("annotations", list[parts["annotation"]])]
    return msgspec.json.Decoder(_struct("dataset", role, by_kind.get("dataset", ()), sections))


def _decode(data: bytes, layout: str, role: str) -> tuple[Any, dict[str, tuple[str, ...]]]:
    """Typed decode, learning unknown record fields; ``(decoded, learned names per kind)``."""
    learned: dict[str, tuple[str, ...]] = {}
    for _ in range(MAX_LEARNED + 1):
        dec = _decoder(layout, role, tuple(sorted(learned.items())))
        try:
            return dec.decode(data), learned
        except msgspec.ValidationError as exc:
            m = _UNKNOWN.fullmatch(str(exc))
            kind = m and next((k for k, w in _WHERE.items() if re.fullmatch(w, m.group(2))), None)
            if kind is None or m.group(1) in learned.get(kind, ()):
                raise _Fallback from None
            learned[kind] = learned.get(kind, ()) + (m.group(1),)
        except (msgspec.DecodeError, ValueError, RecursionError):  # malformed JSON, invalid UTF-8, nesting
            raise _Fallback from None
    raise _Fallback


def load_typed(data: bytes, disp: str, role: str) -> Part | None:
    """The typed decoder's :class:`Part` for ``data`` (named ``disp``), or None when the generic path must decide.

    Raises :class:`InputError` only for problems both decoders word alike (values, not types).
    """
    decoded = decode_typed(data, role)
    return None if decoded is None else typed_part(decoded, disp, role)


def decode_typed(data: bytes, role: str) -> tuple | None:
    """The typed decode of ``data``: ``(layout, records, learned field names)``, or None when the
    generic path must decide (not JSON, a results list given as labels, invalid UTF-8, a type the
    structs do not accept). See :func:`typed_part`."""
    m = re.compile(rb"[ \t\r\n]*").match(data)
    start = data[m.end():m.end() + 1]
    if start == b"[" and role == "predictions":
        layout = "result"
    elif start == b"{":
        layout = "dataset"
    else:
        return None  # not JSON, or a results list given as labels: the generic path words it
    if not data.isascii():
        try:  # orjson rejects invalid UTF-8 anywhere, msgspec not always: let the generic path word it
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return (layout, *_decode(data, layout, role))
    except _Fallback:
        return None


def typed_part(decoded: tuple, disp: str, role: str) -> Part | None:
    """The :class:`Part` of :func:`decode_typed`'s records (named ``disp``), or None when the generic path
    must decide.

    Raises :class:`InputError` only for problems both decoders word alike (values, not types).
    """
    layout, doc, learned = decoded
    try:
        if layout == "result":
            recs = _Structs(doc, disp, "result", learned.get("result", ()), ids="learned")
            del doc
            return _results(recs, disp)
        ann_ids = "int" if role == "labels" else "optional"
        return _dataset(_Structs(doc.images, disp, "image", (), ids="int"),
                        _Structs(doc.categories, disp, "category", (), ids="int"),
                        _Structs(doc.annotations, disp, "annotation", learned.get("annotation", ()), ids=ann_ids),
                        disp, role)
    except _Fallback:
        return None


def _id_describer(disp: str, ids: list | None, what: str):
    """``describe`` from a list of record ids (None: no id), as :func:`_describer` words it."""
    def describe(i: int) -> tuple[str, str]:
        rid = ids[i] if ids is not None else None
        return disp, f"{what} #{i}" + (f" (id {short(rid, 30)})" if rid is not None else "")

    return describe


class _Structs:
    """Column access to typed records: types are already checked, values still are not.

    ``learned``: JSON names of the learned (``Any``) fields, in attribute order. ``ids`` says how the
    records' ``id`` is kept for messages: ``"int"`` (an int field), ``"optional"`` (int or UNSET) or
    ``"learned"`` (a learned field of any value, None when absent; no ids when never learned).
    ``describe`` keeps only that id list, never the records.
    """

    def __init__(self, recs: list, disp: str, what: str, learned: tuple[str, ...], ids: str):
        self.recs, self.n, self.learned = recs, len(recs), learned
        id_list = None
        if self.n and ids == "optional":
            id_list = [None if v is _ABSENT else v for v in map(attrgetter("id"), recs)]
        elif self.n and ids == "int":
            id_list = list(map(attrgetter("id"), recs))
        elif self.n and "id" in learned:
            id_list = list(self._col(f"{_EXTRA}{learned.index('id')}"))
        if id_list is not None and id_list.count(None) == self.n:
            id_list = None
        self.id_list = id_list
        self.describe = _id_describer(disp, id_list, what)

    def _col(self, key: str):
        return map(attrgetter(key), self.recs)

    def ints(self, key: str, required: bool = True, default=None) -> np.ndarray:
        try:  # UNSET (an optional id missing here but not in record 0) or beyond int64
            return np.fromiter(self._col(key), np.int64, self.n)
        except (TypeError, OverflowError, ValueError):
            raise _Fallback from None

    def floats(self, key: str, required: bool = True) -> np.ndarray:
        return _finite(np.fromiter(self._col(key), np.float64, self.n), key, self.describe, required)

    def strs(self, key: str) -> np.ndarray:
        return np.array(list(self._col(key)), dtype=object).reshape(self.n)

    def bboxes(self) -> np.ndarray:
        a = np.fromiter(chain.from_iterable(self._col("bbox")), np.float64, 4 * self.n).reshape(self.n, 4)
        check_boxes(a, self.describe)
        return a

    def first_has(self, key: str) -> bool:
        return bool(self.recs) and getattr(self.recs[0], key) is not _ABSENT

    def extra(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if not self.n:
            return out
        for k, name in sorted(enumerate(self.learned), key=lambda kn: kn[1]):
            if name in _STANDARD:  # a result's id, area, iscrowd, segmentation: not custom metrics
                continue
            try:
                col = _extra_column(list(self._col(f"{_EXTRA}{k}")))
            except OverflowError:  # an integer beyond a double, which orjson rejects
                raise _Fallback from None
            if col is not None:
                out[name] = col
        return out


# ---------------------------------------------------------------- layouts


def _results(recs: _Records | _Structs, disp: str) -> Part:
    img = recs.ints("image_id")
    cat = recs.ints("category_id")
    boxes = recs.bboxes()
    scores = recs.floats("score")
    return results_part(disp, img, cat, boxes, scores, recs.extra(), recs.describe)


def results_columns(records, disp: str) -> dict | None:
    """A results list (a JSON array in any bytes-like ``records``) decoded by the typed path into checked
    columns: ``{"learned": frozenset of record fields learned, "ids": the records' ids to quote (None: none),
    "img", "cat": (N,) int64, "boxes": (N, 4) float64, "scores": (N,) float64, "extra": {name: (N,) float64}}``;
    None when the typed decoder cannot vouch for it or a value is wrong (the whole file's decode words it)."""
    try:
        doc, learned = _decode(records, "result", "predictions")
        recs = _Structs(doc, disp, "result", learned.get("result", ()), ids="learned")
        del doc
        part = _results(recs, disp)
    except (_Fallback, InputError):
        return None
    return {"learned": frozenset(learned.get("result", ())), "ids": recs.id_list, "img": part.box_img,
            "cat": part.box_cat, "boxes": part.boxes, "scores": part.scores, "extra": part.extra}


def results_describer(disp: str, ids: list | None):
    """``describe`` of a results list whose records have ``ids`` (None: no id to quote)."""
    return _id_describer(disp, ids, "result")


def results_part(disp: str, img: np.ndarray, cat: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                 extra: dict[str, np.ndarray], describe) -> Part:
    """The :class:`Part` of a results list from its checked columns (``(N,)`` int64 image and category ids,
    ``(N, 4)`` float64 boxes, ``(N,)`` float64 scores, extra ``(N,)`` float64 columns by name)."""
    n = scores.shape[0]
    empty_i, empty_o = np.zeros(0, np.int64), np.zeros(0, object)
    return Part(
        file=disp, has_ids=True, results_list=True,
        img_ids=empty_i, img_names=empty_o, img_stems=empty_o, img_w=np.zeros(0), img_h=np.zeros(0),
        cat_ids=empty_i, cat_names=empty_o,
        box_img=img, box_cat=cat, boxes=boxes, scores=scores,
        iscrowd=np.zeros(n, bool), areas=np.full(n, np.nan), ids=None,
        describe=describe, extra=extra,
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


def _dataset_generic(doc: dict, disp: str, role: str) -> Part:
    images = _section(doc, "images", disp)
    cats = _section(doc, "categories", disp)
    anns = _section(doc, "annotations", disp)
    return _dataset(_Records(images, disp, "image"), _Records(cats, disp, "category"),
                    _Records(anns, disp, "annotation"), disp, role)


def _dataset(images, cats, anns, disp: str, role: str) -> Part:
    """The dataset layout from column access to its three sections (:class:`_Records` or :class:`_Structs`)."""
    if not images.n:
        raise InputError(disp, "images", "no images")
    if not cats.n:
        raise InputError(disp, "categories", "no categories")
    d_img, d_cat, d_ann = images.describe, cats.describe, anns.describe

    img_ids = images.ints("id")
    _unique(img_ids, d_img, "image id")
    names = images.strs("file_name")
    w = images.floats("width", required=False)
    h = images.floats("height", required=False)
    for arr, key in ((w, "width"), (h, "height")):
        bad = arr <= 0
        if bad.any():
            i = first_bad(bad)
            raise InputError(*d_img(i), f"{key} must be > 0, got {arr[i]:g}")

    cat_ids = cats.ints("id")
    _unique(cat_ids, d_cat, "category id")
    cat_names = cats.strs("name")
    seen: dict[str, int] = {}
    for i, nm in enumerate(cat_names.tolist()):
        if nm in seen:
            raise InputError(*d_cat(i), f"duplicate category name {nm!r} (first at #{seen[nm]})")
        seen[nm] = i

    ann_ids = None  # predictions without ids get 1..N, like pycocotools loadRes
    if role == "labels" or anns.first_has("id"):
        ann_ids = anns.ints("id")
        _unique(ann_ids, d_ann, "annotation id")
    box_img = _refs(anns.ints("image_id"), img_ids, d_ann, "image_id", "images")
    box_cat = _refs(anns.ints("category_id"), cat_ids, d_ann, "category_id", "categories")
    boxes = anns.bboxes()
    areas = anns.floats("area", required=False)
    crowd = anns.ints("iscrowd", required=False, default=0)
    bad = (crowd != 0) & (crowd != 1)
    if bad.any():
        i = first_bad(bad)
        raise InputError(*d_ann(i), f"iscrowd must be 0 or 1, got {crowd[i]}")
    scores = anns.floats("score") if role == "predictions" else None
    return Part(
        file=disp, has_ids=True, results_list=False,
        img_ids=img_ids, img_names=names,
        img_stems=np.array([stem_of(n) for n in names.tolist()], dtype=object).reshape(len(names)),
        img_w=w, img_h=h, cat_ids=cat_ids, cat_names=cat_names,
        box_img=box_img, box_cat=box_cat, boxes=boxes, scores=scores,
        iscrowd=crowd.astype(bool), areas=areas, ids=ann_ids,
        describe=d_ann, extra=anns.extra(),
    )


def _unique(ids: np.ndarray, describe, what: str) -> None:
    if ids.size < 2:
        return
    u, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts > 1).any():
        v = u[counts > 1][0]
        where = np.flatnonzero(ids == v)
        raise InputError(*describe(int(where[1])), f"duplicate {what} {v} (first at #{int(where[0])})")
