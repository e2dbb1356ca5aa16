"""Explorer components built from small dicts: images with their boxes, thumbnail cards, the detail view.

Boxes are HTML elements positioned in percent of the image frame, laid over an
``<img>`` stretched to the same frame (CSS ``aspect-ratio`` = the dataset's
width : height). A box ``[x, y, w, h]`` therefore covers exactly its pixels at
any displayed size and aspect ratio, whatever size the served file has. A
thumbnail's faint boxes (the image's other objects) are one SVG picture stretched
over the same frame, its ``viewBox`` the frame's size: the same geometry. A thumbnail card draws its object
the same way (:func:`selected_box`), so that a card is one component (:func:`thumbnail_card`).

In compare mode a box dict has a ``run`` ("A", "B", "" for a shared label): run B's
predictions are drawn with a double border (:data:`RUN_B_BORDER`), and as light
blue long dashes among the faint boxes, so both runs' boxes tell apart on one image.
"""

from __future__ import annotations

import math

import dash_bootstrap_components as dbc
from dash import html

from detlens.core.vocabulary import CompareGroup, FPReason, ObjectKind, Outcome, OutcomeGroup, RunSide
from detlens.layouts import ids

# (colour, border style) per outcome group
BOX_STYLES = {OutcomeGroup.TP: ("#15a150", "solid"), OutcomeGroup.FP: ("#e03131", "solid"),
              OutcomeGroup.FN: ("#f08c00", "dashed"), OutcomeGroup.DETECTED: ("#1c7ed6", "dashed"),
              OutcomeGroup.IGNORED: ("#868e96", "dotted")}


RUN_B_BORDER = "double"  # run B's predictions in compare mode (run A's keep their outcome's border)
RUN_B_FAINT = ("#74c0fc", "6 3")  # run B's faint boxes: stroke colour and dashes (screen pixels)


RUN_B = RunSide.B.value  # read once: an enum member's value is a property, and a page asks for ~1,000 boxes


def is_run_b(box: dict) -> bool:
    """True for a box of run B in compare mode."""
    return box.get("run") == RUN_B


def group_of(box: dict) -> OutcomeGroup:
    """Outcome group of a box dict: TP, FP, FN, detected (a found label) or ignored."""
    if box["kind"] == ObjectKind.LABEL and box["outcome"] == Outcome.TP:
        return OutcomeGroup.DETECTED
    return OutcomeGroup(box["outcome"]) if box["outcome"] in BOX_STYLES else OutcomeGroup.IGNORED


def outcome_text(box: dict) -> str:
    """What a box is, in words: "TP", "FP · duplicate", "FN (missed label)", "detected label", "ignored"."""
    group = group_of(box)
    if group == OutcomeGroup.FP and box.get("reason") in set(FPReason):
        return OutcomeGroup.of_reason(box["reason"]).label
    return group.label


def frame_size(width: float | None, height: float | None, boxes: list[dict]) -> tuple[float, float]:
    """The image's size, or (unknown size) the extent of its boxes."""
    if width and height and not (math.isnan(width) or math.isnan(height)):
        return float(width), float(height)
    right = max((b["box"][0] + b["box"][2] for b in boxes), default=1.0)
    bottom = max((b["box"][1] + b["box"][3] for b in boxes), default=1.0)
    return max(right, 1.0), max(bottom, 1.0)


def box_element(box: dict, width: float, height: float, tag: str | None = None, thick: bool = False) -> html.Div:
    """One box positioned in percent of a ``width x height`` frame (``data-row`` = the object's row)."""
    x, y, w, h = box["box"]
    color, line = BOX_STYLES[group_of(box)]
    run_b = is_run_b(box)
    style = {"left": f"{100 * x / width:.4f}%", "top": f"{100 * y / height:.4f}%",
             "width": f"{100 * w / width:.4f}%", "height": f"{100 * h / height:.4f}%",
             "borderColor": color, "borderStyle": RUN_B_BORDER if run_b else line,
             "borderWidth": "4px" if run_b else "3px" if thick else "2px"}
    if thick:  # the object the card or the detail is about: a halo so small boxes stand out
        style["boxShadow"] = f"0 0 0 1px #fff, 0 0 8px 3px {color}"
    children = [html.Span(tag, className="explorer-tag", style={"backgroundColor": color})] if tag else []
    return html.Div(children, className="explorer-box", style=style,
                    **{"data-row": str(box["row"]), "data-group": group_of(box), "data-run": box.get("run", ""),
                       "data-box": ",".join(f"{v:g}" for v in box["box"])})


# what must be escaped in a data: URI inside CSS url("..."), "%" first: one str.replace per character is
# several times faster than str.translate (a Python-level lookup per character) on a card's 5-10 kB
DATA_URI_ESCAPES = tuple((c, f"%{ord(c):02X}") for c in '%#"<>\'\n\r\t ')


