"""The explorer's pin log applied in Python: in order, once, per grid."""

from __future__ import annotations

from viz.ui.explorer import apply_pin_log

GRID = (14, 14)


def _log(entries, log_id="L1"):
    return {"id": log_id, "entries": [list(e) for e in entries]}


def test_pins_applied_in_order_and_idempotent():
    entries = [("pin", r, c, "t") for r, c in [(1, 1), (5, 2), (3, 9), (0, 13)]]
    pins, mark = apply_pin_log(_log(entries), None, "t", [], 12, GRID)
    assert pins == [(1, 1), (5, 2), (3, 9), (0, 13)] and mark == ("L1", 4)
    again, mark2 = apply_pin_log(_log(entries), mark, "t", pins, 12, GRID)
    assert again == pins and mark2 == mark  # the same log twice changes nothing
    more = entries + [("unpin", 5, 2, "t"), ("pin", 7, 7, "t")]
    pins, mark = apply_pin_log(_log(more), mark, "t", pins, 12, GRID)
    assert pins == [(1, 1), (3, 9), (0, 13), (7, 7)] and mark == ("L1", 6)


def test_a_coalesced_log_loses_nothing():
    """Python sees only the newest log after several fast clicks: all of them are applied."""
    picks = [(i, (3 * i) % 14) for i in range(10)]
    log = _log([("pin", r, c, "t") for r, c in picks])
    pins, _ = apply_pin_log(log, ("L1", 0), "t", [], 12, GRID)
    assert pins == picks


def test_clear_other_grids_bad_entries_and_max_pins():
    entries = [
        ("pin", 1, 1, "t"),
        ("pin", 2, 2, "other"),  # another layer's grid
        ("pin", 99, 0, "t"),  # outside the grid
        ("pin", "x", 0, "t"),  # malformed
        ("clear", 0, 0, "t"),
        ("pin", 4, 4, "t"),
        ("pin", 4, 4, "t"),  # already pinned
        ("pin", 5, 5, "t"),
        ("pin", 6, 6, "t"),
    ]
    pins, mark = apply_pin_log(_log(entries), None, "t", [(9, 9)], 2, GRID)
    assert pins == [(5, 5), (6, 6)] and mark == ("L1", 9)


def test_a_reloaded_page_starts_a_new_log():
    pins, mark = apply_pin_log(_log([("pin", 1, 1, "t")]), None, "t", [], 12, GRID)
    pins, mark = apply_pin_log(_log([("pin", 2, 2, "t")], "L2"), mark, "t", pins, 12, GRID)
    assert pins == [(1, 1), (2, 2)] and mark == ("L2", 1)
    assert apply_pin_log(None, mark, "t", pins, 12, GRID) == (pins, mark)


def test_rows_are_sent_once_while_the_browser_holds_them():
    from viz.ui.explorer import explorer_data

    payload = {"mode": "queries", "id": "A", "rows": "xxxx", "image": "data:", "opacity": 0.5}
    full, served = explorer_data(payload, None, None, None)
    assert full == payload  # first render: everything
    lite, served = explorer_data(payload, "A", None, served)
    assert lite == {"mode": "queries", "id": "A", "opacity": 0.5, "lite": True}
    assert explorer_data(payload, "B", None, served)[0] == payload  # the browser holds another
    again, served = explorer_data(payload, "A", {"id": "A", "nonce": "n1"}, served)
    assert again == payload and served == "n1"  # the browser asked: sent in full, once
    assert explorer_data(payload, "A", {"id": "A", "nonce": "n1"}, served)[0]["lite"]
