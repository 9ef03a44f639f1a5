"""Ctrl-C during a run: the first stops it cleanly, the second leaves at once."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import click


def install_interrupt_handler(stop: Callable[[], None]) -> None:
    """First Ctrl-C (or SIGTERM): call ``stop`` so in-flight samples finish. Second: exit 130 at once.

    The checkpoint is valid either way, so ``--resume`` finishes the run.
    """

    def handler(signum: int, frame: Any) -> None:
        if getattr(handler, "seen", False):
            os._exit(130)
        handler.seen = True  # type: ignore[attr-defined]
        click.echo("\nbench_runner: stopping after the samples in flight (Ctrl-C again to quit now)", err=True)
        stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


__all__ = ["install_interrupt_handler"]
