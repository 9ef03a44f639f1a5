"""structlog, configured once by the CLI: stderr only; console on a terminal, JSON otherwise."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(verbosity: int = 0, *, json_lines: bool | None = None) -> None:
    """``verbosity`` 0 logs info and up, 1 debug, 2 debug plus other libraries' logging."""
    level = logging.INFO if verbosity == 0 else logging.DEBUG
    as_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    renderer = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *([structlog.processors.format_exc_info] if as_json else []),  # the console renderer formats its own
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if verbosity >= 2 else logging.WARNING, force=True)
