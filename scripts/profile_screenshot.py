"""Take the screenshot of a `stanceframe profile` report for the docs, with Debian's headless Chromium.

.venv/bin/python scripts/profile_screenshot.py outputs/profile/report.html docs/img/profile-report.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = next((path for path in CHROMIUM_PATHS if Path(path).exists()), None)
    if chromium is None:
        sys.exit("Debian's chromium is not installed: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.report.resolve().as_uri())
        page.wait_for_load_state("load")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
