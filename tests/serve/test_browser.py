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


def test_generate_a_grid_in_the_page(server):
    playwright = pytest.importorskip("playwright.sync_api")
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page()
        page.goto(server)
        page.wait_for_function("document.getElementById('info').textContent.includes('generator')")
        page.fill("#n", "9")
        page.click("#generate")
        page.wait_for_function("!document.getElementById('grid').hidden && "
                               "document.getElementById('grid').naturalWidth > 0")
        size = page.evaluate("fetch('/api/info').then(r => r.json()).then(i => i.image_shape[1])")
        assert page.eval_on_selector("#grid", "img => img.naturalWidth") == (3 * (size + 2) + 2) * max(1, 128 // size)
        page.fill("#n", "500")
        page.click("#generate")
        page.wait_for_function("document.getElementById('grid-error').textContent.includes('at most')")
        page.fill("#n", "16")
        page.click("#generate")
        page.wait_for_function("document.getElementById('grid-error').textContent === ''")
        if os.environ.get("GANFORGE_SCREENSHOT"):
            page.screenshot(path=str(Path(os.environ["GANFORGE_SCREENSHOT"])), full_page=True)
        browser.close()
