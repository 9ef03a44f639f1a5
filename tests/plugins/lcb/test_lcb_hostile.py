"""Hostile LiveCodeBench samples through the real CLI: none changes another's verdict, none blames the sandbox."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.fixtures.kernel import BIN, cli_env

O1_MINI = "submissions__O1-Mini-2024-09-12_N1__Scenario.codegeneration_1_0.2_eval_all.json"

DEEP_TREE = (
    "import os\ntop = os.getcwd()\nfor _ in range(1500):\n    os.mkdir('d')\n    os.chdir('d')\n"
    "os.chmod('.', 0)\nos.chdir(top)\n"
)


def test_hostile_samples_do_not_change_the_next_verdict(shared_data: Path, tmp_path: Path) -> None:
    outputs = json.loads((shared_data / "lcb" / "model_outputs" / O1_MINI).read_text())
    correct = {r["question_id"]: r["code_list"][0] for r in outputs if r["question_id"] in ("1873_A", "2727")}
    samples = [
        {
            "question_id": "1873_A",
            # a deep tree left behind, then a correct answer; a 'sNaN' answer; then the plain correct one
            "code_list": [DEEP_TREE + correct["1873_A"], "print('sNaN')", correct["1873_A"]],
        },
        {
            "question_id": "2727",
            "code_list": [DEEP_TREE + correct["2727"], "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"],
        },
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(samples))
    env = cli_env(tmp_path, plugins="")
    env["BENCH_RUNNER_LOAD_PLUGINS"] = "lcb"
    done = subprocess.run(
        [
            str(BIN),
            "--benchmark", "lcb",
            "--samples", str(path),
            "--problems-file", str(shared_data / "lcb" / "code_generation_lite"),
            "--release-version", "release_v1",
            "--workers", "1",  # every sample on the same worker, one after the other
            "--json",
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    run_dir = tmp_path / "benchmark_results" / summary["run_id"]
    verdicts = {}
    for line in (run_dir / "samples.jsonl").read_text().splitlines():
        row = json.loads(line)
        if "problem_id" in row:
            verdicts[(row["problem_id"], row["sample_index"])] = row["attempts"][-1]["verdict"]
    statuses = {key: verdict["status"] for key, verdict in verdicts.items()}
    assert statuses == {
        ("1873_A", 0): "passed",
        ("1873_A", 1): "failed",
        ("1873_A", 2): "passed",
        ("2727", 0): "passed",
        ("2727", 1): "error",
    }, verdicts
    assert not any("sandbox" in verdict["detail"].split("\n")[0] for verdict in verdicts.values()), verdicts
    # the shipped test data has private tests for one problem only: said at the start and in the summary
    assert "lcb_public_tests_only" in done.stderr
    assert "not comparable" in summary["metadata"]["benchmark"]["public_tests_only"]["warning"]
    for key in ("filesystem_root", "ipc_namespace", "keyrings", "cpu_cgroup"):
        assert key in summary["metadata"]["sandbox"]
