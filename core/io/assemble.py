"""Assembly of importer :class:`~detlens.core.io.common.Part` s into one validated
:class:`~detlens.core.dataset.Dataset`: id matching, clipping and the content fingerprint.

Assembly rules (labels ``L``, predictions ``P``):

* ``L`` with source ids (COCO): images and categories are exactly ``L``'s,
  ordered by ascending id. A COCO results list refers to them by id (unknown
  id -> :class:`InputError`). A COCO dataset-style predictions file is matched
  by id when its images/categories agree with ``L`` (same id -> same
  file_name / name); otherwise by image ``file_name`` and category ``name``,
  with a warning. Folder predictions are matched by file stem and class name.
  Anything that does not match is an :class:`InputError`.
* ``L`` without ids (VOC, YOLO, txt folders): the image set is the union of
  label and prediction images (matched by file stem), sorted by file name,
  ids 1..n. Categories are the union of class names, in names-file order when
  a names file is known (other names appended sorted), else sorted by name;
  ids 1..C. A COCO *results list* cannot be matched to such labels (error).
* Folder predictions against COCO labels: when no predicted class is a label
  category, the error suggests names files (:func:`~detlens.core.io.checks.check_class_names`).
* Boxes extending beyond a known image size are clipped (one warning with the
  count); a box entirely outside its image is an :class:`InputError`.
"""

from __future__ import annotations

import hashlib

import numpy as np

from detlens.core.dataset import BoxTable, Dataset, ImageTable
from detlens.core.io.checks import check_class_names
from detlens.core.io.common import CLIP_NOISE, Describe, Part, first_bad, stem_of
from detlens.core.io.errors import InputError


def _canon_categories(names: list[str], order: list[str] | None) -> list[str]:
    if order is None:
        if names and all(n.lstrip("-").isdigit() for n in names):
            return sorted(set(names), key=int)
        return sorted(set(names))
    known = set(order)
    return list(order) + sorted(set(n for n in names if n not in known))


def _map_ids(refs: np.ndarray, sorted_ids: np.ndarray, describe: Describe, what: str, against: str) -> np.ndarray:
    """Map raw source ids ``refs`` to positions in ascending ``sorted_ids``."""
    if refs.shape[0] == 0:
        return refs.astype(np.int64)
    n = len(sorted_ids)
    if n and sorted_ids[0] >= 0 and sorted_ids[-1] < 4 * len(refs) + 1024:
        # dense non-negative ids (the usual 1..n): one table lookup per reference, not a binary search
        top = int(sorted_ids[-1])
        lut = np.full(top + 1, -1, np.int64)
        lut[sorted_ids] = np.arange(n)
        inside = (refs >= 0) & (refs <= top)
        pos_c = lut[np.where(inside, refs, 0)]
        ok = inside & (pos_c >= 0)
    else:
        pos = np.searchsorted(sorted_ids, refs)
        pos_c = np.minimum(pos, max(n - 1, 0))
        ok = (pos < n) & (sorted_ids[pos_c] == refs) if n else np.zeros(len(refs), bool)
    if not ok.all():
        i = first_bad(~ok)
        raise InputError(*describe(i), f"{what} {refs[i]} is not in {against}")
    return pos_c.astype(np.int64, copy=False)


