"""``bench_runner models``: GGUF files on this machine and an Ollama server's models."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import click

from bench_runner_core.convert import dumps
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.plugins._files import cache_dir
from bench_runner_core.plugins.gguf_meta import NotGGUF, read_gguf
from bench_runner_core.registry import CommandRegistrar


@attrs.frozen(kw_only=True)
class ModelInfo:
    """One model ``--model`` can name: a GGUF path (source ``file``) or an Ollama model name (``ollama``)."""

    name: str
    source: str
    size_bytes: int | None = None
    quantization: str | None = None
    architecture: str | None = None
    context_length: int | None = None
    path: str | None = None
    parameters: str | None = None
    error: str | None = None


def usual_folders() -> list[Path]:
    """Where GGUF files usually live: our cache, Hugging Face's, LM Studio's, llama.cpp's."""
    home = Path(os.path.expanduser("~"))
    xdg = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    hf = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME") or xdg / "huggingface") / "hub")
    return [cache_dir() / "models", hf, xdg / "lm-studio" / "models", home / ".lmstudio" / "models", xdg / "llama.cpp"]


def _gguf_files(folders: Iterable[Path]) -> Iterator[Path]:
    seen: set[str] = set()
    for folder in folders:
        if folder.is_file() and folder.suffix.lower() == ".gguf":
            candidates: Iterable[Path] = [folder]
        elif folder.is_dir():
            candidates = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".gguf")
        else:
            continue
        for path in candidates:
            # the Hugging Face cache links snapshot names to blobs: report each file once
            real = os.path.realpath(path)
            if real in seen or not os.path.isfile(real):
                continue
            seen.add(real)
            yield path


def _file_model(path: Path) -> ModelInfo:
    size = os.path.getsize(path)
    try:
        info = read_gguf(path)
    except (NotGGUF, OSError) as exc:
        return ModelInfo(name=path.name, source="file", path=str(path), size_bytes=size, error=str(exc))
    return ModelInfo(
        name=path.name,
        source="file",
        path=str(path),
        size_bytes=size,
        quantization=info.quantization,
        architecture=info.architecture,
        context_length=info.context_length,
        parameters=info.metadata.get("general.size_label"),
    )


def ollama_models(url: str, timeout: float = 2.0) -> list[ModelInfo]:
    """The models an Ollama server at ``url`` lists, or none when nothing answers there."""
    from bench_runner_core.api import BadInput
    from bench_runner_core.plugins._http import Client, RequestFailed, Transient

    client = Client(url, timeout=timeout, attempts=1)
    try:
        tags = client.get_json("/api/tags") or {}
    except (Transient, RequestFailed, BadInput):  # an absent server is normal here; nothing to report
        return []
    found = []
    for model in tags.get("models", []):
        details = model.get("details") or {}
        found.append(
            ModelInfo(
                name=model.get("name", "?"),
                source="ollama",
                size_bytes=model.get("size"),
                quantization=details.get("quantization_level"),
                architecture=details.get("family"),
                parameters=details.get("parameter_size"),
            )
        )
    return found


def list_models(folders: list[str], ollama_url: str | None) -> list[ModelInfo]:
    """GGUF files under ``folders`` and the usual caches, then the Ollama server's models if one answers.

    ``ollama_url`` None means the default server (``$OLLAMA_HOST`` or 127.0.0.1:11434).
    """
    from bench_runner_core.plugins.ollama import ollama_url as resolve_url

    paths = [Path(f).expanduser() for f in folders] + usual_folders()
    files = [_file_model(path) for path in _gguf_files(paths)]
    return files + ollama_models(resolve_url(ollama_url))


@click.command(name="models")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False))
@click.option("--ollama-url", default=None, help="also list this Ollama server's models")
@click.option("--json", "as_json", is_flag=True, help="print JSON lines")
def list_models_command(folders: tuple[str, ...], ollama_url: str | None, as_json: bool) -> None:
    """GGUF files under FOLDERS and the usual caches, and an Ollama server's models."""
    for model in list_models(list(folders), ollama_url):
        if as_json:
            click.echo(dumps(model))
            continue
        size = f"{model.size_bytes / 1e6:,.0f} MB" if model.size_bytes else "?"
        where = model.path or model.source
        click.echo(
            f"{model.name}  {model.quantization or '?'}  {size}  {where}"
            + (f"  ({model.error})" if model.error else "")
        )


@hookimpl
def bench_runner_register_commands(register: CommandRegistrar) -> None:
    register(list_models_command)
