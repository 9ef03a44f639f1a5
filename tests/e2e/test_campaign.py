"""Campaigns end to end: the installed CLI, real runs (tiny GGUF, replay, scripted), real kills, a real HTTP server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fixtures.json_server import JSONHandler
from tests.fixtures.kernel import BIN, cli_env

CAMPAIGN = """
name = "{name}"
parallel = 2
seed = 3
[defaults]
echo_size = 3
max_tokens = 4
workers = 1
[[tasks]]
name = "slow scripted"
benchmark = "echo"
backend = "scripted"
options = {{ delay = 0.3, calls_log = "{name}.calls", echo_size = 6 }}
[[tasks]]
benchmark = "echo"
model = "{gguf}"
rollouts = 3
[[tasks]]
benchmark = "echo"
rollouts = 3
options = {{ samples = "answers.jsonl" }}
"""
ANSWERS = [{"id": "e0", "answer": "0"}, {"id": "e1", "answer": "2"}, {"id": "e2", "answer": "5"}]


def folder_of(tmp_path: Path, name: str) -> Path:
    (folder,) = (tmp_path / "benchmark_results" / "campaigns" / name).iterdir()
    return folder


def manifest_of(tmp_path: Path, name: str) -> dict:
    return json.loads((folder_of(tmp_path, name) / "manifest.json").read_text())


def comparable(tmp_path: Path, name: str) -> list[tuple]:
    """The comparison without what depends on the clock or on run ids."""
    report = json.loads((folder_of(tmp_path, name) / "comparison_report.json").read_text())
    assert report["schema_version"] == 1
    html = (folder_of(tmp_path, name) / "report.html").read_text()
    assert "<svg" in html or "<script" in html, "the results plugin wrote the campaign's HTML report beside it"
    return [
        (r["task"], r["completed"], r["pass_at_1_runs"], r["pass_at_1"], r["ci95_low"], r["pass_at_k"], r["cost"])
        for r in report["rows"]
    ]


def write_campaign(tmp_path: Path, name: str, gguf: Path) -> str:
    (tmp_path / "answers.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ANSWERS))
    (tmp_path / f"{name}.toml").write_text(CAMPAIGN.format(name=name, gguf=gguf))
    return f"{name}.toml"


def start_campaign(tmp_path: Path, file: str) -> subprocess.Popen[str]:
    """``campaign run FILE`` in the background, to be killed or interrupted."""
    return subprocess.Popen(
        [str(BIN), "campaign", "run", file],
        cwd=tmp_path,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, what: str, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_campaign_resumes_to_the_same_comparison_with_no_run_repeated(
    bench, tmp_path: Path, tiny_gguf: Path
) -> None:  # type: ignore[no-untyped-def]
    proc = start_campaign(tmp_path, write_campaign(tmp_path, "killed", tiny_gguf))
    results = tmp_path / "benchmark_results"

    def scripted_checkpoint() -> Path | None:
        try:
            run_id = manifest_of(tmp_path, "killed")["tasks"][0]["runs"][0]["run_id"]
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return results / run_id / "samples.jsonl"

    def mid_run() -> bool:
        path = scripted_checkpoint()
        return path is not None and path.exists() and len(path.read_text().splitlines()) >= 2

    wait_for(mid_run, "the scripted run to checkpoint two samples")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    before = manifest_of(tmp_path, "killed")
    assert before["state"] == "running"
    done_before = {
        f"{row['problem_id']}/{row['sample_index']}"
        for row in map(json.loads, scripted_checkpoint().read_text().splitlines())
    }
    assert 2 <= len(done_before) < 6

    resumed = bench("campaign", "resume", "killed", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    after = manifest_of(tmp_path, "killed")
    assert after["state"] == "complete"
    run_ids = [r["run_id"] for t in after["tasks"] for r in t["runs"]]
    assert run_ids == [r["run_id"] for t in before["tasks"] for r in t["runs"]], "every rollout kept its run"
    assert all(r["status"] == "done" and r["exit_status"] == 0 for t in after["tasks"] for r in t["runs"])
    calls = Counter((tmp_path / "killed.calls").read_text().split())
    assert all(calls[sample] == 1 for sample in done_before), "checkpointed samples were not generated again"

    uninterrupted = bench("campaign", "run", write_campaign(tmp_path, "whole", tiny_gguf), timeout=600)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert comparable(tmp_path, "killed") == comparable(tmp_path, "whole")
    rows = dict((row[0], row) for row in comparable(tmp_path, "whole"))
    assert rows["echo | answers.jsonl | samples=answers.jsonl"][2] == [2 / 3] * 3

    # no run was repeated: 7 runs per campaign, each sample checkpointed once, each run once in the history
    whole_ids = [r["run_id"] for t in manifest_of(tmp_path, "whole")["tasks"] for r in t["runs"]]
    assert sorted(p.name for p in results.iterdir() if p.is_dir() and p.name != "campaigns") == sorted(
        run_ids + whole_ids
    )
    for run_id in run_ids + whole_ids:
        lines = [json.loads(line) for line in (results / run_id / "samples.jsonl").read_text().splitlines()]
        keys = [(s["problem_id"], s["sample_index"]) for s in lines]
        assert (
            len(keys)
            == len(set(keys))
            == json.loads((results / f"{run_id}.json").read_text())["summary"]["total_samples"]
        )
    history = [r["run_id"] for r in json.loads((tmp_path / "benchmark_results.json").read_text())["runs"]]
    assert sorted(history) == sorted(run_ids + whole_ids)

    listed = bench("campaign", "list")
    assert re.search(r"killed/\d{8}_\d{6}  complete  3 tasks  runs: 7 done", listed.stdout), listed.stdout
    summary = bench("campaign", "summarize", "killed", "--json")
    assert json.loads(summary.stdout)["rows"][2]["pass_at_1"] == pytest.approx(2 / 3)


class _Flaky(JSONHandler):
    """An OpenAI-compatible server that answers HTTP 500 while ``server.down`` is set, then echo answers."""

    def do_GET(self) -> None:
        self._send({"data": [{"id": "m"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests += 1  # type: ignore[attr-defined]
        if self.server.down:  # type: ignore[attr-defined]
            self._send({"error": {"message": "overloaded"}}, status=500)
            return
        number = int(re.search(r"double (\d+)", json.dumps(body)).group(1))  # type: ignore[union-attr]
        self._send({"choices": [{"text": str(2 * number), "finish_reason": "stop"}], "usage": {"completion_tokens": 1}})


def test_retry_failed_reruns_only_the_runs_the_server_failed(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    server.down, server.requests = True, 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    (tmp_path / "c.toml").write_text(
        f"""
