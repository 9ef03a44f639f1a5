"""The ``openai`` backend: any OpenAI-compatible endpoint (``--base-url``).

The key comes from ``$OPENAI_API_KEY`` or the variable ``--api-key-env``
names; it is read in ``start`` and kept only inside the HTTP client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import structlog

from bench_runner_core.api import BadInput, Option
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.plugins import _common, _compat
from bench_runner_core.plugins._http import Transient
from bench_runner_core.records import PromptStyle, RunConfig
from bench_runner_core.registry import BackendRegistrar, OptionRegistrar

log = structlog.get_logger()
GROUP = "openai backend"
DEFAULT_BASE_URL = "https://api.openai.com/v1"

OPTIONS = (
    Option(name="base_url", type="str", default=None, help=f"API root (default {DEFAULT_BASE_URL})", group=GROUP),
    Option(
        name="api_key_env",
        type="str",
        default=None,
        help="name of the environment variable holding the API key (default OPENAI_API_KEY)",
        group=GROUP,
    ),
    Option(
        name="api",
        type="choice",
        choices=("chat", "completions"),
        default=None,
        help="which API prompts use by default (--prompt-style overrides); default chat",
        group=GROUP,
    ),
    Option(name="price_in", type="float", default=None, help="price per million prompt tokens", group=GROUP),
    Option(name="price_out", type="float", default=None, help="price per million completion tokens", group=GROUP),
)


class OpenAIBackend(_compat.CompatBackend):
    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.concurrency = max(1, int(_common.option(config, "concurrency", 4)))
        self._api = _common.option(config, "api", "chat")

    def default_prompt_style(self) -> PromptStyle:
        return "completion" if self._api == "completions" else "chat"

    def start(self) -> Mapping[str, Any]:
        if not self._model:
            raise BadInput("the openai backend needs a model name", "pass --model NAME (e.g. --model gpt-4o-mini)")
        base_url = _common.option(self._config, "base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        named = _common.option(self._config, "api_key_env")
        source = named or "OPENAI_API_KEY"
        key = os.environ.get(source) or None
        if named and key is None:
            raise BadInput(f"--api-key-env {named}: ${named} is not set", f"export {named}=... first")
        client = _compat.make_client(self._config, base_url, api_key=key, key_source=source)
        served: list[str] = []
        try:
            listing = client.get_json("/models")
            served = [m.get("id", "") for m in (listing or {}).get("data", []) if isinstance(m, dict)]
        except BadInput as exc:
            if "HTTP 404" not in exc.problem:  # some compatible servers have no /models
                raise
        except Transient as exc:
            raise BadInput(f"cannot reach {client.base_url}: {exc}", "check --base-url and your network") from exc
        if served and self._model not in served:
            log.warning("openai_model_not_listed", model=self._model, served=served[:20])
        self._client = client
        return {
            "backend": "openai",
            "base_url": client.base_url,
            "model_name": self._model,
            "api_key_env": source if key else None,
            "concurrency": self.concurrency,
            "stream": self._stream,
            "price_in": _common.option(self._config, "price_in"),
            "price_out": _common.option(self._config, "price_out"),
        }


def _factory(config: RunConfig, benchmark: object) -> OpenAIBackend:
    return OpenAIBackend(config)


@hookimpl
def bench_runner_register_backends(register: BackendRegistrar) -> None:
    register(
        "openai",
        _factory,
        description="any OpenAI-compatible endpoint (--base-url, key from $OPENAI_API_KEY)",
    )


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    for opt in (*OPTIONS, _compat.CONCURRENCY, *_compat.HTTP_OPTIONS, _common.KEEP_THINKING):
        register(opt)
