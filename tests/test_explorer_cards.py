"""Thumbnail cards: one component each, its pictures (the object's box, the image's other objects, the thumbnail)
layers of its frame, its caption its text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest

from detlens.core.vocabulary import FPReason, OutcomeGroup
from detlens.layouts import ids
from detlens.layouts.explorer_cards import BOX_STYLES, RUN_B_FAINT, faint_boxes, selected_box, thumbnail_card

SVG = "{http://www.w3.org/2000/svg}"


def box(row: int, xywh, kind="prediction", outcome="TP") -> dict:
    return {"row": row, "kind": kind, "class": "cat", "outcome": outcome, "reason": None, "box": list(xywh),
            "score": 0.5 if kind == "prediction" else None}


def svg_of(uri: str) -> ET.Element:
    prefix = "data:image/svg+xml,"
    assert uri.startswith(prefix)
    return ET.fromstring(unquote(uri[len(prefix):]))


def layers_of(card) -> list[str]:
    """The URIs of a card's ``--pictures`` layers (``url("...")``, top first)."""
    value = card.style["--pictures"]
    uris = re.findall(r'url\("([^"]*)"\)', value)
    assert ", ".join(f'url("{u}")' for u in uris) == value  # nothing else, no quote inside a URI
    return uris


def elements(component) -> int:
    """The Dash components in a tree (what the browser's renderer mounts one by one)."""
    children = getattr(component, "children", None)
    children = children if isinstance(children, list) else [children]
    return 1 + sum(elements(c) for c in children if hasattr(c, "to_plotly_json"))


NUMBER = r"([-+.\deE]+)"
SUBPATH = re.compile(f"M{NUMBER} {NUMBER}h{NUMBER}v{NUMBER}h{NUMBER}z")


def drawn_boxes(svg: ET.Element) -> list[tuple[list[float], str | None, str]]:
    """Every box the faint boxes' paths draw: ``([x, y, w, h], dashes, the group's stroke colour)``."""
    out = []
    for group in svg.findall(f"{SVG}g"):
        for path in group.findall(f"{SVG}path"):
            assert path.get("vector-effect") == "non-scaling-stroke"
            d, parts = path.get("d"), SUBPATH.findall(path.get("d"))
            assert "".join(f"M{x} {y}h{w}v{h}h{back}z" for x, y, w, h, back in parts) == d  # nothing else
            for x, y, w, h, back in parts:
                assert float(back) == -float(w)  # closed along the box's four sides
                out.append(([float(x), float(y), float(w), float(h)], path.get("stroke-dasharray"),
                            group.get("stroke")))
    return out


@pytest.mark.parametrize("width, height", [(640, 480), (1, 1), (1920.5, 1080)])
def test_faint_boxes_are_one_svg_in_the_frames_coordinates(width, height):
    others = [box(1, (10, 20, 30, 40)), box(2, (0.5, 0, 1e3, 2.25), kind="label", outcome="FN"),
              box(3, (5, 5, 1, 1), kind="label", outcome="TP"), box(4, (1e-3, 123.5, 1e6, 0))]
    svg = svg_of(faint_boxes(others, width, height))
    assert svg.get("viewBox") == f"0 0 {width:g} {height:g}" and svg.get("preserveAspectRatio") == "none"
    # a missed label dashed, a detected label dashed, a TP prediction solid, as the box elements draw them
    assert sorted(drawn_boxes(svg)) == sorted([([10, 20, 30, 40], None, "#fff"), ([0.5, 0, 1e3, 2.25], "3 2", "#fff"),
                                               ([5, 5, 1, 1], "3 2", "#fff"), ([1e-3, 123.5, 1e6, 0], None, "#fff")])
    assert len(svg.findall(f".//{SVG}path")) == 2  # one element per line style, not one per box


def test_run_bs_faint_boxes_are_drawn_apart_in_their_own_colour_and_dashes():
    others = [box(1, (10, 20, 30, 40)) | {"run": "A"}, box(2, (1, 2, 3, 4)) | {"run": "B"},
              box(3, (5, 6, 7, 8), kind="label", outcome="FN") | {"run": ""}]
    drawn = drawn_boxes(svg_of(faint_boxes(others, 100, 100)))
    assert sorted(drawn) == sorted([([10, 20, 30, 40], None, "#fff"), ([1, 2, 3, 4], RUN_B_FAINT[1], RUN_B_FAINT[0]),
                                    ([5, 6, 7, 8], "3 2", "#fff")])
    assert svg_of(faint_boxes(others[:1], 100, 100)).findall(f"{SVG}g")[-1].get("stroke") == "#fff"  # no B group


