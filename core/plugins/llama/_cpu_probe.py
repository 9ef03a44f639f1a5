"""Whether llama.cpp's extra CPU buffer types (AMX, weight repacking) work on this machine.

Some virtual machines advertise AMX in ``/proc/cpuinfo`` without letting a
process use it; llama.cpp then dies with SIGSEGV on the first decode, which no
``except`` can catch. On CPUs that advertise AMX the answer is found once, in a
throwaway child process, and cached per llama-cpp-python version, quantization
and CPU flags. Elsewhere nothing is probed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from bench_runner_core.files import cache_dir

log = structlog.get_logger()
_patch_lock = threading.Lock()

_PROBE = """
import sys, llama_cpp
llm = llama_cpp.Llama(sys.argv[1], n_ctx=256, n_batch=32, verbose=False)
llm.create_completion("def f(a, b):\\n    return", max_tokens=2, temperature=0)
"""

# Runs llama-cpp-python's server with extra buffer types off (see disabled_extra_buffers).
SERVER_BOOT = """
import runpy, sys
from bench_runner_core.plugins.llama._cpu_probe import disabled_extra_buffers
with disabled_extra_buffers():
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def extra_buffers_work(model: Path, quantization: str | None) -> bool:
    """False when llama.cpp crashes on this CPU with its extra buffer types (probed once, cached)."""
    flags = _cpu_flags()
    if not any(flag.startswith("amx") for flag in flags):
        return True
    import llama_cpp

    key = hashlib.sha256(f"{llama_cpp.__version__}|{quantization}|{' '.join(sorted(flags))}".encode()).hexdigest()[:16]
    cache_file = cache_dir() / "cpu_probe.json"
    try:
        cached: dict[str, Any] = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cached = {}
    if key in cached:
        return bool(cached[key])
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(model)], capture_output=True, timeout=300, stdin=subprocess.DEVNULL
        )
        works = done.returncode == 0
    except subprocess.TimeoutExpired:
        works = False
    if not works:
        log.warning("llama_cpp_extra_buffers_off", reason="llama.cpp crashed with them on this CPU (AMX)")
    cached[key] = works
    with contextlib.suppress(OSError):
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cached))
    return works


@contextlib.contextmanager
def disabled_extra_buffers() -> Iterator[None]:
    """Models loaded inside this block use plain CPU buffers (no AMX, no repacking)."""
    from llama_cpp import llama as llama_module

    # llama-cpp-python exposes no parameter for this; it reads the defaults from this function
    with _patch_lock:
        original = llama_module.llama_cpp.llama_model_default_params

        def without_extra() -> Any:
            params = original()
            params.use_extra_bufts = False
            return params

        llama_module.llama_cpp.llama_model_default_params = without_extra
        try:
            yield
        finally:
            llama_module.llama_cpp.llama_model_default_params = original
