"""viz.analysis.turns: sessions' heavy work in turns, first come first served."""

from __future__ import annotations

import threading
import time

import pytest

from viz.analysis.turns import Turns


def _session(turns: Turns, name: str, steps: int, log: list, started: threading.Event | None):
    """One script run: ``steps`` computations in turn, a little non-gated work between them."""
    for i in range(steps):
        with turns.turn():
            if started is not None and i == 0:
                started.set()
            log.append((name, i))
            time.sleep(0.02)
        time.sleep(0.002)  # drawing between two steps: the gate is free meanwhile
    turns.done()


def test_a_session_keeps_its_place_for_its_whole_run():
    turns = Turns(slots=1, grace_s=0.5)  # a's 2 ms gaps stay far inside it on a busy machine
    log: list = []
    first = threading.Event()
    a = threading.Thread(target=_session, args=(turns, "a", 5, log, first))
    a.start()
    first.wait(2)
    b = threading.Thread(target=_session, args=(turns, "b", 5, log, None))
    b.start()
    a.join(5)
    b.join(5)
    # every step of a before any of b's: a keeps its place while it draws between two steps
    # (a plain lock would let b in at each of a's gaps: a, b, a, b, ...)
    assert log == [("a", i) for i in range(5)] + [("b", i) for i in range(5)]


class _Occupancy:
    """How many threads are inside a gated block at once, and the most there ever were."""

    def __init__(self) -> None:
        self.inside = self.peak = 0
        self._lock = threading.Lock()

    def stay(self, seconds: float) -> None:
        with self._lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        time.sleep(seconds)
        with self._lock:
            self.inside -= 1


def _run_threads(work, n: int) -> None:
    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)


def test_one_computation_at_a_time_and_reentrant():
    turns = Turns(slots=1)
    occupancy = _Occupancy()

    def work():
        with turns.turn():
            with turns.turn():  # nested in the same thread: no deadlock
                occupancy.stay(0.01)
        turns.done()

    _run_threads(work, 6)
    assert occupancy.peak == 1 and turns.waiting() == 0


def test_two_slots_run_two_at_once():
    turns = Turns(slots=2)
    occupancy = _Occupancy()
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        with turns.turn():
            occupancy.stay(0.05)

    _run_threads(work, 4)
    assert occupancy.peak == 2


def test_an_exception_frees_the_turn():
    turns = Turns(slots=1)
    with pytest.raises(RuntimeError):
        with turns.turn():
            raise RuntimeError("boom")
    done = threading.Event()

    def other():
        with turns.turn():
            done.set()

    t = threading.Thread(target=other)
    t.start()
    t.join(2)
    assert done.is_set()


def test_a_session_blocked_elsewhere_loses_its_place_no_deadlock():
    """a asks for something b produces inside its turn (the same cached analysis): a's place
    lapses after the grace, b runs, a goes on."""
    turns = Turns(slots=1, grace_s=0.05)
    produced = threading.Event()
    a_started = threading.Event()
    out = []

    def a():
        with turns.turn():
            a_started.set()
        out.append(produced.wait(3))  # blocked outside the gate, on b's work
        with turns.turn():
            out.append("a again")
        turns.done()

    def b():
        a_started.wait(2)
        with turns.turn():
            produced.set()
        turns.done()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert out == [True, "a again"] and time.monotonic() - t0 < 2


def test_a_lapsed_ticket_does_not_jump_the_queue():
    turns = Turns(slots=1, hold_s=0.001)
    with turns.turn():
        pass
    first = turns._tickets[threading.get_ident()][0]
    time.sleep(0.02)
    with turns.turn():  # its old ticket lapsed: a new, later one
        pass
    assert turns._tickets[threading.get_ident()][0] > first
    with pytest.raises(ValueError):
        Turns(slots=0)
