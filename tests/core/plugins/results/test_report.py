"""The HTML report: self-contained and safe with hostile text, and in headless Chromium: charts, sorting,
a click that shows a program, no console errors, no network request. For one run, a campaign and 10,000 samples."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from bench_runner_core.plugins.results import db, report
from tests.fixtures.browser import Browser, browser  # noqa: F401 (a fixture)
from tests.fixtures.kernel import BIN, cli_env
from tests.fixtures.results import HOSTILE, synthetic_runs


def test_the_page_is_self_contained_and_hostile_text_stays_text(tmp_path: Path) -> None:
    ids = synthetic_runs(tmp_path, 12, 2)
    page = report.write_report(db.open_db(tmp_path), ids, tmp_path / "r.html").read_text()
    assert "default-src 'none'" in page  # the browser refuses any fetch
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert page.count("</script>") == 2  # the data's own "</script>" is escaped
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    assert HOSTILE in data["strings"]
    assert [r["id"] for r in data["runs"]] == ids


def check_page(browser: Browser, path: Path, shots: Path, *, rows: int) -> dict:  # noqa: F811
    seconds = browser.open(path)
    charts = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#charts figure')]"
        ".map(f => [f.dataset.chart, f.querySelectorAll('rect.bar, circle.point').length]))"
    )
    assert charts["pass1"] >= 1 and charts["facet-difficulty"] >= 3 and charts["time"] >= 1, charts
    assert browser.evaluate("document.querySelectorAll('#problems tbody tr').length") == rows
    # sort by the first run's column, then by problem id descending (twice: ascending, then descending)
    first_run = browser.evaluate(
        "[...document.querySelectorAll('#problems th')].findIndex(th => th.title.startsWith('bench_'))"
    )
    browser.evaluate(f"document.querySelector('#problems th[data-col=\"{first_run}\"]').click()")
    cells = browser.evaluate(
        f"[...document.querySelectorAll('#problems tbody tr')].map(tr => tr.children[{first_run}].textContent)"
    )
    assert cells == sorted(cells, key=lambda c: c == "✓"), cells  # failures (score 0) before passes (1)
    browser.evaluate("document.querySelector('#problems th[data-col=\"0\"]').click()")
    browser.evaluate("document.querySelector('#problems th[data-col=\"0\"]').click()")
    ids = browser.evaluate("[...document.querySelectorAll('#problems tbody tr')].map(tr => tr.dataset.problem)")
    assert ids == sorted(ids, key=lambda i: int(i.split("/")[1]), reverse=True)
    browser.evaluate("document.querySelector('#problems td.cell').click()")
    program = browser.evaluate("document.querySelector('#detail:not([hidden]) pre.program').textContent")
    assert program.startswith("def ")
    browser.screenshot(shots)
    assert browser.errors() == []
    assert browser.requests() == [path.resolve().as_uri()]
    assert browser.evaluate("document.title") != "pwned"
    return {"seconds": seconds, "render_ms": int(browser.evaluate("document.body.dataset.renderMs"))}


def test_a_single_run_in_chromium(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    ids = synthetic_runs(tmp_path, 30, 1, iterative=True)
    path = report.write_report(db.open_db(tmp_path), ids, tmp_path / "single.html")
    check_page(browser, path, tmp_path / "single.png", rows=30)
    assert browser.evaluate("document.querySelector('figure[data-chart=iterative]') !== null")
    browser.evaluate("document.querySelector('#problems tbody tr td.cell').click()")
    hostile = browser.evaluate("[...document.querySelectorAll('pre.program')].map(p => p.textContent).join()")
    detail = browser.evaluate("document.querySelector('#detail-title').textContent")
    assert "T/" in detail and hostile


def test_a_campaign_report_from_the_cli_in_chromium(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    results_dir = tmp_path / "benchmark_results"
    ids = synthetic_runs(results_dir, 40, 3)
    folder = results_dir / "campaigns" / "weekly" / "20261130_120000"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"runs": {"a": ids[0], "b": ids[1], "c": ids[2]}}))
    env = cli_env(tmp_path, plugins="")
    out = subprocess.run([str(BIN), "report", "--campaign", "weekly", "-o", "campaign.html"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    check_page(browser, tmp_path / "campaign.html", tmp_path / "campaign.png", rows=40)
    beside = report.write_campaign_report(folder)
    assert beside == folder / "report.html" and beside.stat().st_size > 0


def test_ten_thousand_samples_in_chromium(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    ids = synthetic_runs(tmp_path, 1000, 10)
    path = report.write_report(db.open_db(tmp_path), ids, tmp_path / "big.html")
    assert path.stat().st_size < 20e6
    timing = check_page(browser, path, tmp_path / "big.png", rows=report_page_size())
    assert "1000 problems · page 1 of 5" in browser.evaluate("document.querySelector('#pager').textContent")
    assert timing["render_ms"] > 0


def report_page_size() -> int:
    return int(re.search(r"const PAGE = (\d+);", (Path(report.__file__).parent / "report.js").read_text()).group(1))


@pytest.mark.parametrize("bad", [["report"], ["report", "--all", "bench_x"]])
def test_report_needs_exactly_one_source(bad: list[str], tmp_path: Path) -> None:
    out = subprocess.run(
        [str(BIN), *bad], cwd=tmp_path, env=cli_env(tmp_path, plugins=""), capture_output=True, text=True
    )
    assert out.returncode == 2 and "report needs run ids, --campaign or --all" in out.stderr
