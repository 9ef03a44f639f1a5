"""The ``bench_runner`` command: flags in, records out. The work happens elsewhere."""

from __future__ import annotations

import sys
from typing import Any

import click

from bench_runner_core.api import BadInput, Option
from bench_runner_core.kernel import Kernel
from bench_runner_core.logs import configure_logging
from bench_runner_core.manager import make_plugin_manager
from bench_runner_core.registry import Registry

CLICK_TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "path": click.Path(dir_okay=True)}


def _common_options() -> list[click.Option]:
    o = click.Option
    return [
        o(["--benchmark", "-b"], help="benchmark to run (see `bench_runner plugins`)"),
        o(["--backend"], help="model backend; by default the one that handles --model (a .gguf runs in-process)"),
        o(["--model", "-m"], help="model: a .gguf path, or a name the backend understands"),
        o(["--temperature"], type=float, help="sampling temperature  [default: 0 (greedy)]"),
        o(["--top-p"], type=float, help="nucleus sampling  [default: 1.0]"),
        o(["--top-k"], type=int, help="top-k sampling, 0 = off  [default: 0]"),
        o(["--min-p"], type=float, help="min-p sampling  [default: 0]"),
        o(["--repeat-penalty"], type=float, help="repetition penalty  [default: 1.0]"),
        o(["--max-tokens"], type=int, help="tokens to generate per sample  [default: 512]"),
        o(["--stop"], multiple=True, help="extra stop sequence (repeatable)"),
        o(["--seed"], type=int, help="sampling seed; sample i uses seed+i"),
        o(["--n-samples", "-n"], type=int, help="samples per problem (for pass@k)  [default: 1]"),
        o(["--limit"], type=int, help="run only the first N selected problems"),
        o(["--problems"], multiple=True, help="problem ids or index ranges like 0-10 (inclusive), repeatable"),
        o(
            ["--prompt-style"],
            type=click.Choice(["completion", "chat"]),
            help="default: chat if the model has a chat template",
        ),
        o(["--workers"], type=int, help="sandbox worker processes  [default: CPU count]"),
        o(["--engine"], help="scheduling engine  [default: local]"),
        o(["--sink", "sinks"], multiple=True, help="result sinks to use (repeatable)  [default: all default sinks]"),
        o(["--results-dir"], help="where run files go  [default: ./benchmark_results]"),
        o(["--history"], help="run history file  [default: ./benchmark_results.json]"),
        o(["--config"], help="TOML or JSON file of option values; flags override it"),
        o(["--resume"], metavar="RUN_ID", help="finish an interrupted run"),
        o(["--export"], metavar="PATH", help="also write results in the benchmark's official format"),
        o(["--json", "as_json"], is_flag=True, help="print the run summary as JSON on stdout"),
        o(["--verbose", "-v"], count=True, help="-v debug logs, -vv also other libraries' logs"),
        o(["--log-json"], is_flag=True, default=None, help="JSON log lines even on a terminal"),
        o(
            ["--disable-plugin"],
            multiple=True,
            help="do not load this plugin (repeatable; also $BENCH_RUNNER_DISABLE_PLUGINS)",
        ),
    ]


def _plugin_option(option: Option) -> click.Option:
    if option.type == "bool":
        return click.Option([option.flag], is_flag=True, default=None, help=option.help)
    kind = click.Choice(list(option.choices)) if option.type == "choice" else CLICK_TYPES[option.type]
    return click.Option([option.flag], type=kind, multiple=option.multiple, help=option.help)


class _Group(click.Group):
    """Lists plugin options in their own sections of ``--help``."""

    def __init__(self, *args: Any, plugin_options: dict[str, Option], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plugin_options = plugin_options

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        mine = {o.flag for o in self.plugin_options.values()}
        rows = [p.get_help_record(ctx) for p in self.get_params(ctx) if not (set(getattr(p, "opts", [])) & mine)]
        with formatter.section("Options"):
            formatter.write_dl([r for r in rows if r])
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            if set(getattr(param, "opts", [])) & mine:
                record = param.get_help_record(ctx)
                option = next(o for o in self.plugin_options.values() if o.flag in param.opts)
                if record:
                    groups.setdefault(option.group, []).append(record)
        for title, records in sorted(groups.items()):
            with formatter.section(f"Options from plugins: {title}"):
                formatter.write_dl(records)
        self.format_commands(ctx, formatter)


def build_cli(registry: Registry) -> click.Group:
    from bench_runner_core.commands import run_command

    plugin_options = {name: opt for name, (opt, _) in registry.options.items()}
    params: list[click.Parameter] = _common_options()
    taken = {opt for p in params for opt in getattr(p, "opts", [])}
    for option in plugin_options.values():
        if option.flag in taken:
            raise BadInput(
                f"plugin {registry.options[option.name][1]} declares {option.flag}, which is a built-in flag",
                f"disable it with --disable-plugin {registry.options[option.name][1]}",
            )
        params.append(_plugin_option(option))

    @click.pass_context
    def root(ctx: click.Context, **values: Any) -> None:
        ctx.obj = Kernel(registry=registry)
        configure_logging(values["verbose"], json_lines=values["log_json"])
        if ctx.invoked_subcommand is None:
            run_command(ctx, ctx.obj, values)

    group = _Group(
        name="bench_runner",
        callback=root,
        params=params,
        invoke_without_command=True,
        plugin_options=plugin_options,
        help="Score code-generating models on coding benchmarks.\n\n"
        "  bench_runner --benchmark humaneval --model model.gguf --gpu-layers 99",
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    )
    for reg in registry.items["command"].values():
        group.add_command(reg.factory(), name=reg.name)
    return group


def _prescan_disabled(argv: list[str]) -> list[str]:
    disabled = []
    for i, arg in enumerate(argv):
        if arg == "--disable-plugin" and i + 1 < len(argv):
            disabled.append(argv[i + 1])
        elif arg.startswith("--disable-plugin="):
            disabled.append(arg.split("=", 1)[1])
    return disabled


def fail(message: str, code: int = 2) -> None:
    click.echo(f"bench_runner: error: {message}", err=True)
    sys.exit(code)


def run_cli(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:  # `bench_runner run ...` is an alias of the top-level form
        argv = argv[1:]
    try:
        registry = Registry(make_plugin_manager(disabled=_prescan_disabled(argv)))
        cli = build_cli(registry)
        cli.main(args=argv, prog_name="bench_runner", standalone_mode=False)
    except BadInput as exc:
        fail(str(exc))
    except click.exceptions.NoSuchOption as exc:
        hint = f" (did you mean {', '.join(exc.possibilities)}?)" if exc.possibilities else ""
        fail(f"no such option {exc.option_name}{hint}; see `bench_runner --help`")
    except click.UsageError as exc:
        fail(f"{exc.format_message().rstrip('.')}; see `bench_runner --help`")
    except click.exceptions.Abort:
        fail("aborted", 130)
    except KeyboardInterrupt:
        fail("interrupted", 130)


__all__ = ["build_cli", "run_cli"]
