"""The ``llama_server`` backend: starts and owns a llama.cpp-compatible OpenAI server for the model.

The server is llama-cpp-python's bundled ``llama_cpp.server`` module, or a
``llama-server`` binary given with ``--server-bin``. It listens on a free
loopback port and is stopped however the run ends (see ``_server_guard.py``).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

from bench_runner_core.api import BadInput, Option
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.plugins import _common, _openai_compat
from bench_runner_core.plugins._http import Client, Transient
from bench_runner_core.plugins.llama import _cpu_probe, _model
from bench_runner_core.plugins.llama._gguf import GGUFInfo
from bench_runner_core.plugins.llama._server_process import ServerProcess, free_port
from bench_runner_core.records import PromptStyle, RunConfig
from bench_runner_core.registry import BackendRegistrar, OptionRegistrar

log = structlog.get_logger()

GROUP = "llama_server backend"
OPTIONS = (
    Option(
        name="server_bin",
        type="str",
        default=None,
        help="a llama-server binary to run (default: llama-cpp-python's bundled server)",
        group=GROUP,
    ),
    Option(
        name="parallel",
        type="int",
        default=1,
        help="requests sent to the server at once (decoded together by llama-server's slots; "
        "the bundled server takes them one at a time)",
        group=GROUP,
    ),
    Option(
        name="server_timeout", type="float", default=120.0, help="seconds to wait for the server to start", group=GROUP
    ),
)


class LlamaServerBackend(_openai_compat.CompatBackend):
    extended_sampling = True

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.concurrency = max(1, int(_common.option(config, "parallel", 1)))
        self._server: ServerProcess | None = None
        self._has_template = False

    def default_prompt_style(self) -> PromptStyle:
        chat = self._has_template or _common.option(self._config, "chat_format")
        return "chat" if chat else "completion"

    def _command(self, path: Path, info: GGUFInfo, n_ctx: int, port: int) -> tuple[list[str], str]:
        config = self._config
        layers = _model.gpu_layers(config)
        threads = _model.threads(config)
        batch = int(_common.option(config, "batch_size", 512))
        chat_format = _common.option(config, "chat_format")
        binary = _common.option(config, "server_bin")
        if binary:
            found = shutil.which(binary)
            if found is None:
                raise BadInput(f"--server-bin {binary}: no such executable", "pass the path of a llama-server binary")
            # llama-server splits its context among its slots
            command = [found, "-m", str(path), "--host", "127.0.0.1", "--port", str(port)]
            command += ["-c", str(n_ctx * self.concurrency), "-np", str(self.concurrency)]
            command += ["-ngl", str(layers), "-b", str(batch)]
            command += ["-t", str(threads)]
            command += ["--chat-template", chat_format] if chat_format else []
            return command, Path(found).name
        if self.concurrency > 1:
            log.warning(
                "llama_server_one_request_at_a_time",
                parallel=self.concurrency,
                reason="llama-cpp-python's bundled server decodes one request at a time",
                fix="pass --server-bin llama-server (llama.cpp's own server batches requests), "
                "or use the llama_cpp backend, which batches in-process",
            )
        if _cpu_probe.extra_buffers_work(path, info.quantization):
            command = [sys.executable, "-m", "llama_cpp.server", "--model", str(path)]
        else:
            command = [sys.executable, "-c", _cpu_probe.SERVER_BOOT, "--model", str(path)]
        command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
        command += ["--n_gpu_layers", str(layers), "--n_batch", str(batch), "--verbose", "False"]
        command += ["--n_threads", str(threads)]
        command += ["--chat_format", chat_format] if chat_format else []
        return command, "llama_cpp.server"

    def start(self) -> Mapping[str, Any]:
        path, info = _model.resolve_model(self._config)
        self._has_template = info.chat_template is not None
        n_ctx = _model.ctx_size(self._config, info)
        port = free_port()
        command, kind = self._command(path, info, n_ctx, port)
        facts = _model.gguf_facts(path, info)
        self._server = ServerProcess(command, name=f"model server ({kind})")
        self._server.start()
        base_url = f"http://127.0.0.1:{port}/v1"
        # one attempt per probe: the startup wait itself is the bounded retry
        probe_client = Client(base_url, timeout=5.0, attempts=1)

        def ready() -> bool:
            try:
                probe_client.get_json("/models")
                return True
            except (Transient, BadInput):
                return False

        try:
            self._server.wait_ready(ready, float(_common.option(self._config, "server_timeout", 120.0)))
        except BadInput:
            self._server = None
            raise
        self._client = _openai_compat.make_client(self._config, base_url)
        self._model = path.name
        return facts | {
            "backend": "llama_server",
            "server": kind,
            "server_url": base_url,
            "server_pid": self._server.pid,
            "parallel": self.concurrency,
            "gpu_layers": _model.gpu_layers(self._config),
            "ctx_size": n_ctx,
        }

    def close(self) -> None:
        super().close()
        server, self._server = self._server, None
        if server is not None:
            server.stop()


# what llama-cpp-python's server imports beyond llama_cpp itself: its "server" extra
SERVER_MODULES = ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings", "yaml")


def check_server_installed() -> None:
    """``BadInput`` naming the extra to install when llama-cpp-python's server cannot be imported."""
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise BadInput(
            f"the llama_server backend needs llama-cpp-python's server extra (missing: {', '.join(missing)})",
            "pip install 'bench-runner[server]', or pass --server-bin with a llama-server binary",
        )


def _factory(config: RunConfig, benchmark: object) -> LlamaServerBackend:
    # checked before anything starts; a --server-bin binary needs none of it
    if not _common.option(config, "server_bin"):
        check_server_installed()
    return LlamaServerBackend(config)


@hookimpl
def bench_runner_register_backends(register: BackendRegistrar) -> None:
    register(
        "llama_server",
        _factory,
        description="a llama.cpp OpenAI server for the GGUF, started and stopped by bench_runner",
    )


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    for opt in (*OPTIONS, *_model.LLAMA_OPTIONS, *_openai_compat.HTTP_OPTIONS, _common.KEEP_THINKING):
        register(opt)
