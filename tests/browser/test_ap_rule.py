"""The AP rule on the page: Cartucho served with the VOC rules shows its published 31.05%, and the selector
switches the demo's mAP to the CLI's value for the chosen rule."""

from __future__ import annotations

from detlens.callbacks.metrics_tab import map_text
from detlens.core.ap_rule import APRule
from detlens.layouts import ids
from tests.browser.conftest import cli_map, screenshot
from tests.cli_server import detlens_serve
from tests.refdata import REFDATA, expected

LOAD_TIMEOUT_MS = 120_000
UPDATE_TIMEOUT_MS = 30_000
TEXT_IS = "([id, v]) => document.getElementById(id)?.innerText.trim() === v"
TEXT_HAS = "([id, v]) => (document.getElementById(id)?.innerText || '').includes(v)"
HAS_DIGIT = "(id) => /\\d/.test(document.getElementById(id)?.innerText || '')"
VOC_PLUS_ONE = APRule("voc_all_point", "voc", True)


def test_cartucho_served_with_the_voc_rules_shows_the_published_map(page, tmp_path):
    folder = REFDATA / "cartucho_map"
    with detlens_serve("--labels", folder / "ground-truth", "--predictions", folder / "detection-results",
                       "--ap-method", "voc_all_point", "--match", "voc", "--pixel-plus-one",
                       "--cache-dir", tmp_path / "cache", "--no-precompute", log=tmp_path / "serve.log",
                       ready_path="") as url:
        page.goto(url)
        published = f"{expected('cartucho_map')['mAP']:.4f}"
        assert published == "0.3105"
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, published], timeout=LOAD_TIMEOUT_MS)
        assert page.inner_text(f"#{ids.MAP_RULE}").strip() == "VOC all-point, +1 px · IoU 0.50"
        assert page.inner_text(f"#{ids.AP_RULE}").strip() == "VOC all-point, +1 px"
        page.wait_for_function(HAS_DIGIT, arg=ids.MAP_RANGE_VALUE, timeout=UPDATE_TIMEOUT_MS)
        assert 0 < float(page.inner_text(f"#{ids.MAP_RANGE_VALUE}")) < 0.3105
        screenshot(page, "cartucho_voc_rules")
        assert page.console_errors == []


def test_the_selector_switches_the_demo_to_the_cli_map_of_the_rule(page, server):
    page.goto(server.url)
    page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, map_text(cli_map(server))], timeout=LOAD_TIMEOUT_MS)
    assert page.inner_text(f"#{ids.MAP_RULE}").strip() == "COCO 101-point · IoU 0.50"
    page.wait_for_function(HAS_DIGIT, arg=ids.MAP_RANGE_VALUE, timeout=UPDATE_TIMEOUT_MS)
    coco_range = page.inner_text(f"#{ids.MAP_RANGE_VALUE}").strip()
    for rule in (APRule("voc_11_point", "voc"), VOC_PLUS_ONE):
        page.click(f"#{ids.AP_RULE}")
        page.get_by_role("option", name=rule.title, exact=True).click()
        page.wait_for_function(TEXT_HAS, arg=[ids.MAP_RULE, rule.title], timeout=UPDATE_TIMEOUT_MS)
        page.wait_for_function(TEXT_IS, arg=[ids.MAP_VALUE, map_text(cli_map(server, rule=rule))],
                               timeout=UPDATE_TIMEOUT_MS)
        assert page.inner_text(f"#{ids.MAP_RULE}").strip() == f"{rule.title} · IoU 0.50"
    assert map_text(cli_map(server, rule=VOC_PLUS_ONE)) != map_text(cli_map(server))
    page.wait_for_function(f"(v) => document.getElementById('{ids.MAP_RANGE_VALUE}').innerText.trim() !== v",
                           arg=coco_range, timeout=UPDATE_TIMEOUT_MS)
    screenshot(page, "ap_rule_selector")
    assert page.console_errors == []
