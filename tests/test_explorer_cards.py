"""Thumbnail cards: the object as a box element, the image's other objects as one SVG picture over the same frame,
the caption in few elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest

from detlens.layouts.explorer_cards import faint_boxes, thumbnail_card

SVG = "{http://www.w3.org/2000/svg}"


def box(row: int, xywh, kind="prediction", outcome="TP") -> dict:
    return {"row": row, "kind": kind, "class": "cat", "outcome": outcome, "reason": None, "box": list(xywh),
            "score": 0.5 if kind == "prediction" else None}


def svg_of(uri: str) -> ET.Element:
    prefix = "data:image/svg+xml,"
    assert uri.startswith(prefix)
    return ET.fromstring(unquote(uri[len(prefix):]))


def overlay_of(frame) -> str:
    """The URI of a frame's ``--overlay`` picture (``url("...")``)."""
    value = frame.style["--overlay"]
    assert value.startswith('url("') and value.endswith('")') and '"' not in value[5:-2]
    return value[5:-2]


def elements(component) -> int:
    """The Dash components in a tree (what the browser's renderer mounts one by one)."""
    children = getattr(component, "children", None)
    children = children if isinstance(children, list) else [children]
    return 1 + sum(elements(c) for c in children if hasattr(c, "to_plotly_json"))


@pytest.mark.parametrize("width, height", [(640, 480), (1, 1), (1920.5, 1080)])
def test_faint_boxes_are_one_svg_in_the_frames_coordinates(width, height):
    others = [box(1, (10, 20, 30, 40)), box(2, (0.5, 0, 1e3, 2.25), kind="label", outcome="FN"),
              box(3, (5, 5, 1, 1), kind="label", outcome="TP")]
    svg = svg_of(faint_boxes(others, width, height))
    assert svg.get("viewBox") == f"0 0 {width:g} {height:g}" and svg.get("preserveAspectRatio") == "none"
    rects = svg.findall(f".//{SVG}rect")
    assert [[float(r.get(k)) for k in ("x", "y", "width", "height")] for r in rects] == [b["box"] for b in others]
    # a missed label dashed, a detected label dashed, a TP prediction solid, as the box elements draw them
    assert [r.get("stroke-dasharray") for r in rects] == [None, "3 2", "3 2"]


def test_a_card_draws_its_object_as_an_element_and_the_others_as_one_picture():
    item = box(7, (100, 100, 50, 50)) | {"image_index": 0, "width": 640, "height": 480, "iou": 0.7, "value": None,
                                         "others": [box(i, (i, i, 10, 10)) for i in range(40)]}
    card = thumbnail_card(item, "/images/k/0/thumb.jpg?size=256", "Brightness (F)", "0.42")
    frame, caption = card.children
    picture, selected = frame.children
    assert picture.src == "/images/k/0/thumb.jpg?size=256"
    assert len(svg_of(overlay_of(frame)).findall(f".//{SVG}rect")) == 40
    assert selected.className == "explorer-box" and getattr(selected, "data-row") == "7"
    outcome, lines = caption.children
    assert outcome.children == "TP" and lines.split("\n") == [" cat", "Brightness (F): 0.42", "conf 0.50 · IoU 0.70"]
    assert elements(card) == 6  # card, frame, image, box, caption, outcome: not one per box or caption part
    alone = thumbnail_card(item | {"others": []}, None, None, None)
    assert "--overlay" not in alone.children[0].style  # no empty overlay
    assert alone.children[1].children[1].split("\n") == [" cat", "conf 0.50 · IoU 0.70"]
