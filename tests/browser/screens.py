"""Screenshots of the pages a test visits, and the check that the main pages fit a phone's width."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import FloatRect, Page, ViewportSize

#: A phone's viewport, in CSS pixels.
NARROW: ViewportSize = {"width": 390, "height": 844}
#: The minimum and maximum heights of a screenshot in docs/screenshots, in CSS pixels.
DOCS_MIN_HEIGHT = 360
DOCS_MAX_HEIGHT = 1200

# NOTE: these pages are known to scroll sideways on a phone. Their check passes only while they still
# do, so that fixing the style sheet also means removing the entry here.
KNOWN_OVERFLOWS: set[str] = set()

# Returns the page's scroll width, the viewport's width and the innermost elements that stick out
# past the viewport's right edge, so that a failure names what to fix.
MEASURE_WIDTH = """() => {
  const limit = window.innerWidth;
  const sticksOut = (element) => element.getBoundingClientRect().right > limit + 0.5;
  const innermost = [...document.body.querySelectorAll("*")]
    .filter((element) => sticksOut(element) && ![...element.children].some(sticksOut))
    .slice(0, 5)
    .map((element) => {
      const id = element.id ? "#" + element.id : "";
      const classes = [...element.classList].map((name) => "." + name).join("");
      const text = (element.textContent || "").trim().slice(0, 40);
      return `${element.tagName.toLowerCase()}${id}${classes} "${text}"`;
    });
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: limit, innermost };
}"""


@dataclass(frozen=True)
class Screenshots:
    """Where a test's screenshots go: a folder of its own, and docs/screenshots when refreshing the docs."""

    folder: Path
    docs_folder: Path | None
    wide: ViewportSize

    def save(self, page: Page, name: str) -> Path:
        """Save a full-page PNG of ``page`` into the test's folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    def main_page(self, page: Page, name: str) -> None:
        """Save ``page``, copy it to docs/screenshots if enabled, and check that it fits 390 px."""
        self.save(page, name)
        if self.docs_folder is not None:
            self.save_for_docs(page, name)

        page.set_viewport_size(NARROW)
        try:
            measured: dict[str, Any] = page.evaluate(MEASURE_WIDTH)
            self.save(page, f"{name}-narrow")
        finally:
            page.set_viewport_size(self.wide)

        fits = measured["scrollWidth"] <= measured["innerWidth"]
        if name in KNOWN_OVERFLOWS:
            assert not fits, f"the {name} page fits {NARROW['width']} px now: remove it from KNOWN_OVERFLOWS"
        else:
            assert fits, f"the {name} page scrolls sideways at {NARROW['width']} px: {measured}"

    def save_for_docs(self, page: Page, name: str) -> None:
        """Save the top of ``page`` into docs/screenshots at the wide width, as tall as its content."""
        assert self.docs_folder is not None
        self.docs_folder.mkdir(parents=True, exist_ok=True)
        # A short viewport keeps the full-page image from padding a short page with white space.
        width = self.wide["width"]
        page.set_viewport_size({"width": width, "height": DOCS_MIN_HEIGHT})
        try:
            height: int = page.evaluate("document.documentElement.scrollHeight")
            top: FloatRect = {"x": 0, "y": 0, "width": width, "height": min(height, DOCS_MAX_HEIGHT)}
            page.screenshot(path=self.docs_folder / f"{name}.png", full_page=True, clip=top)
        finally:
            page.set_viewport_size(self.wide)
