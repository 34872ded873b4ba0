"""The report on a phone-width screen and printed, in Debian's headless Chromium (offline).

The page never scrolls sideways at 375 px (wide tables scroll in their own box), the
answer and the ranked sites come before day and night, and printing gives a PDF whose
pages are A4 portrait with the figures kept.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from defibmap.study.pipeline import StudyResult

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium", allow_module_level=True)

ARGS = ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyResult, Path]:
    from defibmap import run_study
    from defibmap.outputs.report import write_report

    result = run_study("demo-town")
    path = tmp_path_factory.mktemp("phone") / "report.html"
    write_report(result, path)
    return result, path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def test_phone_width_never_scrolls_sideways(report: tuple[StudyResult, Path], browser: Any) -> None:
    result, path = report
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(path.as_uri(), wait_until="load")
        width = page.evaluate("() => document.documentElement.clientWidth")
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll <= width, (scroll, width)
        # every table sits in a box that scrolls sideways on its own
        overflow = page.evaluate(
            "() => Array.from(document.querySelectorAll('table'))"
            ".map(t => getComputedStyle(t.parentElement).overflowX)"
        )
        assert overflow
        assert set(overflow) == {"auto"}
        # images fit the screen
        widths = page.evaluate(
            "() => Array.from(document.images).map(i => i.getBoundingClientRect().right)"
        )
        assert widths
        assert max(widths) <= width + 0.5
        headings = page.locator("h2").all_inner_texts()
        assert headings.index("Ranked sites") < headings.index("Day and night")
        answer = page.locator("p.answer").inner_text()
        top = result.recommendations.sort_values("rank")["name"].iloc[0]
        assert str(top) in answer
    finally:
        context.close()


def test_prints_to_pdf(report: tuple[StudyResult, Path], browser: Any, tmp_path: Path) -> None:
    _result, path = report
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(path.as_uri(), wait_until="load")
        page.emulate_media(media="print")
        assert page.evaluate("() => getComputedStyle(document.body).maxWidth") == "none"
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF")
        pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
        assert pages >= 2  # the whole report, not a clipped first screen
    finally:
        context.close()
