"""The ``ollama`` backend: models served by an Ollama server (``--ollama-url``).

Generation goes through Ollama's OpenAI-compatible ``/v1`` API; the native
``/api`` endpoints say which models exist and what they are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from bench_runner_core.api import BadInput, Option
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.plugins import _common, _compat
from bench_runner_core.plugins._http import Client, Transient
from bench_runner_core.records import PromptStyle, RunConfig
from bench_runner_core.registry import BackendRegistrar, OptionRegistrar

DEFAULT_URL = "http://127.0.0.1:11434"
OLLAMA_URL = Option(
    name="ollama_url",
    type="str",
    default=None,
    help=f"Ollama server (default $OLLAMA_HOST or {DEFAULT_URL})",
    group="ollama backend",
)


def ollama_url(value: str | None) -> str:
    """The server root from ``--ollama-url``, ``$OLLAMA_HOST`` or the default, with a scheme."""
    url = value or os.environ.get("OLLAMA_HOST") or DEFAULT_URL
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def _names(model: str) -> set[str]:
    return {model, model + ":latest"} if ":" not in model else {model}


class OllamaBackend(_compat.CompatBackend):
    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.concurrency = max(1, int(_common.option(config, "concurrency", 4)))
        self._url = ollama_url(_common.option(config, "ollama_url"))
        self._has_template = True

    def default_prompt_style(self) -> PromptStyle:
        return "chat" if self._has_template else "completion"

    def start(self) -> Mapping[str, Any]:
        if not self._model:
            raise BadInput("the ollama backend needs a model name", "pass --model NAME (see `bench_runner models`)")
        native = _compat.make_client(self._config, self._url)
        try:
            tags = native.get_json("/api/tags") or {}
        except Transient as exc:
            raise BadInput(
                f"no Ollama server answers at {self._url}: {exc}", "start it (ollama serve) or fix --ollama-url"
            ) from exc
        served = {m.get("name") for m in tags.get("models", [])} | {m.get("model") for m in tags.get("models", [])}
        matches = _names(self._model) & served
        if not matches:
            raise BadInput(
                f"the Ollama server at {self._url} has no model {self._model!r}", f"ollama pull {self._model}"
            )
        self._model = sorted(matches)[0]
        show = self._show(native)
        details = show.get("details") or {}
        info = show.get("model_info") or {}
        arch = info.get("general.architecture") or details.get("family")
        self._has_template = bool(show.get("template", "x"))
        self._client = _compat.make_client(self._config, self._url + "/v1")
        return {
            "backend": "ollama",
            "server_url": self._url,
            "model_name": self._model,
            "architecture": arch,
            "quantization": details.get("quantization_level"),
            "parameters": details.get("parameter_size"),
            "context_length_trained": info.get(f"{arch}.context_length"),
            "model_digest": next((m.get("digest") for m in tags["models"] if m.get("name") == self._model), None),
            "concurrency": self.concurrency,
        }

    def _show(self, native: Client) -> Mapping[str, Any]:
        try:
            return native.call(lambda: _post(native, "/api/show", {"model": self._model})) or {}
        except (BadInput, Transient):  # details are nice to have; generation does not need them
            return {}


def _post(client: Client, path: str, payload: Mapping[str, Any]) -> Any:
    import json

    return json.loads(client._open("POST", path, payload).read())


def _factory(config: RunConfig, benchmark: object) -> OllamaBackend:
    return OllamaBackend(config)


@hookimpl
def bench_runner_register_backends(register: BackendRegistrar) -> None:
    register("ollama", _factory, description="a model served by Ollama (--ollama-url)")


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    for opt in (OLLAMA_URL, _compat.CONCURRENCY, *_compat.HTTP_OPTIONS, _common.KEEP_THINKING):
        register(opt)
