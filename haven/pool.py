"""The one process-pool helper: worker processes never outlive the process that started them.

A worker of a forked pool inherits its parent's descriptors; if it survived a `kill -9` of the
build (or of `check`) it would keep running for nothing. Each worker asks Linux to kill it when
its parent dies (`prctl(PR_SET_PDEATHSIG)`), then checks that the parent is still the one that
started it (it may have died before the request took effect). Under a process that runs threads
(the dev server), forking could copy a lock held by another thread: pools there start from a fork
server instead. Used by the build (bodies, pages) and by `check` (reading levels); it imports
nothing of either.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent ends (Linux; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _init_worker(parent: int | None) -> None:
    die_with_parent()
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the build died before the request above was made
    # The workers collect their own garbage: Python-Markdown leaves reference cycles behind.
    gc.enable()


def start_method() -> str:
    """'fork' in a single-threaded process; 'forkserver' where other threads run."""
    return "fork" if threading.active_count() == 1 else "forkserver"


def process_pool(workers: int, start_method: str = "fork") -> ProcessPoolExecutor:
    """A process pool whose workers die with the process that made them (or its fork server)."""
    import multiprocessing

    ctx = multiprocessing.get_context(start_method)
    # Forked workers are children of this process; a fork server's are children of the server,
    # which itself ends when this process does.
    parent = os.getpid() if start_method == "fork" else None
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(parent,)
    )
