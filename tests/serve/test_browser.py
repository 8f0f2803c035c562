"""The page in a real headless browser (Debian's chromium driven by Playwright): generate a grid
and check the image appears. Skipped where chromium is not installed; .ci/run installs it
(apt-get install chromium) when it can. GANFORGE_SCREENSHOT=path keeps a screenshot."""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from ganforge.training import train
from tests.conftest import tiny_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    uvicorn = pytest.importorskip("uvicorn")
    from ganforge.serve import create_app

    # GANFORGE_SERVE_RUN=RUN serves a real run instead (for the screenshot in the docs).
    run = os.environ.get("GANFORGE_SERVE_RUN") or train(
        tiny_config(tmp_path_factory.mktemp("browser"), {"arch": "resnet"}, steps=2), progress=False)
    port = free_port()
    config = uvicorn.Config(create_app(run), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_generate_a_grid_in_the_page(server):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(server)
        page.wait_for_function("document.getElementById('info').textContent.includes('generator')")
        page.fill("#n", "9")
        page.click("#generate")
        page.wait_for_function("!document.getElementById('grid').hidden && "
                               "document.getElementById('grid').naturalWidth > 0")
        info = page.evaluate("fetch('/api/info').then(r => r.json())")
        size = info["image_shape"][1]
        classes = info.get("num_classes") or 0
        columns = min(9, classes) if 0 < classes <= 16 else 3  # a conditional grid: a column a class
        assert page.eval_on_selector("#grid", "img => img.naturalWidth") == \
            (columns * (size + 2) + 2) * max(1, 128 // size)
        page.fill("#n", "500")
        page.click("#generate")
        page.wait_for_function("document.getElementById('grid-status').textContent.includes('at most')")
        page.fill("#n", "16")
        page.click("#generate")
        page.wait_for_function("document.getElementById('grid-status').textContent === ''")
        if os.environ.get("GANFORGE_SCREENSHOT"):
            page.screenshot(path=str(Path(os.environ["GANFORGE_SCREENSHOT"])), full_page=True)
        browser.close()


WHITE_MASK_PIXELS = """(() => { const d = mctx.getImageData(0, 0, mask.width, mask.height).data; let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n; })()"""


def _picture(path: Path, size: int) -> Path:
    from PIL import Image

    rng = __import__("numpy").random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype="uint8")).save(path)
    return path


def test_phone_touch_drag_inpaints(server, tmp_path):
    """At a phone's size with a touch screen: the page is laid out at the phone's width (viewport
    tag), a picture of another size is resized in the browser, a finger drag (real touch events)
    draws the mask, and the inpainted picture comes back; errors read as sentences where they arose."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                      device_scale_factor=2)
        page = context.new_page()
        page.goto(server)
        page.wait_for_function("document.getElementById('info').textContent.includes('generator')")
        assert page.evaluate("document.documentElement.clientWidth") == 390  # not a shrunken 980 px page
        assert "resized in your browser" in page.text_content("#upload-hint")
        assert page.eval_on_selector_all("#method option", "os => os.map(o => o.value)") == ["inversion", "net", "telea"]
        assert page.eval_on_selector_all("#mask-kind option", "os => os.map(o => o.value)") == [
            "", "center", "boxes", "scribble"]
        page.set_input_files("#upload", str(_picture(tmp_path / "big.png", 40)))
        page.wait_for_function("document.getElementById('inpaint-status').textContent.includes('resized from 40x40')")
        page.locator("#canvas").scroll_into_view_if_needed()
        box = page.locator("#canvas").bounding_box()
        cdp = context.new_cdp_session(page)
        x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for i in range(1, 6):
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchMove", "touchPoints": [{"x": x + i * box["width"] * 0.08, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        assert page.evaluate(WHITE_MASK_PIXELS) > 0  # the finger drew the mask
        page.dispatch_event("#inpaint", "click")  # a tap on a button; the touch that matters is the drag above
        page.wait_for_function("!document.getElementById('inpainted').hidden && "
                               "document.getElementById('inpainted').naturalWidth > 0", timeout=60_000)
        assert page.text_content("#inpaint-status") == ""
        # A bad value: a sentence in the Generate box, nothing raw, nothing in the other boxes.
        page.fill("#n", "0")
        page.dispatch_event("#generate", "click")
        page.wait_for_function("document.getElementById('grid-status').className === 'error'")
        message = page.text_content("#grid-status")
        assert message.startswith("n: ") and "[{" not in message and "greater than" in message
        page.fill("#from", "-1")
        page.dispatch_event("#from", "change")
        page.wait_for_function("document.getElementById('between-status').className === 'error'")
        assert page.text_content("#between-status").startswith("from_seed: ")
        assert page.text_content("#grid-status") == message  # the interpolation error stayed in its own box
        browser.close()


def test_desktop_mouse_drag_and_preset_masks(server, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server)
        page.wait_for_function("document.getElementById('info').textContent.includes('generator')")
        size = page.evaluate("model.image_shape[1]")
        page.set_input_files("#upload", str(_picture(tmp_path / "exact.png", size)))
        page.wait_for_function("mask.width > 0 && picture !== null")
        assert page.text_content("#inpaint-status") == ""  # the right size: nothing to say
        box = page.locator("#canvas").bounding_box()
        page.mouse.move(box["x"] + 10, box["y"] + 10)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 10, box["y"] + box["height"] - 10, steps=8)
        page.mouse.up()
        assert page.evaluate(WHITE_MASK_PIXELS) > 0
        page.select_option("#mask-kind", "center")
        page.click("#inpaint")
        page.wait_for_function("!document.getElementById('inpainted').hidden", timeout=60_000)
        assert page.eval_on_selector("#inpainted", "img => img.naturalWidth") == size * max(1, 128 // size)
        browser.close()
