"""The real page in Debian's Chromium (playwright, never `playwright install`): upload chelsea, see a cat."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import is_cat

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: apt-get install -y --no-install-recommends chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def _keep(screenshot: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(screenshot, ARTIFACTS / screenshot.name)


def test_upload_chelsea_shows_a_cat(
    browser: object, base_url: str, chelsea_jpeg: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(base_url + "/")
        # The model picker is filled from /api/v1/models.
        expect(page.locator("#model-info")).to_contain_text("1000 classes")
        expect(page.get_by_label("Model")).to_have_value("efficientnet-lite0")
        page.get_by_label("Choose an image").set_input_files(str(chelsea_jpeg))
        first = page.locator("#predictions .prediction-label").first
        expect(first).to_be_visible(timeout=30_000)
        expect(page.locator("#predictions .prediction")).to_have_count(5)
        label = first.inner_text()
        assert is_cat(label), label
        expect(page.locator("#timings")).to_contain_text("total")
        expect(page.locator("#preview")).to_be_visible()
        assert page.locator("#result").get_attribute("aria-live") == "polite"
        screenshot = tmp_path / "chelsea-result.png"
        page.screenshot(path=str(screenshot), full_page=True)
        _keep(screenshot)
        assert not errors, errors
    finally:
        page.close()


def test_the_page_works_without_javascript(
    browser: object, base_url: str, chelsea_jpeg: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 760})
    page = context.new_page()
    try:
        page.goto(base_url + "/")
        page.get_by_label("Choose an image").set_input_files(str(chelsea_jpeg))
        page.get_by_role("button", name="Classify").click()
        expect(page).to_have_url(base_url + "/uploader")
        first = page.locator("#predictions .prediction-label").first
        assert is_cat(first.inner_text())
        expect(page.locator("#preview")).to_be_visible()
        screenshot = tmp_path / "chelsea-no-javascript.png"
        page.screenshot(path=str(screenshot), full_page=True)
        _keep(screenshot)
    finally:
        context.close()


DISPATCH = """
async ([kind, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const file = new File([bytes], "chelsea.jpg", { type: "image/jpeg" });
  const data = new DataTransfer();
  data.items.add(file);
  if (kind === "paste") {
    document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
  } else {
    const zone = document.getElementById("dropzone");
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
  }
}
"""


@pytest.mark.parametrize("kind", ["paste", "drop"])
def test_paste_and_drop(browser: object, base_url: str, chelsea_jpeg: Path, kind: str) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    page = browser.new_page()
    try:
        page.goto(base_url + "/")
        page.evaluate(DISPATCH, [kind, base64.b64encode(chelsea_jpeg.read_bytes()).decode()])
        first = page.locator("#predictions .prediction-label").first
        expect(first).to_be_visible(timeout=30_000)
        assert is_cat(first.inner_text())
        expect(page.locator("#file-name")).to_have_text("chelsea.jpg" if kind == "drop" else "pasted image")
    finally:
        page.close()


def test_an_error_is_announced(browser: object, base_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    text_file = tmp_path / "notes.png"  # claims to be an image; the server finds out it is not
    text_file.write_bytes(b"these are notes, not a picture " * 10)
    page = browser.new_page()
    try:
        page.goto(base_url + "/")
        page.get_by_label("Choose an image").set_input_files(str(text_file))
        alert = page.get_by_role("alert")
        expect(alert).to_be_visible(timeout=30_000)
        expect(alert).to_contain_text("image")
    finally:
        page.close()


def test_keyboard_reaches_the_file_picker_and_the_button(browser: object, base_url: str) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    page = browser.new_page()
    try:
        page.goto(base_url + "/")
        focused = []
        for _ in range(8):
            page.keyboard.press("Tab")
            focused.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        assert "file" in focused and "model" in focused and "submit" in focused, focused
    finally:
        page.close()
