"""The Explorer in a real headless Chromium: a bucket click opens its objects, a thumbnail its image."""

from __future__ import annotations

import json

from detlens.layouts import ids
from tests.browser.conftest import click_until, screenshot
from tests.browser.test_dashboard import TITLE_HAS, UPDATE_TIMEOUT_MS, open_dashboard

PLOT = "document.querySelector('#{} .js-plotly-plot')"
BUCKET = 2


# every card's thumbnail (the bottom layer of its picture), loaded as an image: [loaded, width] per card
THUMBNAILS_LOADED = """async () => Promise.all([...document.querySelectorAll('#%s .explorer-card')].map(card => {
  const layers = getComputedStyle(card, '::before').backgroundImage.match(/url\\("[^"]*"\\)/g) || [];
  const src = (layers[layers.length - 1] || '').slice(5, -2);
  return src.startsWith('data:') ? [false, 0] : new Promise(done => { const i = new Image();
    i.onload = () => done([true, i.naturalWidth]); i.onerror = () => done([false, 0]); i.src = src; });
}))""" % ids.EXPLORER_GRID


def grid_loaded(page) -> None:
    """Wait until the grid shows cards, then check that each card's picture has its thumbnail, which loads."""
    page.wait_for_selector(f"#{ids.EXPLORER_GRID} .explorer-card", timeout=UPDATE_TIMEOUT_MS)
    loaded = page.evaluate(THUMBNAILS_LOADED)
    assert loaded and all(ok and width > 0 for ok, width in loaded), loaded


def test_bucket_click_opens_explorer_with_its_objects_and_a_thumbnail_opens_its_image(page, server):
    open_dashboard(page, server)
    page.click(f"#{ids.TABS} .nav-link:has-text('Performance by metric')")
    page.wait_for_function(TITLE_HAS, arg=[f"#{ids.PERF_GRAPH}", "TPR and FNR"], timeout=UPDATE_TIMEOUT_MS)
    counts = {side: page.evaluate(f"() => {PLOT.format(ids.PERF_GRAPH)}.data.find(t => t.name === '{name}')"
                                  ".customdata.map(c => c[0])")
              for side, name in (("TPR", "TPR of predictions"), ("FNR", "FNR of labels"))}
    markers = page.locator(f"#{ids.PERF_GRAPH} .scatterlayer .trace").filter(has=page.locator(".points path"))
    click_until(page, lambda: markers.first.locator(".points path").nth(BUCKET),
                f"() => document.querySelector('#{ids.TABS} .nav-link.active').innerText.includes('Explorer')",
                UPDATE_TIMEOUT_MS)
    page.wait_for_function(f"() => /object/.test(document.getElementById('{ids.EXPLORER_COUNT}').innerText || '')",
                           timeout=UPDATE_TIMEOUT_MS)
    chips = page.inner_text(f"#{ids.EXPLORER_CHIPS}")
    # the TPR and FNR markers of a bucket can overlap: the chip says which one was clicked
    side = "FNR" if "FN (missed label)" in chips else "TPR"
    expected = f"{counts[side][BUCKET]:,} objects"
    page.wait_for_function(f"(t) => (document.getElementById('{ids.EXPLORER_COUNT}').innerText || '').startsWith(t)",
                           arg=expected, timeout=UPDATE_TIMEOUT_MS)
    assert "Object Area - Relative" in chips and "Outcome" in chips and ")" in chips  # half-open bucket
    grid_loaded(page)
    cards = page.locator(f"#{ids.EXPLORER_GRID} .explorer-card")
    assert 1 <= cards.count() <= 24
    screenshot(page, "explorer_from_bucket")

    card_id = json.loads(cards.first.get_attribute("id"))
    cards.first.click()
    modal = page.locator(".modal.show")
    modal.locator(".explorer-frame img").wait_for(timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function("() => { const i = document.querySelector('.modal.show .explorer-frame img');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=UPDATE_TIMEOUT_MS)
    file_name = page.inner_text(f"#{ids.EXPLORER_DETAIL_TITLE}").split(" · ")[0]
    labels = json.loads((server.demo / "labels.json").read_text())
    preds = json.loads((server.demo / "predictions.json").read_text())
    image_id = next(im["id"] for im in labels["images"] if im["file_name"] == file_name)
    own_labels = [a["bbox"] for a in labels["annotations"] if a["image_id"] == image_id]
    own_preds = [p["bbox"] for p in preds if p["image_id"] == image_id]
    boxes = modal.locator(".explorer-box")
    assert boxes.count() == len(own_labels) + len(own_preds)

    # the selected box covers its object's pixels on the displayed image
    size = next((im["width"], im["height"]) for im in labels["images"] if im["id"] == image_id)
    selected = modal.locator(f".explorer-box[data-row='{card_id['row']}']")
    box = [float(v) for v in selected.get_attribute("data-box").split(",")]
    assert any(all(abs(a - b) < 0.01 for a, b in zip(box, ref)) for ref in own_labels + own_preds)
    page.wait_for_timeout(400)  # the modal's slide-in animation
    img, rect = page.evaluate(  # measured together, in one frame
        "(row) => { const m = document.querySelector('.modal.show');"
        " const r = e => { const b = e.getBoundingClientRect(); return {x: b.x, y: b.y, width: b.width, height: b.height}; };"
        " return [r(m.querySelector('.explorer-frame img')), r(m.querySelector(`.explorer-box[data-row='${row}']`))]; }",
        card_id["row"])
    sx, sy = img["width"] / size[0], img["height"] / size[1]
    assert abs(sx - sy) < 0.01 * sx  # aspect ratio kept
    for got, want in ((rect["x"], img["x"] + box[0] * sx), (rect["y"], img["y"] + box[1] * sy),
                      (rect["width"], box[2] * sx), (rect["height"], box[3] * sy)):
        assert abs(got - want) <= 1.5
    screenshot(page, "explorer_detail")
    assert page.console_errors == []