def test_faint_boxes_of_no_box_are_an_empty_picture():
    svg = svg_of(faint_boxes([], 640, 480))
    assert drawn_boxes(svg) == [] and svg.findall(f".//{SVG}path") == []


def test_a_card_is_one_component_with_its_pictures_and_caption():
    item = box(7, (100, 100, 50, 50)) | {"image_index": 0, "width": 640, "height": 480, "iou": 0.7, "value": None,
                                         "others": [box(i, (i, i, 10, 10)) for i in range(40)]}
    card = thumbnail_card(item, "/images/k/0/thumb.jpg?size=256", "Brightness (F)", "0.42")
    assert elements(card) == 1  # the renderer mounts one component per card, not one per box or caption part
    assert card.id == {"type": ids.EXPLORER_THUMB, "row": 7} and card.className == "explorer-card"
    selected, faint, thumbnail = layers_of(card)  # top first: the object over the faint boxes over the image
    assert [[float(r.get(k)) for k in ("x", "y", "width", "height")] for r in svg_of(selected).findall(f".//{SVG}rect")
            ] == [[100, 100, 50, 50]] * 3
    assert len(drawn_boxes(svg_of(faint))) == 40
    assert thumbnail == "/images/k/0/thumb.jpg?size=256"
    assert card.style["--aspect"] == "640 / 480" and card.style["--outcome"] == BOX_STYLES[OutcomeGroup.TP][0]
    assert card.children.split("\n") == ["TP cat", "Brightness (F): 0.42", "conf 0.50 · IoU 0.70"]
    assert getattr(card, "aria-label") == "TP cat: open the image"
    alone = thumbnail_card(item | {"others": []}, None, None, None)
    assert len(layers_of(alone)) == 1 and "explorer-card-blank" in alone.className  # no image: a grey frame
    assert alone.children.split("\n") == ["TP cat", "conf 0.50 · IoU 0.70"]


@pytest.mark.parametrize("kind, outcome, run, group, dashes, rects", [
    ("prediction", "TP", "", OutcomeGroup.TP, None, 3),
    ("prediction", "FP", "", OutcomeGroup.FP, None, 3),
    ("label", "FN", "", OutcomeGroup.FN, "7 4", 3),  # a missed label dashed, as its box element
    ("label", "TP", "", OutcomeGroup.DETECTED, "7 4", 3),
    ("label", "ignored", "", OutcomeGroup.IGNORED, "2 3", 3),
    ("prediction", "TP", "B", OutcomeGroup.TP, None, 4),  # run B: a double line (a white line inside)
])
def test_the_cards_object_is_drawn_in_its_outcomes_colour_and_line(kind, outcome, run, group, dashes, rects):
    item = box(3, (1, 2, 3, 4), kind=kind, outcome=outcome) | {"run": run}
    drawn = svg_of(selected_box(item, 10, 20)).findall(f".//{SVG}rect")
    assert len(drawn) == rects
    glow, halo, line = drawn[:3]
    assert glow.get("stroke") == line.get("stroke") == BOX_STYLES[group][0] and halo.get("stroke") == "#fff"
    assert line.get("stroke-dasharray") == dashes
    assert float(halo.get("stroke-width")) > float(line.get("stroke-width"))  # the halo shows around the line


def test_a_false_positive_card_names_its_reason():
    item = box(5, (0, 0, 5, 5), outcome="FP") | {"reason": FPReason.DUPLICATE.value, "image_index": 0, "width": 9,
                                                 "height": 9, "iou": 0.6, "value": None, "others": []}
    card = thumbnail_card(item, None, None, None)
    assert card.children.split("\n")[0] == f"{OutcomeGroup.of_reason(FPReason.DUPLICATE).label} cat"
    assert card.style["--outcome"] == BOX_STYLES[OutcomeGroup.FP][0]
