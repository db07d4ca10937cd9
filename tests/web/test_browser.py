"""The page in Debian's Chromium, driven by Playwright, against the app served over real HTTP."""
import csv
import dataclasses
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from handwriting import config
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
    """Console errors, except the line the browser logs for each error status: the API refusing on
    purpose, or a proxy's failure a test stands in for."""
    refusal = message.text.startswith("Failed to load resource: the server responded with a status of ")
    return message.type == "error" and not refusal


@pytest.fixture(scope="module")
def digits_file(mnist, tmp_path_factory):
    path = tmp_path_factory.mktemp("upload") / "digits.png"
    Image.fromarray(compose(mnist, (7, 2, 1))).save(path)
    return path


def test_upload_shows_the_number_boxes_and_cards(page, digits_file, recognizer):
    page.set_input_files("#file-input", digits_file)
    text = recognizer.read(digits_file.read_bytes()).text  # the numbers as written, as the engine reads them
    expect(page.locator("#result-text")).to_have_text(text)
    expect(page.locator("#overlay rect.box")).to_have_count(3)
    expect(page.locator("#cards > li")).to_have_count(3)
    expect(page.locator("#cards img.crop")).to_have_count(3)
    expect(page.locator("#status")).to_contain_text(f"Read {text}")
    expect(page.locator("#result-source")).to_have_text("digits.png")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#batch")).to_be_hidden()  # one file keeps the single view


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


def _tile(mnist, label, k=0):
    return 255 - mnist.x_test[int(np.flatnonzero(mnist.y_test == label)[k])]


@pytest.fixture(scope="module")
def doubtful_file(mnist, tmp_path_factory):
    """7, then a 4 and a 9 drawn over each other (the model cannot be sure), then 1."""
    image = compose(mnist, (7, 4, 1))
    blend = (_tile(mnist, 4).astype(float) + _tile(mnist, 9).astype(float)) / 2
    image[20:48, 62:90] = blend.astype(np.uint8)
    path = tmp_path_factory.mktemp("doubtful") / "blend.png"
    Image.fromarray(image).save(path)
    return path


@pytest.fixture(scope="module")
def dense_file(mnist, tmp_path_factory):
    """46 digits on three lines, more than a line of the page holds: a form full of numbers."""
    rows = [compose(mnist, [(7 * line + i) % 10 for i in range(count)], gap=10, margin=12)
            for line, count in enumerate((16, 16, 14))]
    width = max(row.shape[1] for row in rows)
    image = np.vstack([np.pad(row, ((0, 0), (0, width - row.shape[1])), constant_values=255) for row in rows])
    path = tmp_path_factory.mktemp("dense") / "dense.png"
    Image.fromarray(image).save(path)
    return path


def _answer(page, action):
    """What the API answered to the request `action` makes the page send."""
    with page.expect_response(lambda r: "/api/digit_recognize" in r.url) as response:
        action()
    return response.value.json()


def test_a_tiff_upload_shows_the_image_the_server_read(page, mnist, tmp_path):
    """Browsers do not show TIFF: the page shows the server's PNG of it, never a broken image."""
    tiff = tmp_path / "scan.tif"
    Image.fromarray(compose(mnist, (4, 0, 9))).save(tiff, "TIFF", compression="tiff_lzw")
    answer = _answer(page, lambda: page.set_input_files("#file-input", tiff))
    expect(page.locator("#overlay rect.box")).to_have_count(3)
    expect(page.locator("#result-source")).to_have_text("scan.tif")
    size = answer["image"]
    page.wait_for_function(f"() => {{ const img = document.getElementById('preview'); return img.complete"
                           f" && img.naturalWidth === {size['width']} && img.naturalHeight === {size['height']}; }}")
    assert page.locator("#preview").get_attribute("src").startswith("blob:")
    expect(page.locator("#no-preview")).to_be_hidden()


