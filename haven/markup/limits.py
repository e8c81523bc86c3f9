"""Bounds on a render: how deeply a body may nest, and how long it may take.

`MAX_NESTING` is checked on the source before Python-Markdown sees it (positions.nesting);
`Deadline` stops a render that runs past `RENDER_SECONDS`, in any thread and any process.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time

# A body's render time is bounded: one that takes longer is an error (normal articles take a
# few milliseconds; this is a safety net for input that makes Python-Markdown slow).
RENDER_SECONDS = 10.0
# Lists and quotes nested deeper than this are refused before rendering: Python-Markdown
# recurses once per level and fails at a few hundred.
MAX_NESTING = 32


class Overtime(BaseException):
    """Raised into a render that ran out of time (a BaseException: no `except Exception` in a
    library can swallow it)."""


# Whether a render of this process's main thread is waiting for the timer signal: the handler
# stays installed between renders, and a late signal must then do nothing.
_ALARM = {"armed": False}


def _on_alarm(signum, frame) -> None:
    if _ALARM["armed"]:
        raise Overtime


class _Watchdog:
    """One thread per process that raises `Overtime` into renders past their deadline.

    Python checks for such an exception between bytecodes, so this stops Python-Markdown's
    loops wherever they run; a forked worker starts its own watchdog on first use.
    """

    def __init__(self) -> None:
        self.pid = -1
        self.cond = threading.Condition()
        self.jobs: dict[object, tuple[int, float]] = {}  # token -> (thread id, deadline)
        self.fired: set[object] = set()

    def start(self) -> None:
        if self.pid == os.getpid():
            return
        self.cond, self.jobs, self.fired = threading.Condition(), {}, set()
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="haven-render-deadline", daemon=True).start()

    def _run(self) -> None:
        cond = self.cond
        with cond:
            while True:
                if not self.jobs:
                    cond.wait()
                    continue
                token, (ident, when) = min(self.jobs.items(), key=lambda item: item[1][1])
                delay = when - time.monotonic()
                if delay > 0:
                    cond.wait(delay)
                    continue
                del self.jobs[token]
                self.fired.add(token)
                _RAISE_IN(ident, Overtime)


_WATCHDOG = _Watchdog()
# PyThreadState_SetAsyncExc(thread id, exception): with NULL, it withdraws one not yet raised.
_RAISE_IN = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)
_WITHDRAW = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


class Deadline:
    """`with Deadline(seconds):` raises `Overtime` in the block once `seconds` have passed.

    In the main thread a timer signal does it (no thread is started: a build forks its workers
    later); in any other thread, or when the timer is in use already, the watchdog does.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.alarm = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            import signal

            if signal.getitimer(signal.ITIMER_REAL)[0] == 0 and signal.getsignal(
                signal.SIGALRM
            ) in (signal.SIG_DFL, signal.SIG_IGN, None, _on_alarm):
                self.previous = signal.signal(signal.SIGALRM, _on_alarm)
                self.alarm = _ALARM["armed"] = True
                signal.setitimer(signal.ITIMER_REAL, self.seconds)
                return self
        _WATCHDOG.start()
        self.token, self.ident = object(), threading.get_ident()
        with _WATCHDOG.cond:
            _WATCHDOG.jobs[self.token] = (self.ident, time.monotonic() + self.seconds)
            _WATCHDOG.cond.notify()
        return self

    def __exit__(self, *exc) -> None:
        if self.alarm:
            import signal

            _ALARM["armed"] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous or signal.SIG_DFL)
            return
        with _WATCHDOG.cond:
            _WATCHDOG.jobs.pop(self.token, None)
            fired = self.token in _WATCHDOG.fired
            _WATCHDOG.fired.discard(self.token)
        if fired:  # raised, but perhaps not yet delivered: withdraw it
            _WITHDRAW(self.ident, None)
