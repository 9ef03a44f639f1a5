"""Rebuild the shipped demo subsets (bench_runner_optimizers/demo_data) from full copies of the datasets.

    python plugins/optimizers/make_demo_data.py ../shared/data

Each subset is the first rows of the standard files, in the same layout, so the
loaders split it exactly as they split the full files.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "bench_runner_optimizers" / "demo_data"

# folder -> (file, rows kept, gzip?)
SUBSETS = {
    "gsm8k": [("train.jsonl", 200, False), ("test.jsonl", 100, False)],
    "hotpotqa": [
        ("rpt_distractor_train.jsonl", 30, True),
        ("rpt_distractor_dev.jsonl", 20, True),
        ("rpt_distractor_test.jsonl", 40, True),
    ],
    "arc": [("ARC-Challenge-Dev.jsonl", 100, False), ("ARC-Challenge-Test.jsonl", 100, False)],
    "math_small": [("math500_test.jsonl", 150, False)],
}
BBH_ROWS_PER_TASK = 10
# arc/ and math_small/ get a LICENSE written by hand: the full copies ship none
LICENCES = {"gsm8k": ["LICENSE"], "hotpotqa": ["LICENSE.RPT"], "bbh": ["LICENSE"], "arc": [], "math_small": []}


def main(source: Path) -> None:
    for folder, files in SUBSETS.items():
        (OUT / folder).mkdir(parents=True, exist_ok=True)
        for name, rows, zipped in files:
            lines = (source / folder / name).read_text(encoding="utf-8").splitlines(keepends=True)[:rows]
            target = OUT / folder / (name + (".gz" if zipped else ""))
            data = "".join(lines).encode("utf-8")
            target.write_bytes(gzip.compress(data, mtime=0) if zipped else data)
    (OUT / "bbh").mkdir(parents=True, exist_ok=True)
    for task in sorted((source / "bbh").glob("*.json")):
        data = json.loads(task.read_text(encoding="utf-8"))
        data["examples"] = data["examples"][:BBH_ROWS_PER_TASK]
        (OUT / "bbh" / task.name).write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    for folder, names in LICENCES.items():
        for name in names:
            shutil.copy(source / folder / name, OUT / folder / name)
        upstream = (source / folder / "SOURCE.txt").read_text(encoding="utf-8")
        (OUT / folder / "SOURCE.txt").write_text(
            "Demo subset shipped with bench-runner-optimizers: the first rows of each file below "
            "(BBH: the first 10 examples of each task), made by plugins/optimizers/make_demo_data.py.\n"
            "The provenance and licence of the full copy it was cut from follow.\n\n" + upstream,
            encoding="utf-8",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
