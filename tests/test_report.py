"""The HTML report: self-contained (no external resources), escaped, and rendered by a real
browser without console errors and with every figure loaded."""

from __future__ import annotations

import re

import numpy as np
import pytest

from browser import browser_skip_reason, check_page
from upclens.report import Report, format_value


@pytest.fixture
def figure(tmp_path):
    from upclens import plots

    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(np.arange(5), np.arange(5) ** 2)
    path = tmp_path / "fig.png"
    plots.save_figure(fig, str(path))
    return path


def test_report_is_self_contained_and_escaped(tmp_path, figure):
    rep = Report("Study <1>", lead="a & b")
    rep.section("Numbers").table([{"name": "R^2", "value": 0.99912345}, {"name": "n", "value": 7}])
    rep.section("Figures").figure(figure, "a <parabola>").text("x < y")
    page = rep.write(tmp_path / "report.html").read_text()
    assert "<script" not in page
    # Every resource is inline: no http(s) or relative src/href except in-page anchors.
    assert not re.findall(r'(?:src|href)="(?!data:|#)', page)
    assert "Study &lt;1&gt;" in page and "a &amp; b" in page  # noqa: PT018
    assert "0.9991" in page
    assert page.count("data:image/png;base64,") == 1


def test_format_value():
    assert format_value(0.123456) == "0.1235"
    assert format_value(3) == "3"
    assert format_value(float("nan")) == "nan"
    assert format_value(None) == "None"


def test_report_renders_in_chromium(tmp_path, figure):
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    rep = Report("upclens report")
    rep.section("A").figure(figure, "first")
    rep.section("B").figure(figure, "second").table([{"a": 1.0}])
    path = rep.write(tmp_path / "report.html")
    seen = check_page(path, tmp_path / "screenshot.png")
    assert seen.console_errors == []
    assert seen.page_errors == []
    assert seen.n_images == 2
    assert seen.broken_images == []
    assert (tmp_path / "screenshot.png").stat().st_size > 1000