def test_each_tab_shows_its_own_result(page, digits_file):
    """The draw tab with an empty canvas shows no upload's result, and its options re-read nothing;
    back on the upload tab, its result is there again without a new request."""
    page.set_input_files("#file-input", digits_file)
    expect(page.locator("#overlay rect.box")).to_have_count(3)
    text = page.locator("#result-text").text_content()
    sent = []
    page.on("request", lambda request: "/api/digit_recognize" in request.url and sent.append(request.url))
    page.click("#tab-draw")
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("Draw some digits to start.")
    page.check("#explain")
    page.locator("#model").select_option("digit_advanced")
    page.click("#tab-upload")
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#result-text")).to_have_text(text)
    assert sent == []
    page.click("#tab-draw")
    expect(page.locator("#result")).to_be_hidden()


def test_doubtful_digits_are_marked_and_hidden_ones_counted(page, doubtful_file):
    answer = _answer(page, lambda: page.set_input_files("#file-input", doubtful_file))
    flagged = [p.get("doubtful", p["probability"] < 0.6) for p in answer["predictions"]]
    assert any(flagged), answer  # the blend is what the test is about
    expect(page.locator("#overlay rect.box.doubtful")).to_have_count(sum(flagged))
    expect(page.locator("#cards > li.doubtful")).to_have_count(sum(flagged))
    expect(page.locator("#result-text mark.doubtful")).to_have_count(sum(flagged))
    expect(page.locator("#result-notes")).to_be_hidden()
    page.click("details.options summary")
    slider = page.locator("#min-confidence")
    # one change event, one request: a second would abort the first, whose body is then gone
    hiding = _answer(page, lambda: slider.evaluate(
        "e => { e.value = '95'; e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); }"))
    assert hiding["hidden"] >= 1, hiding
    expect(page.locator("#result-notes")).to_contain_text(
        f"{hiding['hidden']} digit{'s' if hiding['hidden'] > 1 else ''} hidden below 95% confidence")
    expect(page.locator("#result-text")).to_have_text(hiding["text"])


