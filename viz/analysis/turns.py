"""Heavy work of concurrent sessions in turns, first come first served.

Six sessions uploading at once used to compute side by side: six threads sharing one GIL and two
cores, so every one of them finished at the end (processor sharing). Taking turns gives the same
total work, but the first upload is done after one share, the second after two, ...: the median
wait roughly halves. A session keeps its place in the queue for its whole script run (its
*ticket*), so the next session's computations do not interleave with its own steps.

Pure Python (no Streamlit): :mod:`viz.ui` wraps the cached analyses in :meth:`Turns.turn` and
ends each run with :meth:`Turns.done`; :func:`viz.analysis.forward.nl_statistics` takes its turn too.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    """A FIFO gate for computations, by thread (a Streamlit script run is one thread).

    A thread's ticket is taken at its first computation and kept until :meth:`done`. Between two
    of its computations it keeps its place for ``grace_s``: later tickets wait, so its steps are
    not interleaved with theirs. A thread away longer (drawing a big figure, or blocked on
    something a later ticket holds, e.g. the same cached analysis) loses its place until it asks
    again, so the gate never deadlocks.

    Args:
        slots: computations that may run at once (1: the cores go to one computation; torch
            uses them all inside it).
        grace_s: how long a thread keeps its place between two of its computations.
        hold_s: a ticket lapses this long after it was taken when :meth:`done` is never called
            (a fragment rerun), so no old ticket jumps the queue.
    """

    def __init__(self, slots: int = 1, grace_s: float = 0.05, hold_s: float = 30.0) -> None:
        if slots < 1:
            raise ValueError(f"Turns: slots must be >= 1, got {slots}")
        self.slots, self.grace_s, self.hold_s = int(slots), float(grace_s), float(hold_s)
        self._cond = threading.Condition()
        self._running = 0
        self._tickets: dict[int, tuple[int, float]] = {}  # thread -> (ticket, taken at)
        self._waiting: dict[int, int] = {}  # thread -> ticket, while it waits
        self._left: dict[int, float] = {}  # thread -> when its last computation ended
        self._next = 0
        self._local = threading.local()

    def _ticket(self, me: int, now: float) -> int:
        for thread, (_, taken) in list(self._tickets.items()):  # lapsed tickets go
            if now - taken > self.hold_s:
                del self._tickets[thread]
                self._left.pop(thread, None)
        held = self._tickets.get(me)
        if held is None:
            held = (self._next, now)
            self._next += 1
            self._tickets[me] = held
        return held[0]

    def _ahead(self, me: int, ticket: int, now: float) -> tuple[int, float | None]:
        """Earlier tickets that hold their place now (waiting, or between two steps), and when
        the first of those between steps loses it."""
        ahead, expires = 0, None
        for thread, (t, _) in self._tickets.items():
            if thread == me or t >= ticket:
                continue
            if thread in self._waiting:
                ahead += 1
            elif thread in self._left:
                until = self._left[thread] + self.grace_s
                if until > now:
                    ahead += 1
                    expires = until if expires is None else min(expires, until)
        return ahead, expires

    def waiting(self) -> int:
        """Computations waiting for their turn now (for a progress message)."""
        with self._cond:
            return len(self._waiting)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Run the block when it is this thread's turn; re-entrant within a thread."""
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        me = threading.get_ident()
        with self._cond:
            now = time.monotonic()
            ticket = self._ticket(me, now)
            self._waiting[me] = ticket
            self._left.pop(me, None)
            try:
                while True:
                    now = time.monotonic()
                    ahead, expires = self._ahead(me, ticket, now)
                    if self._running + ahead < self.slots:
                        break
                    self._cond.wait(None if expires is None else max(1e-3, expires - now))
            finally:
                del self._waiting[me]
            self._running += 1
        self._local.depth = 1
        try:
            yield
        finally:
            self._local.depth = 0
            with self._cond:
                self._running -= 1
                if me in self._tickets:
                    self._left[me] = time.monotonic()
                self._cond.notify_all()

    def done(self) -> None:
        """This thread's run is over: its place in the queue goes (the next run queues anew)."""
        with self._cond:
            me = threading.get_ident()
            self._tickets.pop(me, None)
            self._left.pop(me, None)
            self._cond.notify_all()


def _slots() -> int:
    try:
        return max(1, int(os.environ.get("VAE_COMPUTE_SLOTS", "1")))
    except ValueError:
        return 1


COMPUTE = Turns(slots=_slots())  # the process's one queue: every session's heavy work