def assemble(name: str, lab: Part, pred: Part | None, names_order: list[str] | None = None, *, clip: bool = True) -> Dataset:
    """Merge a labels part and an optional predictions part into a :class:`Dataset`.

    See the module docstring for the matching rules; ``clip=False`` keeps
    boxes that stick out of their image unchanged (pycocotools does not clip;
    a box entirely outside is still an error). Raises :class:`InputError`.
    """
    warnings: list[str] = list(lab.warnings) + (list(pred.warnings) if pred else [])
    order = names_order or lab.names_order or (pred.names_order if pred else None)
    if lab.has_ids:
        io = np.argsort(lab.img_ids, kind="stable")
        co = np.argsort(lab.cat_ids, kind="stable")
        img_ids, cat_ids = lab.img_ids[io], lab.cat_ids[co]
        names = lab.img_names[io]
        widths, heights = lab.img_w[io], lab.img_h[io]
        cat_names = lab.cat_names[co]
        img_pos = np.empty_like(io)
        img_pos[io] = np.arange(len(io))
        cat_pos = np.empty_like(co)
        cat_pos[co] = np.arange(len(co))
        lab_img, lab_cat = img_pos[lab.box_img], cat_pos[lab.box_cat]
        pred_img = pred_cat = None
        if pred is not None:
            if pred.results_list:
                pred_img = _map_ids(pred.box_img, img_ids, pred.describe, "image_id", f"the images of {lab.file}")
                pred_cat = _map_ids(pred.box_cat, cat_ids, pred.describe, "category_id", f"the categories of {lab.file}")
            else:
                pred_img, pred_cat = _match_named(lab, pred, img_pos, cat_pos, warnings)
    else:
        if pred is not None and pred.results_list:
            raise InputError(pred.file, "file", f"a COCO results list refers to image ids, but the labels ({lab.file}) have none; use COCO labels")
        parts = [lab] + ([pred] if pred is not None else [])
        stems: dict[str, tuple[str, float, float]] = {}
        for p in parts:
            for s, n, w, h in zip(p.img_stems.tolist(), p.img_names.tolist(), p.img_w.tolist(), p.img_h.tolist()):
                if s not in stems or (np.isnan(stems[s][1]) and not np.isnan(w)):
                    stems[s] = (n, w, h)
        items = sorted(stems.items(), key=lambda kv: (kv[1][0], kv[0]))
        stem_pos = {s: i for i, (s, _) in enumerate(items)}
        names = np.array([v[0] for _, v in items], dtype=object)
        widths = np.array([v[1] for _, v in items], np.float64)
        heights = np.array([v[2] for _, v in items], np.float64)
        img_ids = np.arange(1, len(items) + 1, dtype=np.int64)
        all_names = [n for p in parts for n in p.cat_names.tolist()]
        cat_list = _canon_categories(all_names, order)
        cat_names = np.array(cat_list, dtype=object)
        cat_ids = np.arange(1, len(cat_list) + 1, dtype=np.int64)
        cpos = {n: i for i, n in enumerate(cat_list)}

        def local(p: Part) -> tuple[np.ndarray, np.ndarray]:
            ip = np.array([stem_pos[s] for s in p.img_stems.tolist()], np.int64)
            cp = np.array([cpos[n] for n in p.cat_names.tolist()], np.int64)
            return ip[p.box_img] if len(ip) else p.box_img, cp[p.box_cat] if len(cp) else p.box_cat

        lab_img, lab_cat = local(lab)
        pred_img, pred_cat = local(pred) if pred is not None else (None, None)

    images = ImageTable(ids=img_ids, file_names=names, widths=widths, heights=heights)
    n_clip = 0
    labels, k = _table(lab, lab_img, lab_cat, widths, heights, is_pred=False, clip=clip)
    n_clip += k
    if pred is not None:
        predictions, k = _table(pred, pred_img, pred_cat, widths, heights, is_pred=True, clip=clip)
        n_clip += k
    else:
        predictions = BoxTable.empty()
    if n_clip:
        what = "1 box extends beyond its image and was" if n_clip == 1 else f"{n_clip} boxes extend beyond their image and were"
        warnings.append(f"{what} clipped (pycocotools does not clip, so its numbers may differ; --no-clip keeps boxes as given)")
    if lab.has_ids and len(labels) and (labels.ids == 0).any():
        warnings.append(f"{lab.file} has a label with annotation id 0: pycocotools counts a match to it as a false "
                        "positive (ids double as match markers there); detlens counts it as a true positive")
    fp = compute_fingerprint(images, cat_ids, cat_names, labels, predictions)
    return Dataset(
        name=name,
        images=images,
        category_ids=cat_ids,
        category_names=cat_names,
        labels=labels,
        predictions=predictions,
        warnings=tuple(warnings),
        fingerprint=fp,
    )


