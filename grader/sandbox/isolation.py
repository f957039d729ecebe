"""Linux isolation for student code: namespaces, mounts, an unprivileged user, resource limits.

Three levels, chosen by what the grader may do here (``detect_level``):

- ``full`` (the grader runs as root, as on Gradescope or CI): the sandbox zygote
  gets a private mount namespace in which the instructor's files are hidden;
  every notebook then runs as pid 1 of its own pid, mount, network and IPC
  namespaces, as an unprivileged user of its own, with no new privileges.
- ``userns`` (an ordinary user where unprivileged user namespaces work): the
  same namespaces inside a user namespace, but under the grader's own user.
- ``process`` (neither): a separate process and session with resource limits;
  it cannot be kept from the grader's files or from signalling the grader.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import resource
import signal
import socket
import stat
import struct
import tempfile
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

LEVELS = ("full", "userns", "process")
SANDBOX_UID_BASE = 61000  # one uid per concurrent notebook: SANDBOX_UID_BASE + slot
LIMITS = {
    resource.RLIMIT_CORE: 0,
    resource.RLIMIT_FSIZE: 64 << 20,  # no file over 64 MiB
    resource.RLIMIT_NOFILE: 1024,
    resource.RLIMIT_AS: 4 << 30,  # address space; threads reserve stacks
}
NPROC_LIMIT = 256  # processes per sandbox user (only where each sandbox has its own user)

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    _check(
        _libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
        f"mount {target}",
    )


def umount_detached(target: str) -> None:
    _check(_libc.umount2(target.encode(), ctypes.c_int(MNT_DETACH)), f"umount {target}")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), 0, 0, 0), "prctl")


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (set again after every change of user: it is reset then)."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def detect_level() -> str:
    """The strongest level this process can set up (see the module's docstring)."""
    if not hasattr(os, "fork") or not Path("/proc/self/ns").exists():
        return "process"
    probe = os.fork()
    if probe == 0:  # try it in a throw-away child
        code = 1
        try:
            if os.geteuid() == 0:
                unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET)
                code = 0
            else:
                unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET)
                code = 2
        except OSError:
            pass
        os._exit(code)
    _, status = os.waitpid(probe, 0)
    return {0: "full", 2: "userns"}.get(os.waitstatus_to_exitcode(status), "process")


# --- the zygote's view of the file system ---------------------------------------------------


def enter_user_namespace() -> None:
    """Become root of a new user namespace, mapped to this process's own user (``userns`` level)."""
    uid, gid = os.geteuid(), os.getegid()
    unshare(CLONE_NEWUSER | CLONE_NEWNS)
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def private_mounts() -> None:
    """A mount namespace of this process's own, whose changes never reach the rest of the machine."""
    unshare(CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def hide(paths: list[Path]) -> None:
    """Cover each existing path with something empty: a tmpfs no one may enter, or /dev/null for a file."""
    for path in paths:
        if not path.exists() or path == Path("/"):
            continue
        if path.is_dir():
            mount("tmpfs", str(path), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=000,size=4k")
        else:
            mount("/dev/null", str(path), None, MS_BIND)


def _traversable_by_others(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXOTH)


def expose(paths: list[Path]) -> None:
    """Make each of ``paths`` reachable by an unprivileged user, even under a directory that is closed to
    others (``/root``, where a Python may live): that directory is covered with an open tmpfs holding only
    bind mounts of the paths it must expose."""
    closed: dict[Path, list[Path]] = {}
    for path in {path.resolve() for path in paths if path.exists()}:
        blocker = next((parent for parent in reversed(path.parents) if not _traversable_by_others(parent)), None)
        if blocker is not None:
            closed.setdefault(blocker, []).append(path)
    for blocker, inside in sorted(closed.items(), key=lambda item: len(item[0].parts)):
        stash = tempfile.mkdtemp(prefix="sandbox-stash-")
        mount(str(blocker), stash, None, MS_BIND | MS_REC)
        mount("tmpfs", str(blocker), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
        for path in sorted(inside, key=lambda p: len(p.parts)):
            relative = path.relative_to(blocker)
            target = blocker / relative
            source = Path(stash) / relative
            if source.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                for parent in [target, *target.parents]:
                    if parent == blocker:
                        break
                    os.chmod(parent, 0o755)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
            mount(str(source), str(target), None, MS_BIND | MS_REC)
        umount_detached(stash)
        os.rmdir(stash)


# --- one notebook's process -------------------------------------------------------------------


def own_namespaces() -> None:
    """In the intermediate child: the next child gets new pid, mount, network and IPC namespaces."""
    unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC)


def own_namespaces_in_new_user_namespace() -> None:
    """``own_namespaces`` for the ``userns`` level: in a nested user namespace too, so the mounts that hide
    the instructor's files are locked there and cannot be unmounted by the notebook's process."""
    unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC)
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text("0 0 1")
    Path("/proc/self/gid_map").write_text("0 0 1")


def as_namespace_init() -> None:
    """In pid 1 of the new namespaces: its own /proc, and a loopback interface that is up."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    loopback_up()


def loopback_up() -> None:
    """``ip link set lo up``: a new network namespace starts with its loopback down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def limit_resources(own_user: bool) -> None:
    for limit, value in LIMITS.items():
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass
    if own_user:
        resource.setrlimit(resource.RLIMIT_NPROC, (NPROC_LIMIT, NPROC_LIMIT))


def become(uid: int) -> None:
    """Drop to ``uid`` (and the group of the same number), with no supplementary groups."""
    if uid <= 0:
        raise ValueError(f"refusing to run student code as uid {uid}")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.geteuid() == 0 or os.getegid() == 0:
        raise OSError(errno.EPERM, "could not drop root")


def no_new_privileges() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)
