"""Take the screenshot of `stanceframe serve`'s web page for the docs, with Debian's headless Chromium.

    .venv/bin/python scripts/serve_screenshot.py runs/framing docs/img/serve-page.png

Serves RUN on a free loopback port in this process, opens /?text=<the example article>, corrects one
label (so the picker and a corrected sentence show), and writes the PNG (and, with --corrections,
the downloaded corrections).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--article", type=Path, default=REPO / "examples/tass_grain_corridor.txt")
    parser.add_argument("--sentence", type=int, default=11, help="the sentence to correct")
    parser.add_argument("--label", default="diplomatic_proposal", help="its new label")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2500)
    parser.add_argument("--corrections", type=Path, help="also download the corrections here")
    args = parser.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    from stanceframe.model import Classifier
    from stanceframe.server import create_app

    chromium = next((path for path in CHROMIUM_PATHS if Path(path).exists()), None)
    if chromium is None:
        sys.exit("Debian's chromium is not installed: apt-get install -y chromium")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    classifier = Classifier.load(args.run, device="cpu", threads=1)
    server = uvicorn.Server(
        uvicorn.Config(create_app(classifier), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            sys.exit("the server did not start")
        time.sleep(0.1)
    text = args.article.read_text(encoding="utf-8")
    url = f"http://127.0.0.1:{port}/?" + urllib.parse.urlencode({"text": text})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(url)
            page.wait_for_selector("#view .s", timeout=120_000)
            sentence = page.locator(f"#view #s{args.sentence}")
            sentence.click()
            page.locator(f'#picker-options button[data-label="{args.label}"]').click()
            page.mouse.move(0, 0)
            page.evaluate("window.scrollTo(0, 0)")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            if args.corrections:
                with page.expect_download() as download:
                    page.click("#download")
                download.value.save_as(args.corrections)
                print(f"wrote {args.corrections}")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
