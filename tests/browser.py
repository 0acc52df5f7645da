"""Open an HTML file in headless Chromium (Playwright driving the system's Chromium) and report
console errors, figures that did not load, and a screenshot."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


def chromium_path() -> str | None:
    """Path of an installed Chromium, or None."""
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_skip_reason() -> str | None:
    """Why a browser test cannot run here (None when it can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return "no Chromium installed (apt-get install chromium; .ci/run does)"
    return None


@dataclass
class PageCheck:
    """What the browser saw."""

    console_errors: list[str]
    page_errors: list[str]
    n_images: int
    broken_images: list[str]
    title: str


def check_page(html_file: Path, screenshot: Path) -> PageCheck:
    """Load ``html_file`` (file:// URL), wait for it, collect errors and image states."""
    from playwright.sync_api import sync_playwright

    console_errors: list[str] = []
    page_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console_errors.append(m.text)
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(html_file.resolve().as_uri(), wait_until="load")
            images = page.evaluate(
                "() => Array.from(document.images).map(i => "
                "({alt: i.alt, ok: i.complete && i.naturalWidth > 0}))")
            page.screenshot(path=str(screenshot), full_page=True)
            title = page.title()
        finally:
            browser.close()
    broken = [img["alt"] for img in images if not img["ok"]]
    return PageCheck(console_errors, page_errors, len(images), broken, title)
