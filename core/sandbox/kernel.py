"""Small ctypes bindings to the Linux features the sandbox uses (Python 3.11 has no os.unshare).

Everything here raises ``OSError`` when the kernel refuses; callers decide how
to fall back and record the weaker protection.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522
_SYS_CAPSET = 126

_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1

# filesystem access rights, by the Landlock ABI that introduced them
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
_FS_ABI1 = (1 << 13) - 1
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5
_NET_ALL = 0b11  # ABI 4: bind and connect TCP
_SCOPE_ALL = 0b11  # ABI 6: abstract unix sockets and signals
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV


def _check(result: int) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)))


MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2


def mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode(), target.encode(), fstype.encode() if fstype else None, ctypes.c_ulong(flags), data.encode()
        )
    )


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(target.encode(), flags))


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)))


def prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)))


# made once: creating a ctypes array type is slow, and this runs in every program
_CapHeader = ctypes.c_uint32 * 2
_CapData = ctypes.c_uint32 * 6


def capability_sets(mask: int) -> tuple[ctypes.Array, ctypes.Array]:
    """capset's arguments for permitted and effective capabilities ``mask`` (inheritable none), made once."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = _CapData(mask & 0xFFFFFFFF, mask & 0xFFFFFFFF, 0, mask >> 32, mask >> 32, 0)
    return header, data


def capset(sets: tuple[ctypes.Array, ctypes.Array]) -> None:
    _check(_libc.syscall(_SYS_CAPSET, *sets))


def landlock_abi() -> int:
    """The Landlock ABI version the kernel offers, 0 when there is none."""
    try:
        return _check(
            _libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_CREATE_RULESET_VERSION)
        )
    except OSError:
        return 0


def fs_rights(abi: int) -> int:
    rights = _FS_ABI1
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_ruleset(abi: int, rules: list[tuple[str, int]]) -> int:
    """A ruleset fd allowing only ``rules``: (path, rights) pairs; everything else the ABI governs is denied.

    That is all file access elsewhere, TCP bind/connect (ABI 4) and, with
    ABI 6, signals and abstract unix sockets reaching outside the sandbox.
    """
    handled = fs_rights(abi)
    attr = (ctypes.c_uint64 * 3)(handled, _NET_ALL if abi >= 4 else 0, _SCOPE_ALL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _check(_libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(size), 0))
    try:
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a missing optional path (no /lib64 here) needs no rule
            try:
                if not os.path.isdir(path):
                    access &= FILE_RIGHTS
                rule = _PathBeneath(access & handled, fd)
                _check(
                    _libc.syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0)
                )
            finally:
                os.close(fd)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def landlock_restrict_self(ruleset: int) -> None:
    """Confine this thread and its future children to the ruleset, for good (needs no_new_privs set)."""
    _check(_libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0))


def landlock_enforce(ruleset: int) -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    landlock_restrict_self(ruleset)


def landlock_restrict(abi: int, rules: list[tuple[str, int]]) -> None:
    ruleset = landlock_ruleset(abi, rules)
    try:
        landlock_enforce(ruleset)
    finally:
        os.close(ruleset)


# syscall numbers that differ by architecture: (pivot_root, add_key, request_key, keyctl, seccomp audit arch)
_ARCH = {
    "x86_64": (155, 248, 249, 250, 0xC000003E),
    "aarch64": (41, 217, 218, 219, 0xC00000B7),
}.get(platform.machine())


def pivot_root(new_root: str, put_old: str) -> None:
    if _ARCH is None:
        raise OSError(38, f"pivot_root: unknown architecture {platform.machine()}")
    _check(_libc.syscall(_ARCH[0], new_root.encode(), put_old.encode()))


_KEYCTL_JOIN_SESSION_KEYRING = 1


def new_session_keyring() -> None:
    """Join a new anonymous session keyring: the caller's (the user's login keys) is left behind."""
    if _ARCH is None:
        raise OSError(38, f"keyctl: unknown architecture {platform.machine()}")
    _check(_libc.syscall(_ARCH[3], _KEYCTL_JOIN_SESSION_KEYRING, None))


_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _bpf(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def deny_keyrings() -> None:
    """A seccomp filter: add_key, request_key and keyctl fail with EPERM for this process and its children.

    System calls of another ABI (32-bit ``int 0x80``, x32) fail too: their numbers differ.
    Needs no_new_privs (or CAP_SYS_ADMIN).
    """
    if _ARCH is None:
        raise OSError(38, f"seccomp: unknown architecture {platform.machine()}")
    _pivot, add_key, request_key, keyctl, audit_arch = _ARCH
    ld_w_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    deny = _RET_ERRNO | 1  # EPERM
    program = b"".join(
        [
            _bpf(ld_w_abs, 0, 0, 4),  # seccomp_data.arch
            _bpf(jeq, 1, 0, audit_arch),
            _bpf(ret, 0, 0, _RET_ERRNO | 38),  # ENOSYS for a foreign ABI
            _bpf(ld_w_abs, 0, 0, 0),  # seccomp_data.nr
            _bpf(jge, 3, 0, 0x40000000),  # x32
            _bpf(jeq, 2, 0, add_key),
            _bpf(jeq, 1, 0, request_key),
            _bpf(jeq, 0, 1, keyctl),
            _bpf(ret, 0, 0, deny),
            _bpf(ret, 0, 0, _RET_ALLOW),
        ]
    )
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    mode = ctypes.c_ulong(_SECCOMP_MODE_FILTER)
    _check(_libc.prctl(_PR_SET_SECCOMP, mode, ctypes.byref(fprog), ctypes.c_ulong(0), ctypes.c_ulong(0)))


_IPC_RMID = 0
_buffer = ctypes.create_string_buffer(1024)  # big enough for shmid_ds, msqid_ds, semid_ds and the *_info structs


def remove_sysv_ipc() -> int:
    """Remove every System V shared memory segment, message queue and semaphore set this process may remove.

    Called by a stdio job's process between cases, in the execution's own IPC
    namespace: what one case created is gone before the next starts. Returns
    how many objects were removed.
    """
    removed = 0
    # (control function, its INFO and STAT commands, whether it takes a semnum first)
    controls = ((_libc.shmctl, 14, 13, False), (_libc.msgctl, 12, 11, False), (_libc.semctl, 19, 18, True))
    for function, info, stat, semnum in controls:
        args = (0,) if semnum else ()
        highest = function(0, *args, info, _buffer)
        for index in range(max(highest, -1) + 1):
            ident = function(index, *args, stat, _buffer)
            if ident >= 0 and function(ident, *args, _IPC_RMID, None) == 0:
                removed += 1
    return removed
