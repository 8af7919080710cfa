"""Take ``docs/report.png``, the README's picture of a run report.

Usage::

    harness run --report            # or harness report RUN
    python scripts/report_screenshot.py runs/latest/report.html docs/report.png

Opens the page in Debian's chromium through playwright (``pip install -e '.[browser]'``,
``apt-get install chromium``) and stitches the header, the run table, the timeline and the
first two equity/drawdown cards of the strategy section into one 1280-pixel-wide PNG (Pillow).
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path
from typing import Any

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH = 1280


def main(page_path: Path, out: Path) -> int:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    shots: list[Any] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        page.goto(page_path.resolve().as_uri())
        page.wait_for_function("document.body.dataset.chartsReady !== undefined")

        def grab(locator: Any, height: float | None = None, above: float = 6) -> None:
            top = page.evaluate("window.scrollY")
            box = locator.bounding_box()
            clip = {
                "x": 0,
                "y": box["y"] + top - above,
                "width": WIDTH,
                "height": (height or box["height"]) + above + 6,
            }
            shots.append(Image.open(io.BytesIO(page.screenshot(clip=clip, full_page=True))))

        grab(page.locator("header"))
        run = page.locator("#run")
        phases = page.locator("#run .scroll").first.bounding_box()
        grab(run, height=phases["y"] + phases["height"] - run.bounding_box()["y"])
        grab(page.locator("#timeline"))
        grid = page.locator("#strategy .grid").first
        card = page.locator("#strategy .card").first
        grab(grid, height=card.bounding_box()["height"] * 2 + 20, above=0)
        browser.close()
    canvas = Image.new("RGB", (WIDTH, sum(s.height for s in shots)), "white")
    y = 0
    for shot in shots:
        canvas.paste(shot, (0, y))
        y += shot.height
    canvas.save(out, optimize=True)
    print(f"wrote {out} ({canvas.size[0]}x{canvas.size[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
