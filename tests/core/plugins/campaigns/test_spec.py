"""Campaign files: the shipped schema, one-line errors, and expansion into tasks (no runs start)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.kernel import Kernel
from bench_runner_core.manager import DEFAULT_PLUGINS, Registry, make_plugin_manager
from bench_runner_core.plugins.campaigns import spec
from tests.fixtures import echo_plugin


@pytest.fixture
def kernel() -> Kernel:
    pm = make_plugin_manager(builtins=DEFAULT_PLUGINS, extra_plugins=[echo_plugin], load_entry_points=False)
    return Kernel(registry=Registry(pm))


def load(kernel: Kernel, tmp_path: Path, text: str, **overrides: object) -> spec.Campaign:
    (tmp_path / "c.toml").write_text(text)
    return spec.load(str(tmp_path / "c.toml"), kernel, spec.Overrides(**overrides))[1]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[tasks]]\nbenchmark = "echo"\n[[tasks]]\nbenchmark = "echo"\nrollouts = 0\n',
            r"c\.toml: task 2 \(echo\): field 'rollouts' must be >= 1 \(got 0\); see `Campaigns`",
        ),
        (
            '[[tasks]]\nbenchmark = "echo"\nrollout = 3\n',
            r"task 1 \(echo\): unknown field 'rollout' \(allowed: .*backend, .*rollouts, .*temperature",
        ),
        (
            '[[tasks]]\nbenchmark = "echo"\nmodels = "some"\n',
            r"field 'models' 'some' is not allowed \(allowed: a list of models, \"all\" or \"@category\"\)",
        ),
        ('[[tasks]]\nbenchmark = "echo"\ntemperature = "hot"\n', r"field 'temperature' must be number \(got 'hot'\)"),
        ('parallel = 0\n[[tasks]]\nbenchmark = "echo"\n', r"c\.toml: field 'parallel' must be >= 1"),
        ("parallel = 2\n", r"the file has no tasks"),
        (
            '[defaults]\nbenchmark = "echo"\n[[tasks]]\nbenchmark = "echo"\n',
            r"'defaults\.benchmark' is not allowed here",
        ),
        ('[[tasks]]\nbenchmark = "echo"\nmodel = "a"\nmodels = ["b"]\n', r"task 1 \(echo\): give model or models, not"),
        ('[[tasks]]\nbenchmark = "nope"\n', r"c\.toml: task 1 \(nope\): unknown benchmark 'nope'"),
        (
            '[[tasks]]\nbenchmark = "echo"\noptions = { colour = 1 }\n',
            r"unknown option 'colour' in .*c\.toml: task 1 \(echo",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_the_task_the_field_and_what_is_allowed(
    kernel: Kernel, tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        load(kernel, tmp_path, 'name = "c"\n' + body)
    assert "\n" not in str(caught.value)


def test_tasks_defaults_generators_and_flags_expand_to_runs(kernel: Kernel, tmp_path: Path) -> None:
    campaign = load(
        kernel,
        tmp_path,
        """
name = "grid"
seed = 7
test_mode = true
[defaults]
max_tokens = 64
echo_size = 9
rollouts = 2
[[tasks]]
benchmark = "echo"
backend = "scripted"
rollouts = 3
timeout = 30
[[generators]]
benchmarks = ["echo"]
models = ["scripted/a", "ollama/llama3"]
grid = { temperature = [0.0, 0.8] }
""",
        parallel=3,
    )
    assert (campaign.parallel, campaign.seed, campaign.test_mode) == (3, 7, True)
    first, *grid = campaign.tasks
    assert (first.rollouts, first.timeout, first.label) == (3, 30, "backend=scripted")
    assert first.settings["max_tokens"] == 64 and first.settings["echo_size"] == 9 and first.settings["limit"] == 5
    assert [(t.model, t.label, t.rollouts) for t in grid] == [
        ("scripted/a", "temperature=0.0", 2),
        ("ollama/llama3", "temperature=0.0", 2),
        ("scripted/a", "temperature=0.8", 2),
        ("ollama/llama3", "temperature=0.8", 2),
    ]
    config = kernel.config({**grid[1].settings, "seed": 0}, source="test")
    assert (config.backend, config.model) == ("ollama", "llama3")


def test_a_repeated_task_is_an_error(kernel: Kernel, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"task 2 repeats task 1 \(echo \| scripted"):
        load(kernel, tmp_path, 'name = "c"\n' + '[[tasks]]\nbenchmark = "echo"\nbackend = "scripted"\n' * 2)


def test_models_file_names_categories_and_disabled_models(kernel: Kernel, tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(
        """
