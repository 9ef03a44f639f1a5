"""Why a GGUF model did not load: llama.cpp says so only in its log, so the backend keeps its recent lines."""

from __future__ import annotations

import collections
from typing import Any

from bench_runner_core.api import BadInput

#: the recent lines of llama.cpp's log
_LOG_LINES: collections.deque[str] = collections.deque(maxlen=80)
_log_state: dict[str, Any] = {}


def capture() -> None:
    """Route llama.cpp's log into ``_LOG_LINES`` (set up once per process), starting empty: call before a load."""
    _LOG_LINES.clear()
    if "callback" in _log_state:
        return
    import ctypes

    import llama_cpp

    pending: list[str] = []

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        pending.append(text.decode("utf-8", errors="replace"))
        if pending[-1].endswith("\n"):
            _LOG_LINES.append("".join(pending).rstrip())
            pending.clear()

    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    _log_state["callback"] = callback  # a ctypes callback must outlive its registration


def failure(name: str, arch: str | None, layers: int) -> BadInput:
    """Why the load of ``name`` failed, as llama.cpp's log since ``capture`` tells it, with the fix."""
    lines = list(_LOG_LINES)
    text = "\n".join(lines).lower()
    if "unknown model architecture" in text:
        import llama_cpp

        return BadInput(
            f"{name}: llama.cpp (llama-cpp-python {llama_cpp.__version__}) cannot load architecture {arch!r}",
            "upgrade llama-cpp-python or use a model of a supported architecture",
        )
    if any(word in text for word in ("out of memory", "failed to allocate", "unable to allocate", "cudamalloc")):
        if layers != 0:
            return BadInput(
                f"out of memory loading {name} with --gpu-layers {layers if layers >= 0 else 'all'}",
                "lower --gpu-layers (or --ctx-size)",
            )
        return BadInput(f"out of memory loading {name}", "lower --ctx-size or use a smaller quantization")
    errors = [line.strip() for line in lines if "error" in line.lower() or "failed" in line.lower()]
    reason = errors[-1] if errors else "llama.cpp refused the file"
    return BadInput(f"llama.cpp could not load {name}: {reason}", "check the file is a complete, valid GGUF")
