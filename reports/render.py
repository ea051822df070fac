"""Render the HTML weekly report in a real headless Chromium (Debian's `chromium`) to a PNG and a PDF.

apt-get install chromium fonts-noto-cjk        # the browser and the Chinese fonts it draws with
.venv/bin/python -m pipeline render            # the report of the week before DW_AS_OF, then PNG + PDF
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

# Flags for a closed network and root: without the background-networking ones Chromium keeps dialling out.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--run-all-compositor-stages-before-draw",
    "--virtual-time-budget=3000",
)


def chromium() -> str | None:
    return next(
        (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None
    )


def page_height(html: Path, width: int) -> int:
    """The page's full height in CSS pixels, which the report's template writes into <html data-height>."""
    import re

    found = re.search(r'data-height="(\d+)"', dump_dom(html, width=width))
    return int(found.group(1)) if found else 2600


def render(html: Path, width: int = 1280, height: int | None = None) -> tuple[Path, Path]:
    """A PNG of the whole page (its full height unless `height` is given) and an A4 PDF (the page's @page rule)."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("no Chromium found: install it with `apt-get install chromium fonts-noto-cjk`")
    height = height or page_height(html, width)
    png, pdf = html.with_suffix(".png"), html.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        common = [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        for target in ([f"--screenshot={png}"], [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"]):
            subprocess.run([*common, *target, html.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    return png, pdf


def dump_dom(page: Path, offline: bool = True, width: int = 1280) -> str:
    """The page's DOM after its scripts ran, as Chromium sees it; offline, every request off the machine fails."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("no Chromium found: install it with `apt-get install chromium fonts-noto-cjk`")
    no_network = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"] if offline else []
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        completed = subprocess.run(
            [
                browser,
                *FLAGS,
                *no_network,
                f"--user-data-dir={profile}",
                f"--window-size={width},800",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return completed.stdout.decode("utf-8")
