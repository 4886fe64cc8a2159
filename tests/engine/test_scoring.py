"""tests/scoring.py against the contract's scoring rule (section 7), one clause at a time."""
from __future__ import annotations

from tests.scoring import score


def out(*lines: tuple, notices: tuple[str, ...] = ()) -> dict:
    return {"lines": [{"code": c, "modifiers": list(m), "quantity": q} for c, m, q in lines],
            "notices": [{"kind": k} for k in notices]}


def exp(required=(), one_of=(), optional=(), forbidden=(), notices=()) -> dict:
    return {"required": [list(r) for r in required], "one_of": [[list(a) for a in g] for g in one_of],
            "optional": list(optional), "forbidden": list(forbidden), "notices": list(notices)}


def test_required_lines_present_pass() -> None:
    assert score(out(("D0367", [], 1), ("D0393", [], 1)), exp([("D0367", [], 1), ("D0393", [], 1)])) == []


def test_missing_required_line_fails() -> None:
    assert score(out(("D0367", [], 1)), exp([("D0367", [], 1), ("D0393", [], 1)])) == ["missing D0393 x1"]


def test_quantity_must_match_unless_null() -> None:
    assert score(out(("21085", [], 3)), exp([("21085", [], 2)])) == ["missing 21085 x2", "extra 21085 x3"]
    assert score(out(("D0801", [], 2)), exp([("D0801", [], None)])) == []


def test_modifiers_must_match_in_any_order() -> None:
    assert score(out(("70486", ["TC"], 1)), exp([("70486", [], 1)])) == ["missing 70486 x1", "extra 70486-TC x1"]
    assert score(out(("99999", ["52", "26"], 1)), exp([("99999", ["26", "52"], 1)])) == []


def test_one_of_needs_exactly_one_alternative() -> None:
    group = [[("99070", [], 1), ("21085", ["52"], 1)]]
    assert score(out(("99070", [], 1)), exp(one_of=group)) == []
    assert score(out(("21085", ["52"], 1)), exp(one_of=group)) == []
    assert score(out(), exp(one_of=group)) == ["one_of [99070 x1 | 21085-52 x1]: 0 present"]
    both = score(out(("99070", [], 1), ("21085", ["52"], 1)), exp(one_of=group))
    assert both[0].startswith("one_of [99070 x1 | 21085-52 x1]: 2 present") and len(both) == 3


def test_other_lines_only_when_optional() -> None:
    assert score(out(("D0140", [], 1)), exp(optional=["D0140"])) == []
    assert score(out(("D0140", [], 1)), exp()) == ["extra D0140 x1"]


def test_forbidden_code_fails_even_if_optional() -> None:
    assert score(out(("D0396", [], 1)), exp(optional=["D0396"], forbidden=["D0396"])) == ["forbidden D0396 x1"]


def test_listed_notice_kinds_must_appear_others_may() -> None:
    assert score(out(notices=("global-period", "by-report")), exp(notices=["global-period"])) == []
    assert score(out(), exp(notices=["mue-exceeded"])) == ["notice mue-exceeded missing"]


def test_a_line_used_by_a_required_entry_is_not_extra() -> None:
    assert score(out(("D0391", [], 2)), exp([("D0391", [], None)])) == []