def test_long_readings_keep_their_lines_labels_stay_apart_and_many_cards_scroll(page, dense_file):
    answer = _answer(page, lambda: page.set_input_files("#file-input", dense_file))
    assert answer["count"] >= 40 and answer["text"].count("\n") == 2, answer["text"]
    reading = page.locator("#result-text")
    expect(reading).to_have_text(answer["text"])
    lines = reading.evaluate("e => Math.round(e.scrollHeight / parseFloat(getComputedStyle(e).lineHeight))")
    assert lines == 3  # the reading's three lines, none wrapped
    assert reading.evaluate("e => e.scrollWidth > e.clientWidth")  # it scrolls sideways instead
    labels = page.locator("#overlay rect.tag").evaluate_all("tags => tags.map(t => t.getBoundingClientRect().toJSON())")
    stage = page.locator("#stage").bounding_box()
    assert len(labels) >= answer["count"] // 2
    for i, a in enumerate(labels):
        assert a["height"] >= 13 and a["left"] >= stage["x"] - 1 and a["right"] <= stage["x"] + stage["width"] + 1
        assert a["top"] >= stage["y"] - 1 and a["bottom"] <= stage["y"] + stage["height"] + 1
        for b in labels[i + 1:]:
            apart = (a["right"] <= b["left"] + 0.5 or b["right"] <= a["left"] + 0.5
                     or a["bottom"] <= b["top"] + 0.5 or b["bottom"] <= a["top"] + 0.5)
            assert apart, (a, b)
    expect(page.locator("#cards > li")).to_have_count(answer["count"])
    assert page.evaluate("document.documentElement.scrollHeight") < 2200
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_copy_button_copies_the_number(browser, base_url, digits_file):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = context.new_page()
    page.goto(base_url)
    page.set_input_files("#file-input", digits_file)
    expect(page.locator("#overlay rect.box")).to_have_count(3)
    page.click("#copy")
    expect(page.locator("#copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#result-text").text_content()
    context.close()


def test_a_proxy_error_page_is_explained(page, digits_file):
    """A proxy in front of the service answers 502 with its own HTML page."""
    page.route("**/api/digit_recognize**", lambda route: route.fulfill(
        status=502, content_type="text/html", body="<html><body><h1>502 Bad Gateway</h1></body></html>"))
    page.set_input_files("#file-input", digits_file)
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-title")).to_have_text("The server answered with an error")
    expect(page.locator("#error-message")).to_contain_text("HTTP 502")
    expect(page.locator("#error-message")).not_to_contain_text("could not be reached")


def test_at_phone_width_the_page_scrolls_to_the_result(browser, base_url, digits_file):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(base_url)
    assert page.evaluate("document.getElementById('result-panel').getBoundingClientRect().top") > 844 / 2
    page.set_input_files("#file-input", digits_file)
    expect(page.locator("#overlay rect.box")).to_have_count(3)
    page.wait_for_function("() => { const top = document.getElementById('result-panel').getBoundingClientRect().top;"
                           " return top >= -1 && top < window.innerHeight / 2; }")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()


@pytest.fixture(scope="module")
def capped_url():
    """The app with a cap of 10 digits per image, so that a dense page is read only in part."""
    settings = dataclasses.replace(config.settings(), max_digits=10)
    engine = Recognizer(settings.model_path, settings)
    server = make_server("127.0.0.1", 0, create_app(recognizer=engine, settings=settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_a_reading_cut_short_by_a_cap_says_so(browser, capped_url, dense_file):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(capped_url)
    answer = _answer(page, lambda: page.set_input_files("#file-input", dense_file))
    assert answer["truncated"] and answer["message"], answer
    expect(page.locator("#result-notes")).to_be_visible()
    expect(page.locator("#result-notes")).to_contain_text(answer["message"][1:])
    page.close()


NOTES = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just words\n" * 50}


@pytest.fixture(scope="module")
def several(mnist, tmp_path_factory):
    """Two composed images and a text file, in the order they are picked."""
    folder = tmp_path_factory.mktemp("several")
    files = []
    for name, labels in (("first.png", (7, 2, 1)), ("second.png", (4, 0, 9, 5))):
        Image.fromarray(compose(mnist, labels)).save(folder / name)
        files.append({"name": name, "mimeType": "image/png", "buffer": (folder / name).read_bytes()})
    return [*files, NOTES]


def _percent(probability):
    """The page's percentage: one decimal, none at the ends."""
    value = probability * 100
    return f"{value:.0f}%" if value >= 99.95 or value < 0.05 else f"{value:.1f}%"


def _expect_rows(page, names, answers):
    """The table holds a row per file, in order, each showing what the API answered for it."""
    rows = page.locator("#batch-rows tr")
    expect(rows).to_have_count(len(names))
    for i, (name, answer) in enumerate(zip(names, answers)):
        row = rows.nth(i)
        expect(row.locator("td.name")).to_have_text(name)
        if answer["success"]:
            expect(row.locator("td.number")).to_have_text(answer["text"])
            expect(row.locator("td.confidence")).to_have_text(_percent(answer["confidence"]))
            expect(row.locator("td.problem")).to_have_text("")
        else:
            expect(row.locator("td.problem")).to_contain_text(answer["error"]["message"][1:])
            expect(row.locator("td.confidence")).to_have_text("")


def _read(page, base_url, file):
    """The API's own answer for one file, as the page would send it."""
    return page.request.post(f"{base_url}/api/digit_recognize", multipart={"file": file}).json()


def test_several_files_fill_a_row_each(page, base_url, several):
    """Each file is its own request, in the list's order, at most two at once; a bad file fails alone."""
    answers = [_read(page, base_url, f) for f in several]
    assert [a["success"] for a in answers] == [True, True, False], answers
    assert answers[2]["error"]["code"] == "not_an_image"
    sent, flying, most = [], set(), []
    def start(request):
        if "/api/digit_recognize" in request.url:
            sent.append(request)
            flying.add(request)
            most.append(len(flying))
    page.on("request", start)
    page.on("requestfinished", lambda request: flying.discard(request))
    page.on("requestfailed", lambda request: flying.discard(request))
    page.set_input_files("#file-input", several)
    _expect_rows(page, [f["name"] for f in several], answers)
    expect(page.locator("#status")).to_have_text("3 of 3 read (1 failed).")
    expect(page.locator("#status")).to_have_attribute("aria-live", "polite")
    sent_answers = [request.response().json() for request in sent]  # one request per file, in order
    assert [a.get("text") for a in sent_answers] == [a.get("text") for a in answers], sent_answers
    assert max(most) <= 2
    thumbs = page.locator("#batch-rows td.thumb img")
    expect(thumbs).to_have_count(2)
    for i in range(2):
        thumbs.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbs.nth(i).element_handle())
    expect(page.locator("#batch-rows tr").nth(2).locator(".thumb-none")).to_have_count(1)
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#batch-rows tr").nth(2).locator("td.problem")).to_have_attribute(
        "title", "That file is not an image")


def test_a_zip_fills_the_rows_from_its_batch_answer(page, base_url, several):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in several:
            archive.writestr(file["name"], file["buffer"])
    upload = {"name": "scans.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()}
    answer = _answer(page, lambda: page.set_input_files("#file-input", upload))
    assert answer["batch"] and [r["name"] for r in answer["results"]] == [f["name"] for f in several], answer
    singles = [_read(page, base_url, f) for f in several]
    assert [r.get("text") for r in answer["results"]] == [s.get("text") for s in singles]
    _expect_rows(page, [f["name"] for f in several], answer["results"])
    expect(page.locator("#status")).to_have_text("3 of 3 read (1 failed).")
    expect(page.locator("#batch-rows .thumb-none")).to_have_count(3)  # no thumbnails from inside a ZIP


def test_a_zip_refused_whole_shows_the_error(page, several):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../first.png", several[0]["buffer"])
    upload = {"name": "escape.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()}
    answer = _answer(page, lambda: page.set_input_files("#file-input", upload))
    assert answer["error"]["code"] == "unsafe_entry_name", answer
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-title")).to_have_text("The ZIP names a file outside itself")
    expect(page.locator("#error-message")).to_contain_text("../first.png")
    expect(page.locator("#batch")).to_be_hidden()


def test_the_rows_download_as_csv(page, several):
    csv_button = page.locator("#csv")
    expect(csv_button).to_be_disabled()
    page.set_input_files("#file-input", several)
    expect(page.locator("#status")).to_have_text("3 of 3 read (1 failed).")
    texts = page.locator("#batch-rows td.number").all_text_contents()
    with page.expect_download() as download:
        csv_button.click()
    assert download.value.suggested_filename == "digits.csv"
    records = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8"), newline="")))
    assert records[0] == ["file", "text", "digits_text", "confidence", "error"]
    assert [r[0] for r in records[1:]] == [f["name"] for f in several]
    assert [r[1] for r in records[1:3]] == texts[:2] and records[3][1:4] == ["", "", ""]
    assert all(r[2] == "".join(c for c in r[1] if c.isdigit() or c == "\n") for r in records[1:3])
    assert all(0 < float(r[3]) <= 1 and r[4] == "" for r in records[1:3])
    assert "not an image" in records[3][4]


def test_a_row_opens_its_full_reading_and_back(page, several):
    page.set_input_files("#file-input", several[:2])
    expect(page.locator("#status")).to_have_text("2 of 2 read.")
    text = page.locator("#batch-rows td.number").nth(1).text_content()
    page.locator("#batch-rows button.open").nth(1).click()
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#batch")).to_be_hidden()
    expect(page.locator("#result-source")).to_have_text("second.png")
    expect(page.locator("#result-text")).to_have_text(text)
    expect(page.locator("#cards > li")).to_have_count(len(text.replace(" ", "")))
    page.wait_for_function("() => { const img = document.getElementById('preview'); return img.complete"
                           " && img.naturalWidth > 0; }")
    expect(page.locator("#back")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#batch")).to_be_visible()
    expect(page.locator("#batch-rows button.open").nth(1)).to_be_focused()


def test_at_phone_width_the_table_scrolls_sideways(browser, base_url, several):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(base_url)
    page.set_input_files("#file-input", several)
    expect(page.locator("#status")).to_have_text("3 of 3 read (1 failed).")
    scroller = page.locator(".table-scroll")
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()


def test_an_option_rereads_every_file_of_the_table(page, several):
    page.set_input_files("#file-input", several[:2])
    expect(page.locator("#status")).to_have_text("2 of 2 read.")
    sent = []
    page.on("request", lambda request: "/api/digit_recognize" in request.url and sent.append(request.url))
    page.locator("#model").select_option("digit_linear")
    expect(page.locator("#status")).to_have_text("2 of 2 read.")
    assert len(sent) == 2 and all("model=digit_linear" in url for url in sent), sent
    page.locator("#batch-rows button.open").first.click()
    expect(page.locator("#result-meta")).to_contain_text("model digit_linear")