name = "flaky"
parallel = 2
[defaults]
echo_size = 4
workers = 1
[[tasks]]
benchmark = "echo"
backend = "scripted"
options = {{ calls_log = "scripted.calls" }}
[[tasks]]
benchmark = "echo"
model = "openai/m"
options = {{ base_url = "{url}", api = "completions", retries = 0 }}
"""
    )
    try:
        first = bench("campaign", "run", "c.toml", timeout=300)
        assert first.returncode == 1, first.stderr
        assert "bench_runner campaign retry-failed flaky/" in first.stderr
        manifest = manifest_of(tmp_path, "flaky")
        low, failing = (t["runs"][0] for t in manifest["tasks"])
        assert low["status"] == "done"  # half its answers are wrong: a low score is not a failure
        assert failing["status"] == "failed" and "4 of 4 samples failed to generate" in failing["error"]
        assert "HTTP 500" in failing["error"]
        scripted_calls = (tmp_path / "scripted.calls").read_text()

        server.down = False  # type: ignore[attr-defined]
        retried = bench("campaign", "retry-failed", "flaky", timeout=300)
        assert retried.returncode == 0, retried.stderr
    finally:
        server.shutdown()
        server.server_close()
    after = manifest_of(tmp_path, "flaky")
    low_after, fixed = (t["runs"][0] for t in after["tasks"])
    assert low_after == low, "the run that only scored low was left alone"
    assert (tmp_path / "scripted.calls").read_text() == scripted_calls
    assert fixed["status"] == "done" and fixed["replaced"] == [failing["run_id"]]
    assert after["state"] == "complete"
    report = json.loads((folder_of(tmp_path, "flaky") / "comparison_report.json").read_text())
    assert [r["pass_at_1"] for r in report["rows"]] == [0.5, 1.0]
    assert report["rankings"]["best_score"][0] == f"echo | openai/m | api=completions, base_url={url}, retries=0"

    # an older grader's verdict, recorded wrongly: `eval` regrades from the completions and reports the change
    checkpoint = tmp_path / "benchmark_results" / fixed["run_id"] / "samples.jsonl"
    lines = checkpoint.read_text().splitlines()
    first = json.loads(lines[0])
    first["attempts"][0]["verdict"]["status"] = "failed"
    checkpoint.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    regraded = bench("campaign", "eval", "flaky", timeout=300)
    assert regraded.returncode == 0, regraded.stderr
    assert f"{fixed['run_id']} {first['problem_id']}#0: failed -> passed" in regraded.stdout
    assert "1 verdicts changed" in regraded.stdout
    (evaluation,) = folder_of(tmp_path, "flaky").glob("eval_*.json")
    changes = json.loads(evaluation.read_text())["changes"]
    assert [(c["run_id"], c["before"], c["after"]) for c in changes] == [(fixed["run_id"], "failed", "passed")]


def test_a_bad_campaign_file_starts_nothing(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.toml").write_text(
        'name = "bad"\n[[tasks]]\nbenchmark = "echo"\n[[tasks]]\nbenchmark = "echo"\nrollouts = -1\n'
    )
    result = bench("campaign", "run", "c.toml")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bench_runner: error: c.toml: task 2 (echo): field 'rollouts' must be >= 1 (got -1); "
        "see `Campaigns` in the README, or the schema bench_runner_core/plugins/campaigns/campaign.schema.json"
    ]
    assert not (tmp_path / "benchmark_results").exists()


def test_ctrl_c_stops_cleanly_and_prints_the_resume_command(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.toml").write_text(
        'name = "stopped"\n[defaults]\nworkers = 1\n'
        '[[tasks]]\nbenchmark = "echo"\nbackend = "scripted"\nrollouts = 2\noptions = { delay = 0.3 }\n'
    )
    proc = start_campaign(tmp_path, "c.toml")
    results = tmp_path / "benchmark_results"
    wait_for(lambda: any(results.glob("bench_*/samples.jsonl")), "a first checkpointed sample")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert re.search(r"bench_runner campaign resume stopped/\d{8}_\d{6} --results-dir benchmark_results", err), err
    manifest = manifest_of(tmp_path, "stopped")
    assert manifest["state"] == "interrupted"
    assert [r["status"] for r in manifest["tasks"][0]["runs"]] == ["interrupted", "pending"]
    resumed = bench("campaign", "resume", "stopped", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert manifest_of(tmp_path, "stopped")["state"] == "complete"


def test_a_run_past_its_timeout_is_stopped_and_recorded_as_timed_out(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.toml").write_text(
        'name = "slow"\n[defaults]\nworkers = 1\n[[tasks]]\nbenchmark = "echo"\nbackend = "scripted"\n'
        "timeout = 1\noptions = { delay = 0.4, echo_size = 20 }\n"
    )
    result = bench("campaign", "run", "c.toml", timeout=300)
    assert result.returncode == 130, result.stderr
    (run,) = manifest_of(tmp_path, "slow")["tasks"][0]["runs"]
    assert (run["status"], run["exit_status"], run["error"]) == ("timed_out", 124, "stopped after 1s (timeout)")
    summary = json.loads((tmp_path / "benchmark_results" / f"{run['run_id']}.json").read_text())
    assert not summary["complete"] and summary["summary"]["total_samples"] < 20