[models.fast]
model = "openai/gpt-4o-mini"
name = "GPT-4o mini"
categories = ["coding", "fast"]
api_key_env = "MY_KEY"
[models.local]
model = "ollama/qwen2.5-coder:1.5b"
categories = ["coding"]
options = { concurrency = 2 }
[models.off]
model = "ollama/llama3"
categories = ["coding"]
enabled = false
"""
    )
    campaign = load(
        kernel, tmp_path, 'name = "c"\nmodels_file = "models.toml"\n[[tasks]]\nbenchmark = "echo"\nmodels = "@coding"\n'
    )
    assert [(t.display, t.model) for t in campaign.tasks] == [
        ("GPT-4o mini", "openai/gpt-4o-mini"),
        ("local", "ollama/qwen2.5-coder:1.5b"),
    ]
    assert campaign.tasks[0].settings["api_key_env"] == "MY_KEY"
    assert campaign.tasks[1].settings["concurrency"] == 2
    by_name = load(
        kernel,
        tmp_path,
        'name = "c"\n[[tasks]]\nbenchmark = "echo"\nmodel = "local"\n',
        models_file=str(tmp_path / "models.toml"),
    )
    assert by_name.tasks[0].model == "ollama/qwen2.5-coder:1.5b"
    with pytest.raises(
        BadInput,
        match=r"bad\.toml: model 'x': unknown field 'colour' \(allowed: api_key_env, backend, categories, enabled",
    ):
        (tmp_path / "bad.toml").write_text('[models.x]\nmodel = "a"\ncolour = 1\n')
        load(kernel, tmp_path, 'name = "c"\nmodels_file = "bad.toml"\n[[tasks]]\nbenchmark = "echo"\n')


def test_models_all_is_the_gguf_files_of_a_folder_and_the_ollama_models(
    kernel: Kernel, tmp_path: Path, tiny_gguf: Path, ollama, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = ollama
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    (tmp_path / "gguf").mkdir()
    for name in ("a.gguf", "b.gguf"):
        shutil.copy(tiny_gguf, tmp_path / "gguf" / name)
    campaign = load(
        kernel,
        tmp_path,
        f'name = "c"\nmodel_folders = ["gguf"]\n[defaults.options]\nollama_url = "{url}"\n'
        '[[tasks]]\nbenchmark = "echo"\nmodels = "all"\n',
    )
    assert [t.model for t in campaign.tasks] == [
        str(tmp_path / "gguf" / "a.gguf"),
        str(tmp_path / "gguf" / "b.gguf"),
        "ollama/qwen2.5-coder:1.5b",
    ]
    config = kernel.config({**campaign.tasks[2].settings, "seed": 0}, source="test")
    assert (config.backend, config.model) == ("ollama", "qwen2.5-coder:1.5b")
    assert kernel.config({**campaign.tasks[0].settings}, source="test").backend == "llama_cpp"


@pytest.mark.parametrize(
    ("model", "backend", "name"),
    [
        ("ollama/llama3", "ollama", "llama3"),
        ("openai/gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("llama_server/x.gguf", "llama_server", "x.gguf"),
        ("models/x.gguf", "llama_cpp", "models/x.gguf"),  # no backend is called "models": a path
        ("org/model-name", "llama_cpp", "org/model-name"),
    ],
)
def test_model_specs_name_the_backend(kernel: Kernel, model: str, backend: str, name: str) -> None:
    config = kernel.config({"benchmark": "echo", "model": model}, source="test")
    assert (config.backend, config.model) == (backend, name)


def test_an_existing_path_is_a_path_even_if_it_looks_like_a_spec(
    kernel: Kernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ollama").mkdir()
    (tmp_path / "ollama" / "m.gguf").write_bytes(b"GGUF")
    config = kernel.config({"benchmark": "echo", "model": "ollama/m.gguf"}, source="test")
    assert (config.backend, config.model) == ("llama_cpp", "ollama/m.gguf")


def test_files_named_in_the_campaign_are_found_beside_it(
    kernel: Kernel, tmp_path: Path, tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(tiny_gguf, tmp_path / "m.gguf")
    (tmp_path / "s.jsonl").write_text("")
    monkeypatch.chdir(tmp_path.parent)
    campaign = load(
        kernel,
        tmp_path,
        'name = "c"\n[[tasks]]\nbenchmark = "echo"\nmodel = "m.gguf"\n'
        '[[tasks]]\nbenchmark = "echo"\noptions = { samples = "s.jsonl" }\n'
        '[[tasks]]\nbenchmark = "echo"\nmodel = "ollama/m.gguf"\n',
    )
    gguf, replay, spec_model = campaign.tasks
    assert gguf.settings["model"] == str(tmp_path / "m.gguf") and gguf.display == "m.gguf"
    assert replay.settings["samples"] == str(tmp_path / "s.jsonl") and replay.label == "samples=s.jsonl"
    assert spec_model.settings["model"] == "ollama/m.gguf"


def test_rollouts_get_seed_plus_r_and_fixed_run_ids(kernel: Kernel, tmp_path: Path) -> None:
    from bench_runner_core.plugins.campaigns.manifest import new_manifest

    campaign = load(
        kernel,
        tmp_path,
        'name = "c"\nseed = 7\n[[tasks]]\nbenchmark = "echo"\nbackend = "scripted"\nrollouts = 3\n'
        '[[tasks]]\nbenchmark = "echo"\nbackend = "scripted"\nseed = 100\nrollouts = 2\n',
    )
    manifest = new_manifest("c.toml", {}, campaign)
    assert [[r.seed for r in t.runs] for t in manifest.tasks] == [[7, 8, 9], [100, 101]]
    run_ids = [r.run_id for _, r in manifest.runs()]
    assert len(set(run_ids)) == 5 and all(r.status == "pending" for _, r in manifest.runs())


def test_a_json_campaign_file_works_like_toml(kernel: Kernel, tmp_path: Path) -> None:
    import json

    body = {"name": "j", "parallel": 2, "tasks": [{"benchmark": "echo", "backend": "scripted", "rollouts": 2}]}
    (tmp_path / "c.json").write_text(json.dumps(body))
    source, campaign = spec.load(str(tmp_path / "c.json"), kernel, spec.Overrides())
    assert source == body and campaign.parallel == 2 and campaign.tasks[0].rollouts == 2
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(BadInput, match=r"campaign file '.*bad\.json' is not valid JSON"):
        spec.load(str(tmp_path / "bad.json"), kernel, spec.Overrides())
