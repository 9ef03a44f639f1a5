"""Size and speed of the HTML report at 10,000 samples.

    python bench/report_size.py [--problems 1000] [--runs 10]

Writes that many synthetic runs (programs of about 300 characters), times writing the report,
and, when Chromium is installed, times loading it headless until its script has drawn
everything (and the script's own share of that).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_runner_core.plugins.results import db, report
from tests.fixtures.browser import CHROMIUM, Browser
from tests.fixtures.results import synthetic_runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ids = synthetic_runs(root, args.problems, args.runs)
        conn = db.open_db(root)
        started = time.perf_counter()
        path = report.write_report(conn, ids, root / "report.html")
        written = time.perf_counter() - started
        print(f"{args.runs} runs x {args.problems} problems = {args.runs * args.problems} samples")
        print(f"report: {path.stat().st_size / 1e6:.2f} MB, written in {written:.2f} s")
        if CHROMIUM is None:
            print("chromium not installed: no load time")
            return
        browser = Browser(root / "profile")
        try:
            loads = [browser.open(path) for _ in range(3)]
            script_ms = int(browser.evaluate("document.body.dataset.renderMs"))
        finally:
            browser.close()
        print(
            f"headless Chromium: loaded and drawn in {min(loads):.2f} s (best of 3), the script's part {script_ms} ms"
        )


if __name__ == "__main__":
    main()