def svg_uri(svg: str) -> str:
    """``svg`` as a ``data:`` URI for an image or a CSS ``url("...")``."""
    for character, escaped in DATA_URI_ESCAPES:
        svg = svg.replace(character, escaped)
    return "data:image/svg+xml," + svg


FAINT_DASHES = {"solid": None, "dashed": "3 2", "dotted": "1 2"}  # screen pixels (non-scaling strokes)


def faint_boxes(boxes: list[dict], width: float, height: float) -> str:
    """The faint boxes of a thumbnail as the ``data:`` URI of one SVG image over the frame (``viewBox`` = the
    ``width x height`` frame, stretched like the image).

    No element per box: at 500k predictions a page of 24 cards drew up to 960 faint boxes, and the browser's
    Dash renderer revisits every mounted component on each update. Each line style is one ``<path>`` of a
    subpath per box (``M x y h w v h h -w z``, drawn from the box's top-left corner clockwise): a quarter of
    the bytes of a ``<rect>`` per box, and one element for the browser to parse and stroke.
    """
    paths: dict[tuple[bool, str | None], list[str]] = {}  # (is run B's, dashes) -> subpaths, in box order
    for box in boxes:
        x, y, w, h = box["box"]
        run_b = is_run_b(box)
        dash = RUN_B_FAINT[1] if run_b else FAINT_DASHES[BOX_STYLES[group_of(box)][1]]
        paths.setdefault((run_b, dash), []).append(f"M{x:g} {y:g}h{w:g}v{h:g}h{-w:g}z")

    def group(run_b: bool) -> str:
        return "".join(f'<path d="{"".join(d)}" vector-effect="non-scaling-stroke"'
                       + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"
                       for (b, dash), d in paths.items() if b == run_b)
    run_b = (f'<g fill="none" stroke="{RUN_B_FAINT[0]}" stroke-opacity="0.8" stroke-width="1">{group(True)}'
             "</g>") if any(b for b, _ in paths) else ""
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
           f'preserveAspectRatio="none"><g fill="none" stroke="#fff" stroke-opacity="0.47" stroke-width="1">'
           f'{group(False)}</g>{run_b}</svg>')
    return svg_uri(svg)


def annotated_image(src: str | None, width: float, height: float, boxes: list, alt: str) -> html.Div:
    """An image (or a grey frame when ``src`` is None) with ``boxes`` (already built) laid over it."""
    picture = (html.Img(src=src, alt=alt, className="explorer-img", draggable="false") if src
               else html.Div(className="explorer-img explorer-placeholder"))
    return html.Div([picture, *boxes], className="explorer-frame", style={"aspectRatio": f"{width} / {height}"})