def _match_named(lab: Part, pred: Part, img_pos: np.ndarray, cat_pos: np.ndarray, warnings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Predictions with their own images/categories against COCO labels."""
    lab_by_id = dict(zip(lab.img_ids.tolist(), lab.img_names.tolist()))
    cat_by_id = dict(zip(lab.cat_ids.tolist(), lab.cat_names.tolist()))
    same = (
        pred.has_ids
        and all(lab_by_id.get(i) == n for i, n in zip(pred.img_ids.tolist(), pred.img_names.tolist()))
        and all(cat_by_id.get(i) == n for i, n in zip(pred.cat_ids.tolist(), pred.cat_names.tolist()))
    )
    if same:
        id_pos = {i: k for k, i in enumerate(lab.img_ids.tolist())}
        cid_pos = {i: k for k, i in enumerate(lab.cat_ids.tolist())}
        ip = np.array([img_pos[id_pos[i]] for i in pred.img_ids.tolist()], np.int64)
        cp = np.array([cat_pos[cid_pos[i]] for i in pred.cat_ids.tolist()], np.int64)
    else:
        if pred.has_ids:
            key_l, key_p = lab.img_names, pred.img_names
        else:
            # raises when no predicted class is a label category (class ids against names); any other
            # unknown category is the error below
            check_class_names(lab.cat_names, pred.cat_names[pred.box_cat], lab.file, pred.file)
            key_l, key_p = np.array([stem_of(n) for n in lab.img_names], object), pred.img_stems
        table: dict[str, int] = {}
        for k, s in enumerate(key_l.tolist()):
            table.setdefault(s, int(img_pos[k]))
        ctable = {n: int(cat_pos[k]) for k, n in enumerate(lab.cat_names.tolist())}
        ip = np.array([table.get(s, -1) for s in key_p.tolist()], np.int64)
        cp = np.array([ctable.get(n, -1) for n in pred.cat_names.tolist()], np.int64)
        if pred.has_ids:
            warnings.append(
                f"{pred.file} uses its own image and category ids; matched to {lab.file} by image file_name and category name"
            )
    bi = ip[pred.box_img] if len(ip) else pred.box_img
    bc = cp[pred.box_cat] if len(cp) else pred.box_cat
    if (bi < 0).any():
        i = first_bad(bi < 0)
        raise InputError(*pred.describe(i), f"image {pred.img_names[pred.box_img[i]]!r} is not an image of {lab.file}")
    if (bc < 0).any():
        i = first_bad(bc < 0)
        raise InputError(*pred.describe(i), f"category {pred.cat_names[pred.box_cat[i]]!r} is not a category of {lab.file}")
    return bi, bc


def _table(p: Part, img: np.ndarray, cat: np.ndarray, widths: np.ndarray, heights: np.ndarray, *, is_pred: bool, clip: bool) -> tuple[BoxTable, int]:
    boxes, n_clip = clip_boxes(p.boxes, img, widths, heights, p.describe)
    if not clip:
        boxes, n_clip = p.boxes, 0
    n = boxes.shape[0]
    wh = boxes[:, 2] * boxes[:, 3]
    if is_pred:
        areas = wh  # pycocotools loadRes: area = w * h
        scores = p.scores if p.scores is not None else np.ones(n)
        iscrowd = np.zeros(n, bool)
    else:
        areas = np.where(np.isnan(p.areas), wh, p.areas)
        scores = np.ones(n)
        iscrowd = p.iscrowd
    ids = p.ids if p.ids is not None else np.arange(1, n + 1, dtype=np.int64)
    return (
        BoxTable(
            ids=ids.astype(np.int64, copy=False),
            image_index=img.astype(np.int64, copy=False),
            category_index=cat.astype(np.int64, copy=False),
            boxes=boxes,
            scores=scores.astype(np.float64, copy=False),
            iscrowd=iscrowd.astype(bool, copy=False),
            areas=areas.astype(np.float64, copy=False),
            extra=dict(p.extra),
        ),
        n_clip,
    )


def clip_boxes(boxes: np.ndarray, img: np.ndarray, widths: np.ndarray, heights: np.ndarray, describe: Describe) -> tuple[np.ndarray, int]:
    """Clip ``(N, 4)`` ``[x, y, w, h]`` boxes to their image ``[0, W] x [0, H]``.

    Only rows that stick out are recomputed (others keep their exact bits);
    images of unknown size (NaN) are not clipped.

    Returns:
        ``(boxes, n_clipped)``: the ``(N, 4)`` float64 boxes (a copy when any
        changed) and the number that stuck out by more than ``CLIP_NOISE``
        pixels (smaller excesses are rounding noise, e.g. YOLO's 6 decimals,
        and are clipped without being counted).

    Raises:
        InputError: a box lying entirely outside its image.
    """
    if boxes.shape[0] == 0:
        return boxes, 0
    W, H = widths[img], heights[img]
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    with np.errstate(invalid="ignore"):
        out = (x1 < 0) | (y1 < 0) | (x2 > W) | (y2 > H)
    if not out.any():
        return boxes, 0
    idx = np.flatnonzero(out)
    cx1 = np.maximum(x1[idx], 0)
    cy1 = np.maximum(y1[idx], 0)
    cx2 = np.minimum(x2[idx], W[idx])
    cy2 = np.minimum(y2[idx], H[idx])
    outside = (cx2 <= cx1) | (cy2 <= cy1)
    if outside.any():
        i = int(idx[first_bad(outside)])
        raise InputError(
            *describe(i),
            f"box [x={x1[i]:g}, y={y1[i]:g}, w={boxes[i, 2]:g}, h={boxes[i, 3]:g}] lies entirely outside its "
            f"{W[i]:g}x{H[i]:g} image",
        )
    res = boxes.copy()
    res[idx] = np.stack([cx1, cy1, cx2 - cx1, cy2 - cy1], axis=1)
    excess = np.maximum.reduce([-x1[idx], -y1[idx], x2[idx] - W[idx], y2[idx] - H[idx]])
    return res, int((excess > CLIP_NOISE).sum())


def compute_fingerprint(images: ImageTable, category_ids: np.ndarray, category_names: np.ndarray, labels: BoxTable,
                        predictions: BoxTable | None) -> str:
    """SHA-256 hex digest over all content arrays (images, categories, both box tables).

    ``predictions`` None hashes what the dataset's runs share (images, categories,
    labels); that digest never equals a whole dataset's. Numeric arrays are hashed as
    raw bytes (with shape and dtype), strings as NUL-joined UTF-8; cost is linear and
    dominated by memory bandwidth.
    """
    h = hashlib.sha256()

    def arr(a: np.ndarray) -> None:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data if a.size else b"")  # the raw bytes, without a tobytes() copy

    def strs(a: np.ndarray) -> None:
        h.update(f"s{len(a)}".encode())
        h.update("\0".join(map(str, a.tolist())).encode("utf-8", "surrogatepass"))

    arr(images.ids)
    strs(images.file_names)
    arr(images.widths)
    arr(images.heights)
    arr(category_ids)
    strs(category_names)
    if predictions is None:
        h.update(b"labels only")
    for t in (labels,) if predictions is None else (labels, predictions):
        for a in (t.ids, t.image_index, t.category_index, t.boxes, t.scores, t.iscrowd, t.areas):
            arr(a)
        for k in sorted(t.extra):
            h.update(k.encode())
            arr(t.extra[k])
    return h.hexdigest()
