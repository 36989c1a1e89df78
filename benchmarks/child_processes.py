"""Child processes a benchmark starts (web servers, dramatiq workers) never outlive it, however it ends.

Each child gets a session (process group) of its own, so one killpg reaches what it starts in turn, and the kernel
sends it SIGKILL when the benchmark dies (PR_SET_PDEATHSIG: even a SIGKILL of the benchmark, which no finally or
atexit survives). A normal exit, an exception and SIGTERM/SIGHUP (turned into SystemExit) all end in stop_all().
"""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess

PR_SET_PDEATHSIG = 1
_started: list[subprocess.Popen] = []


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(command: list[str], **popen) -> subprocess.Popen:
    """subprocess.Popen in a session of its own that ends with the benchmark (stop_all, or the kernel)."""
    _install()
    process = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent, **popen)
    _started.append(process)
    return process


def stop(process: subprocess.Popen, *, grace_s: float = 0.0) -> None:
    """SIGTERM then, after grace_s, SIGKILL the child's whole process group; waits for it."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)) if grace_s else ((signal.SIGKILL, None),):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def stop_all() -> None:
    while _started:
        stop(_started.pop())


_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(stop_all)

    def leave(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")  # unwinds through every finally, then atexit

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, leave)
