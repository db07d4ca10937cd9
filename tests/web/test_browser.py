"""The page in Debian's Chromium, driven by Playwright, against the app served over real HTTP."""
import threading
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from handwriting.engine.recognition import Recognizer
from handwriting.web.app import create_app
from helpers import ROOT, compose

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000  # generous: the answer, not the clock, ends every wait


@pytest.fixture(scope="module")
def base_url(recognizer):
    server = make_server("127.0.0.1", 0, create_app(recognizer=recognizer), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.is_file(), "Debian's chromium is missing: ./run_tests.sh installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems = []
    page.on("console", lambda message: _unexpected(message) and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(base_url)
    yield page
    context.close()
    assert problems == [], "the page logged errors (a CSP violation would show here)"


def _unexpected(message):
    """Console errors, except the line the browser logs for each 4xx: the API refusing on purpose."""
    refusal = message.text.startswith("Failed to load resource: the server responded with a status of 4")
    return message.type == "error" and not refusal


@pytest.fixture(scope="module")
def digits_file(mnist, tmp_path_factory):
    path = tmp_path_factory.mktemp("upload") / "digits.png"
    Image.fromarray(compose(mnist, (7, 2, 1))).save(path)
    return path


def test_upload_shows_the_number_boxes_and_cards(page, digits_file):
    page.set_input_files("#file-input", digits_file)
    expect(page.locator("#result-text")).to_have_text(Recognizer(ROOT / "models" / "digit_advanced.keras").read(
        digits_file.read_bytes()).text)  # the engine's own reading with that model; unsure, it may be re-read whole
    expect(page.locator("#overlay rect.box")).to_have_count(3)
    expect(page.locator("#cards > li")).to_have_count(3)
    expect(page.locator("#cards img.crop")).to_have_count(3)
    expect(page.locator("#status")).to_contain_text("Read 721")
    expect(page.locator("#error")).to_be_hidden()


def test_drawing_is_read_live(page):
    page.click("#tab-draw")
    pad = page.locator("#pad")
    expect(pad).to_be_visible()
    box = pad.bounding_box()
    x, top, bottom = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15, box["y"] + box["height"] * 0.85
    page.mouse.move(x - 8, top)
    page.mouse.down()
    page.mouse.move(x, bottom, steps=25)
    page.mouse.up()
    expect(page.locator("#result-text")).to_have_text("1")
    expect(page.locator("#overlay rect.box")).to_have_count(1)
    page.click("#canvas-theme")
    expect(page.locator("#canvas-theme")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#status")).to_have_text("Read 1 (1 digit).")
    expect(page.locator("#result-text")).to_have_text("1")
    page.click("#undo")
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#clear")).to_be_disabled()


def test_model_picker_and_heatmaps(page, digits_file):
    """The picker lists the shipped models; choosing one re-reads with it, and the explain toggle
    adds a heatmap per digit, and is off for the linear model, which has nothing to explain."""
    picker = page.locator("#model")
    expect(picker.locator("option").first).to_have_text("digit_cnn (default)")
    for name in ("digit_advanced", "digit_linear"):
        expect(picker.locator(f"option[value='{name}']")).to_have_count(1)
    page.set_input_files("#file-input", digits_file)
    expect(page.locator("#result-meta")).to_contain_text("model digit_cnn")
    page.check("#explain")
    expect(page.locator("#cards img.heatmap")).to_have_count(3)
    picker.select_option("digit_advanced")
    expect(page.locator("#result-meta")).to_contain_text("model digit_advanced")
    expect(page.locator("#result-text")).to_have_text(Recognizer(ROOT / "models" / "digit_advanced.keras").read(
        digits_file.read_bytes()).text)  # the engine's own reading with that model; unsure, it may be re-read whole
    expect(page.locator("#cards img.heatmap")).to_have_count(3)
    picker.select_option("digit_linear")
    expect(page.locator("#explain")).to_be_disabled()
    expect(page.locator("#model-hint")).to_contain_text("linear network")
    expect(page.locator("#result-meta")).to_contain_text("model digit_linear")
    expect(page.locator("#cards img.heatmap")).to_have_count(0)


def test_a_text_file_gets_a_clear_message(page):
    page.set_input_files("#file-input", {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just words\n" * 50})
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-title")).to_have_text("That file is not an image")
    expect(page.locator("#error-message")).to_contain_text("JPEG, PNG")
    expect(page.locator("#result")).to_be_hidden()


def test_blank_image_says_no_digits(page, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (120, 80), 255).save(blank)
    page.set_input_files("#file-input", blank)
    expect(page.locator("#status")).to_contain_text("No digits found")
    expect(page.locator("#overlay rect.box")).to_have_count(0)


def test_tabs_work_from_the_keyboard(page):
    page.focus("#tab-upload")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#panel-draw")).to_be_visible()
    expect(page.locator("#tab-draw")).to_be_focused()
    expect(page.locator("#panel-upload")).to_be_hidden()


def test_fits_a_phone_screen(browser, base_url):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(base_url)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.click("#tab-draw")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
