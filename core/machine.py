"""Facts about the machine that plugins size their work by."""

from __future__ import annotations


def available_memory() -> int | None:
    """``MemAvailable`` from /proc/meminfo in bytes (None where there is no /proc)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
