"""The demo page (slotfill/web), loaded from a real server in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium (.ci/run installs it: apt-get install chromium)")

# As root in a closed network: no sandbox, and none of Chromium's own background traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def expected_slots(model: Path, text: str) -> list[dict]:
    import json

    done = subprocess.run([sys.executable, "-m", "slotfill", "tag", "--model", str(model),
                           "--json", text], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_typing_a_sentence_shows_its_slots_in_place(browser, server, trained, tmp_path):
    text = "show me flights from Boston to Denver on monday"
    expected = expected_slots(trained.model_dir, text)
    assert expected["slots"], "the test needs a sentence the small model finds slots in"
    page = browser.new_page()
    outside: list[str] = []
    host = urlsplit(server.url).netloc
    page.on("request", lambda r: outside.append(r.url) if urlsplit(r.url).netloc != host
            else None)
    page.goto(server.url + "/")
    page.fill("#text", text)
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)

    marks = page.locator("#utterance mark.slot")
    shown = [{"slot": marks.nth(i).get_attribute("data-slot"),
              "value": marks.nth(i).locator(".value").inner_text(),
              "label": marks.nth(i).locator(".label").inner_text()}
             for i in range(marks.count())]
    assert [(s["slot"], s["value"]) for s in shown] == [
        (s["slot"], s["value"]) for s in expected["slots"]]
    for mark, slot in zip(shown, expected["slots"]):
        assert mark["label"] == f"{slot['slot']} {slot['confidence']:.2f}"
    # The marks sit in the sentence: the page's text is the utterance plus the labels.
    utterance = page.locator("#utterance").evaluate(
        "e => Array.from(e.childNodes).map(n => n.nodeType === 3 ? n.textContent"
        " : n.querySelector('.value').textContent).join('')")
    assert utterance == text
    intent = page.locator("#intent").inner_text()
    assert intent == f"{expected['intent']} {expected['intent_confidence']:.2f}"
    assert '"tokens"' in page.locator("#json").inner_text()
    assert (tmp_path / "demo.png").stat().st_size > 0
    assert outside == []
    page.close()


def test_an_empty_utterance_shows_the_servers_message(browser, server):
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#text", "   ")
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])")
    assert "empty" in page.locator("#error").inner_text()
    assert page.locator("#result").is_hidden()
    page.close()
