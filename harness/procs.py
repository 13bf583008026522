"""What the served app and the browsers cost, read from ``/proc``: CPU seconds and resident memory
of one process, and the CPU of this process's descendants (Playwright's driver and Chromium) less
the servers' process groups. Linux only, like the rest of the harness."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name (which may hold spaces): field 3 onwards."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) of process ``pid`` so far; NaN once it is gone."""
    try:
        return _ticks(pid) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` now, MB (NaN once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid`` (Chromium's renderers sit under Playwright's driver)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(_stat_fields(int(stat.parent.name))[1])
        except OSError:
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def client_cpu(exclude_groups: Iterable[int]) -> float:
    """CPU seconds so far of this process's descendants (Playwright + Chromium), minus those in
    the process groups ``exclude_groups`` (the servers': ``AppServer.pid``)."""
    exclude = set(exclude_groups)
    total = 0
    for pid in descendants(os.getpid()):
        try:
            if os.getpgid(pid) in exclude:
                continue
            total += _ticks(pid)
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")
