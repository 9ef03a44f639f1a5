"""Emptying a directory a program wrote, whatever it left there: any depth, any modes, any names.

No recursion (a 100,000-deep tree costs no stack), at most two open fds
(a deep tree cannot exhaust them), no path longer than a name (no
ENAMETOOLONG), and no symlink is ever followed: each subdirectory is moved up
next to the others, then emptied on its own. Nothing here raises for what it
finds; whatever cannot be removed is left (the worker's tmpfs goes with it).
"""

from __future__ import annotations

import contextlib
import os
import re

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def empty(path: str) -> None:
    """Remove everything inside ``path`` (made 0700 again); ``path`` itself stays."""
    root = os.open(path, _DIR_FLAGS)
    try:
        with contextlib.suppress(OSError):
            os.fchmod(root, 0o700)
        prefix = f".rm-{os.urandom(6).hex()}-"
        counter = 0
        pending: list[str | None] = [None]  # dirs still to empty, by their name in the root (None: the root)
        while pending:
            name = pending.pop()
            fd = root if name is None else _open(name, root)
            if fd < 0:
                continue
            try:
                for entry in _entries(fd):
                    if not entry.is_dir(follow_symlinks=False):
                        with contextlib.suppress(OSError):
                            os.unlink(entry.name, dir_fd=fd)
                    elif fd == root:
                        pending.append(entry.name)
                    else:  # moved up into the root: depth never grows
                        counter += 1
                        with contextlib.suppress(OSError):
                            os.rename(entry.name, prefix + str(counter), src_dir_fd=fd, dst_dir_fd=root)
                            pending.append(prefix + str(counter))
            finally:
                if fd != root:
                    os.close(fd)
            if name is not None:
                with contextlib.suppress(OSError):
                    os.rmdir(name, dir_fd=root)
    finally:
        os.close(root)


def remove(path: str) -> None:
    """Remove ``path`` and everything in it."""
    try:
        os.rmdir(path)  # most programs leave nothing behind
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        empty(path)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _open(name: str, root: int) -> int:
    # a program may have made it 0 (as a non-root user that blocks our own cleanup)
    with contextlib.suppress(OSError):
        os.chmod(name, 0o700, dir_fd=root, follow_symlinks=False)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=root)
    except OSError:
        return -1


def _entries(fd: int) -> list[os.DirEntry]:
    try:
        with os.scandir(fd) as entries:
            return list(entries)
    except OSError:
        return []


def left_by_dead_workers(parent: str, pattern: re.Pattern[str]) -> list[str]:
    """The entries of ``parent`` that ``pattern`` names (its group 1: the pid of the worker that made the entry)
    whose worker is gone: what a worker killed outright (``kill -9``, the OOM killer) could not remove.

    An entry of this process's own pid is not its own yet (it is asked before making it): a dead
    worker's with the same pid.
    """
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    found = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and _gone(int(match.group(1))):
            found.append(os.path.join(parent, name))
    return found


def _gone(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's
        return False
    return False