def _number(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "–"
    return f"{x:.{digits}f}" if abs(x) < 1000 else f"{x:,.0f}"


SELECTED_DASHES = {"solid": None, "dashed": "7 4", "dotted": "2 3"}  # the card's object: screen pixels


def selected_box(box: dict, width: float, height: float) -> str:
    """The object a thumbnail is about, as the ``data:`` URI of an SVG image over its ``width x height`` frame:
    its outcome's colour and line (run B's with a double line) on a white halo, strokes in screen pixels."""
    x, y, w, h = box["box"]
    color, line = BOX_STYLES[group_of(box)]
    rect = f'x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" vector-effect="non-scaling-stroke"'
    dash, width_px = (None, 5) if is_run_b(box) else (SELECTED_DASHES[line], 3)
    blur = 0.008 * max(width, height)  # a soft glow of a few screen pixels at thumbnail size
    strokes = [f'<rect {rect} stroke="{color}" stroke-opacity="0.8" stroke-width="{width_px + 4}" filter="url(#glow)"/>',
               f'<rect {rect} stroke="#fff" stroke-width="{width_px + 2}"/>',
               f'<rect {rect} stroke="{color}" stroke-width="{width_px}"'
               + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"]
    if is_run_b(box):  # a double line, as the box elements draw run B's
        strokes.append(f'<rect {rect} stroke="#fff" stroke-width="1.5"/>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
           f'preserveAspectRatio="none"><filter id="glow" x="-50%" y="-50%" width="200%" height="200%">'
           f'<feGaussianBlur stdDeviation="{blur:.3g}"/></filter><g fill="none">{"".join(strokes)}</g></svg>')
    return svg_uri(svg)


def thumbnail_card(item: dict, src: str | None, value_name: str | None, value_text: str | None) -> html.Div:
    """A clickable card: the object's box on its image (the image's other objects faint) and a caption.

    One Dash component: the browser's Dash renderer sends its store one action for every component it mounts,
    and each action revisits every mounted component (a page of 24 cards at 6 components each spent 0.4 s
    on those actions alone). The picture is the card's ``::before`` (``explorer.css``), its layers the
    card's ``--pictures``: the object's box (:func:`selected_box`), the faint boxes (:func:`faint_boxes`)
    and the thumbnail, stretched over a frame of the image's aspect ratio (``--aspect``); the caption is the
    card's text, its first line (outcome and class) in the outcome's colour (``--outcome``).

    Args:
        item: a row of an Explorer page (``ExplorerQueries.page``).
        src: thumbnail URL, or None for a grey frame (no image folder).
        value_name, value_text: the sort metric's name and formatted value, or None.
    """
    width, height = frame_size(item["width"], item["height"], [item, *item["others"]])
    layers = [selected_box(item, width, height)]
    if item["others"]:
        layers.append(faint_boxes(item["others"], width, height))
    if src:
        layers.append(src)
    facts = [f"conf {_number(item['score'])}" if item["score"] is not None else "label",
             f"IoU {_number(item['iou'])}"]
    if "run" in item:  # compare mode: whose object, and how it changed
        facts.insert(0, f"run {item['run']}" if item["run"] else f"B: {item['outcome_b'] or '–'}")
        if item.get("change"):
            facts.insert(0, CompareGroup(item["change"]).label)
    heading = f"{outcome_text(item)} {item['class']}"
    lines = [heading, f"{value_name}: {value_text}" if value_name else None, " · ".join(facts)]
    style = {"--aspect": f"{width:g} / {height:g}", "--pictures": ", ".join(f'url("{uri}")' for uri in layers),
             "--outcome": BOX_STYLES[group_of(item)][0]}
    return html.Div("\n".join(line for line in lines if line is not None),
                    id={"type": ids.EXPLORER_THUMB, "row": item["row"]}, n_clicks=0, style=style, role="button",
                    className="explorer-card" if src else "explorer-card explorer-card-blank",
                    title="Open the image", **{"aria-label": f"{heading}: open the image",
                                               "data-group": group_of(item)})


def _metric_table(title: str, values: dict, fmt) -> dbc.Col:
    rows = [html.Tr([html.Td(name, className="text-muted"), html.Td(fmt(name, v), className="text-end")])
            for name, v in values.items()]
    return html.Div([html.Div(title, className="fw-semibold mb-1"),
                     dbc.Table(html.Tbody(rows), size="sm", className="explorer-metrics mb-3")])


def detail_view(doc: dict, src: str | None, fmt) -> html.Div:
    """The full image with every label and prediction, and every metric of the object and of the image.

    Args:
        doc: an object's detail (``ExplorerQueries.detail``).
        src: full-image URL, or None for a grey frame.
        fmt: ``fmt(metric name, value) -> str``.
    """
    obj = doc["object"]
    width, height = frame_size(doc["width"], doc["height"], doc["boxes"])
    boxes = []
    for b in doc["boxes"]:
        selected = b["row"] == obj["row"]
        score = "" if b["score"] is None else f" {b['score']:.2f}"
        boxes.append(box_element(b, width, height, tag=f"{outcome_text(b)} · {b['class']}{score}" if selected
                                 else None, thick=selected))
    legend = [html.Span([html.Span(className="explorer-swatch", style={"borderColor": c, "borderStyle": s}), name],
                        className="me-3") for name, (c, s) in
              (("TP prediction", BOX_STYLES[OutcomeGroup.TP]), ("FP prediction", BOX_STYLES[OutcomeGroup.FP]),
               ("missed label (FN)", BOX_STYLES[OutcomeGroup.FN]),
               ("detected label", BOX_STYLES[OutcomeGroup.DETECTED]), ("ignored", BOX_STYLES[OutcomeGroup.IGNORED]))]
    if "runs" in doc:  # compare mode: which run drew which prediction
        legend.append(html.Span([html.Span(className="explorer-swatch", style={
            "borderColor": "#495057", "borderStyle": RUN_B_BORDER, "borderWidth": "4px"}),
            f"prediction of run B ({doc['runs'][1]}); run A ({doc['runs'][0]}): single border"],
            className="me-3 explorer-run-legend"))
    ids_line = (f"{obj['kind']} id {obj['object_id']} · image id {obj['image_id']} · "
                f"{'matched id ' + str(obj['matched_id']) if obj['matched_id'] >= 0 else 'no match'}")
    return dbc.Row([
        dbc.Col(lg=8, children=[
            annotated_image(src, width, height, boxes, doc["file_name"]),
            html.Div(legend, className="small text-muted mt-2"),
            html.Div(f"{len(doc['boxes'])} boxes: {sum(b['kind'] == 'label' for b in doc['boxes'])} labels, "
                     f"{sum(b['kind'] == 'prediction' for b in doc['boxes'])} predictions", className="small mt-1"),
        ]),
        dbc.Col(lg=4, className="explorer-detail-side", children=[
            html.Div([html.Span(outcome_text(obj), className="explorer-outcome me-2",
                                style={"color": BOX_STYLES[group_of(obj)][0]}),
                      html.Span(obj["class"], className="fw-semibold")], className="fs-5"),
            html.Div(ids_line, className="small text-muted mb-3"),
            _metric_table("Object", doc["object_metrics"], fmt),
            _metric_table("Image", doc["image_metrics"], fmt),
        ]),
    ])
