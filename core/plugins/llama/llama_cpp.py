"""The ``llama_cpp`` backend: a GGUF model loaded once, in-process, with llama-cpp-python.

The default backend for ``--model *.gguf`` and, with no ``--model``, for the
embedded default model. llama_cpp is imported in ``start``, never at
registration, so ``bench_runner --help`` stays light.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from typing import Any

import structlog

from bench_runner_core.api import BadInput, Option
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.plugins import _common
from bench_runner_core.plugins.llama import _batch, _cpu_probe, _load_log, _model, _sequence, _sizing
from bench_runner_core.records import Completion, GenerationRequest, PromptStyle, RunConfig
from bench_runner_core.registry import BackendRegistrar, OptionRegistrar

log = structlog.get_logger()

PARALLEL_SEQUENCES = Option(
    name="parallel_sequences",
    type="int",
    default=0,
    help="sequences decoded together in one context (continuous batching; on the CPU the texts are the "
    "same bit for bit as one at a time); 0 (default): the samples of a problem, at least 4; 1: one at a time",
    group="llama_cpp backend",
)


class _FirstToken:
    """A stopping criterion: notes when the first token is sampled, and stops when the backend closes."""

    def __init__(self, closing: threading.Event) -> None:
        self.at: float | None = None
        self._closing = closing

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        if self.at is None:
            self.at = time.perf_counter()
        return self._closing.is_set()


class LlamaCppBackend:
    """One model, loaded by ``start``, shared by every sample of the run."""

    concurrency = 1

    def __init__(self, config: RunConfig) -> None:
        self._config = config
        self._llm: Any = None
        self._formatter: Any = None
        self._chat_format: str | None = _common.option(config, "chat_format")
        self._keep_thinking = bool(_common.option(config, "keep_thinking", False))
        self._has_template = False
        self._n_ctx = 0
        self._prompt_tokens = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._batch: _batch.BatchDecoder | None = None

    def start(self) -> Mapping[str, Any]:
        path, info = _model.resolve_model(self._config)
        layers = _model.gpu_layers(self._config)
        n_ctx = _model.ctx_size(self._config, info)
        facts = _model.gguf_facts(path, info)
        import llama_cpp

        _load_log.capture()
        threads = _model.threads(self._config)
        requested = int(_common.option(self._config, "parallel_sequences", 0))
        if requested < 0:
            raise BadInput(f"--parallel-sequences {requested} is negative", "pass a count, or 0 for the default")
        started = time.perf_counter()
        # the batch decoder runs every completion prompt: see _batch's docstring for why its weights stay plain
        decoder = self._chat_format is None
        extra_buffers = not decoder and _cpu_probe.extra_buffers_work(path, info.quantization)
        # the decoder runs in a context of its own: the model's first one only needs to exist
        self._llm = self._load(path, info, _model.MIN_CTX if decoder else n_ctx, threads, extra_buffers)
        if decoder and (why := _batch.BatchDecoder.supported(self._llm)) is not None:
            log.info("llama_cpp_one_sequence", reason=why)
            self._llm.close()
            decoder = False
            extra_buffers = _cpu_probe.extra_buffers_work(path, info.quantization)
            self._llm = self._load(path, info, n_ctx, threads, extra_buffers)
        self._has_template = info.chat_template is not None
        if self._chat_format is None and self._has_template:
            self._formatter = self._template_formatter(info.chat_template)
        self._n_ctx = self._llm.n_ctx()
        if decoder:
            self._start_batch(self._plan_sequences(requested, n_ctx), n_ctx, path.name)
        elif self._chat_format is not None and requested != 1:
            log.info("llama_cpp_one_sequence", reason="--chat-format prompts are formatted by llama-cpp-python")
        offload = bool(llama_cpp.llama_supports_gpu_offload()) and layers != 0
        log.info("llama_cpp_model_loaded", model=path.name, seconds=round(time.perf_counter() - started, 2))
        return facts | {
            "backend": "llama_cpp",
            "llama_cpp_python_version": llama_cpp.__version__,
            "gpu_offload": offload,
            "cpu_extra_buffers": extra_buffers,
            "gpu_layers": layers,
            "ctx_size": self._n_ctx,
            "parallel_sequences": self.concurrency,
            "threads": threads,
            "chat_format": self._chat_format or ("gguf" if self._has_template else None),
            "load_seconds": round(time.perf_counter() - started, 3),
        }

    def _load(self, path: Any, info: Any, n_ctx: int, threads: int, extra_buffers: bool) -> Any:
        import llama_cpp

        layers = _model.gpu_layers(self._config)
        seed = self._config.params.seed
        plain = contextlib.nullcontext() if extra_buffers else _cpu_probe.disabled_extra_buffers()
        try:
            with plain:
                return llama_cpp.Llama(
                    model_path=str(path),
                    n_gpu_layers=layers,
                    n_ctx=n_ctx,
                    n_batch=int(_common.option(self._config, "batch_size", 512)),
                    n_threads=threads,
                    seed=seed if seed is not None else llama_cpp.LLAMA_DEFAULT_SEED,
                    chat_format=self._chat_format,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise _load_log.failure(path.name, info.architecture, layers) from exc

    def _plan_sequences(self, requested: int, n_ctx: int) -> int:
        cache = (n_ctx + _sequence.UTF8_SLACK) * _sizing.cache_bytes_per_token(self._llm)
        return _sizing.plan_sequences(requested, self._config.n_samples, cache, _sizing.memory_budget())

    def _start_batch(self, sequences: int, n_ctx: int, name: str) -> None:
        try:
            self._batch = _batch.BatchDecoder(
                self._llm,
                sequences=sequences,
                n_ctx=n_ctx,
                n_batch=int(_common.option(self._config, "batch_size", 512)),
            )
        except MemoryError as exc:
            self._llm.close()
            raise BadInput(f"{name}: {exc}", "lower --ctx-size or pass --parallel-sequences 1") from exc
        self.concurrency = self._batch.sequences
        self._n_ctx = self._batch.n_ctx

    def _template_formatter(self, template: str) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._llm

        def token_text(token: int) -> str:
            return llm._model.token_get_text(token) if token != -1 else ""

        eos = llm.token_eos()
        return Jinja2ChatFormatter(
            template=template, eos_token=token_text(eos), bos_token=token_text(llm.token_bos()), stop_token_ids=[eos]
        )

    def default_prompt_style(self) -> PromptStyle:
        return "chat" if self._has_template or self._chat_format else "completion"

    def generate(self, request: GenerationRequest) -> Completion:
        params, prompt = request.params, request.prompt
        stops = [*prompt.stop, *params.stop]
        if self._batch is not None:
            return self._generate_batched(request.params, prompt, stops)
        first = _FirstToken(self._closing)
        sampling = {
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "top_k": params.top_k,
            "min_p": params.min_p,
            "repeat_penalty": params.repeat_penalty,
            "seed": params.seed,
        }
        with self._lock:
            if self._llm is None:
                raise RuntimeError("the llama_cpp backend is not started, or already closed")
            started = time.perf_counter()
            try:
                result = self._run(prompt, stops, sampling, first)
            except (ValueError, RuntimeError) as exc:
                return self._failed(exc, started)
            duration = time.perf_counter() - started
        choice = result["choices"][0]
        raw = choice["message"]["content"] if "message" in choice else choice["text"]
        prompt_tokens, completion_tokens = _common.usage_numbers(result.get("usage"))
        ttft = first.at - started if first.at is not None else None
        finish = choice.get("finish_reason") or "stop"
        return self._completion(raw or "", finish, prompt_tokens, completion_tokens, ttft, duration)

    def _completion(
        self, raw: str, finish: str, prompt_tokens: int | None, tokens: int | None, ttft: float | None, duration: float
    ) -> Completion:
        return _common.completion(
            raw,
            keep_thinking=self._keep_thinking,
            finish=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=tokens,
            ttft=ttft,
            duration=duration,
        )

    def _generate_batched(self, params: Any, prompt: Any, stops: list[str]) -> Completion:
        batch = self._batch
        if batch is None or self._llm is None:
            raise RuntimeError("the llama_cpp backend is not started, or already closed")
        started = time.perf_counter()
        try:
            tokens, stops, _ = self._tokens(prompt, stops)
        except ValueError as exc:
            return self._failed(exc, started)
        done = batch.submit(tokens, stops, params)
        if done.error is not None:  # the decoder logged it
            return Completion(text="", finish_reason="error", duration_s=done.ended - done.started, error=done.error)
        ttft = done.first_token_at - done.started if done.first_token_at is not None else None
        duration = done.ended - done.started
        return self._completion(
            done.text, done.finish_reason, done.prompt_tokens, done.completion_tokens, ttft, duration
        )

    def _run(self, prompt: Any, stops: list[str], sampling: dict[str, Any], first: _FirstToken) -> Any:
        from llama_cpp import StoppingCriteriaList

        if prompt.style == "chat" and self._formatter is None:
            return self._run_chat_format(prompt, stops, sampling, first)
        tokens, stops, criteria = self._tokens(prompt, stops)
        return self._llm.create_completion(
            tokens, stop=stops, stopping_criteria=StoppingCriteriaList([first, *criteria]), **sampling
        )

    def _tokens(self, prompt: Any, stops: list[str]) -> tuple[list[int], list[str], list[Any]]:
        """The prompt's tokens, its stop sequences and the chat template's stopping criteria."""
        criteria: list[Any] = []
        if prompt.style == "completion":
            tokens = self._llm.tokenize(prompt.text.encode("utf-8"), add_bos=True, special=True)
        elif self._formatter is not None:
            # Rendering the GGUF template here (as llama-cpp-python would) lets the
            # first-token timer ride along; create_chat_completion takes no stopping criteria.
            messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
            rendered = self._formatter(messages=messages)
            tokens = self._llm.tokenize(
                rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
            )
            criteria += rendered.stopping_criteria or []
            extra = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop] if rendered.stop else []
            stops = [*stops, *extra]
        else:
            raise _no_template()
        self._prompt_tokens = len(tokens)
        if len(tokens) >= self._n_ctx:
            raise ValueError(f"the prompt is {len(tokens)} tokens, longer than the context ({self._n_ctx} tokens)")
        return tokens, stops, criteria

    def _run_chat_format(self, prompt: Any, stops: list[str], sampling: dict[str, Any], first: _FirstToken) -> Any:
        if self._chat_format is None:
            raise _no_template()

        def timer(input_ids: Any, scores: Any) -> Any:
            first(input_ids, scores)
            return scores

        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        return self._llm.create_chat_completion(messages, stop=stops, logits_processor=[timer], **sampling)

    def _failed(self, exc: Exception, started: float) -> Completion:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "longer than the context" in message or "exceed context window" in message:
            message = f"{message}; raise --ctx-size"
        elif "llama_decode returned" in message:
            message = (
                f"llama.cpp ran out of context space ({self._prompt_tokens} prompt tokens, "
                f"--ctx-size {self._n_ctx}); raise --ctx-size or lower --max-tokens"
            )
        return _common.failed("llama_cpp_sample_failed", message, started)

    def close(self) -> None:
        # a generation still running in another thread (Ctrl-C) stops at its next token;
        # freeing the model under it would crash the process
        self._closing.set()
        batch, self._batch = self._batch, None
        if batch is not None:
            batch.close()
        with self._lock:
            llm, self._llm = self._llm, None
            if llm is not None:
                llm.close()


def _no_template() -> BadInput:
    return BadInput(
        "the model has no chat template, so chat prompts cannot be formatted for it",
        "use --prompt-style completion or pass --chat-format NAME",
    )


def _factory(config: RunConfig, benchmark: object) -> LlamaCppBackend:
    return LlamaCppBackend(config)


def _handles(config: RunConfig) -> bool:
    return config.model is not None and config.model.lower().endswith(".gguf")


@hookimpl
def bench_runner_register_backends(register: BackendRegistrar) -> None:
    register(
        "llama_cpp",
        _factory,
        description="a GGUF model run in-process with llama-cpp-python (default for *.gguf and no --model)",
        handles=_handles,
        fallback=True,
    )


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    for opt in (*_model.LLAMA_OPTIONS, PARALLEL_SEQUENCES, _common.KEEP_THINKING):
        register(opt)
