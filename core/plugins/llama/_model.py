"""What the llama.cpp backends share: the GGUF a run uses, its facts, and the llama.cpp options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench_runner_core.api import BadInput, Option
from bench_runner_core.files import file_sha256
from bench_runner_core.plugins._common import option
from bench_runner_core.plugins.llama._gguf import GGUFInfo, NotGGUF, read_gguf
from bench_runner_core.records import RunConfig

LLAMA_GROUP = "llama.cpp backends (llama_cpp, llama_server)"

# Declared identically by llama_cpp and llama_server, which both pass them to llama.cpp.
LLAMA_OPTIONS = (
    Option(
        name="gpu_layers",
        type="str",
        default="0",
        help="layers to offload to the GPU (n_gpu_layers); -1 or 'all' for every layer",
        group=LLAMA_GROUP,
    ),
    Option(
        name="ctx_size",
        type="int",
        default=0,
        help="context size in tokens; 0: the model's own, at most 8192",
        group=LLAMA_GROUP,
    ),
    Option(name="threads", type="int", default=0, help="CPU threads; 0: one per physical core", group=LLAMA_GROUP),
    Option(name="batch_size", type="int", default=512, help="prompt processing batch size", group=LLAMA_GROUP),
    Option(
        name="chat_format",
        type="str",
        default=None,
        help="a llama-cpp-python chat format name; default: the GGUF's own chat template",
        group=LLAMA_GROUP,
    ),
)

DEFAULT_CTX_CAP = 8192
# llama.cpp rounds smaller contexts up to 256, and llama-cpp-python then mis-sizes its buffers
MIN_CTX = 256


def gpu_layers(config: RunConfig) -> int:
    raw = str(option(config, "gpu_layers", "0")).strip().lower()
    if raw in ("all", "-1"):
        return -1
    try:
        value = int(raw)
    except ValueError:
        value = -2
    if value < 0:
        raise BadInput(f"--gpu-layers {raw!r} is not a layer count", "pass a number >= 0, or -1 / 'all'")
    return value


def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads share a core's math units, so they do not count)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return usable
    cores: set[tuple[str, str]] = set()
    physical = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "physical id":
            physical = value.strip()
        elif key.strip() == "core id":
            cores.add((physical, value.strip()))
    return max(1, min(usable, len(cores) or usable))


def threads(config: RunConfig) -> int:
    # llama-cpp-python's own default is half the logical CPUs: one thread on a 2-vCPU machine
    requested = int(option(config, "threads", 0))
    return requested if requested > 0 else physical_cores()


def ctx_size(config: RunConfig, info: GGUFInfo) -> int:
    requested = int(option(config, "ctx_size", 0))
    if requested < 0:
        raise BadInput(f"--ctx-size {requested} is negative", "pass a token count, or 0 for the model's own")
    if requested:
        return max(requested, MIN_CTX)
    return min(info.context_length or DEFAULT_CTX_CAP, DEFAULT_CTX_CAP)


def resolve_model(config: RunConfig) -> tuple[Path, GGUFInfo]:
    """The GGUF file a run uses (``--model`` or the embedded default) and its header."""
    if config.model is None:
        from bench_runner_core.plugins.llama._default_model import default_model_path

        path = default_model_path()
    else:
        path = Path(config.model).expanduser()
        if not path.exists():
            raise BadInput(f"model file not found: {path}", "check the --model path")
        if not path.is_file():
            raise BadInput(f"--model {path} is not a file", "pass the path of a .gguf file")
    try:
        info = read_gguf(path)
    except NotGGUF as exc:
        raise BadInput(f"{path} is not a GGUF model: {exc}", "pass a .gguf file (llama.cpp loads only GGUF)") from exc
    except OSError as exc:
        raise BadInput(f"cannot read model file {path}: {exc.strerror or exc}", "check its permissions") from exc
    return path, info


def gguf_facts(path: Path, info: GGUFInfo) -> dict[str, Any]:
    """Facts about a GGUF file for the run record."""
    return {
        "model_file": path.name,
        "model_path": str(path.resolve()),
        "model_size_bytes": path.stat().st_size,
        "model_sha256": file_sha256(path),
        "model_name": info.name,
        "architecture": info.architecture,
        "quantization": info.quantization,
        "context_length_trained": info.context_length,
        "chat_template": info.chat_template is not None,
    }
