"""The condition language of rules (`when:`), compiled once at load into plain predicates.

    fact: value            equal (booleans compare as booleans, anything else as text)
    fact: [a, b]           equal to any
    fact: {not: value}     not equal (value may be a list)
    fact: {min: n} / {max: n}   a number at least / at most n (absent or non-numbers fail)
    billed: {any: [codes]} / {none: [codes]}   some / none of these codes already suggested
"""
from __future__ import annotations

from typing import Any, Callable

Predicate = Callable[[dict[str, Any]], bool]


def compile_when(when: dict[str, Any]) -> Predicate:
    tests = [(name, _value_test(cond)) for name, cond in when.items()]
    return lambda facts: all(test(facts.get(name)) for name, test in tests)


def _value_test(cond: Any) -> Callable[[Any], bool]:
    if isinstance(cond, dict):
        parts = [_op(op, arg) for op, arg in cond.items()]
        return lambda v: all(p(v) for p in parts)
    if isinstance(cond, list):
        options = [_equal(c) for c in cond]
        return lambda v: any(o(v) for o in options)
    return _equal(cond)


def _equal(cond: Any) -> Callable[[Any], bool]:
    if isinstance(cond, bool):
        return lambda v: v is cond
    text = str(cond)
    return lambda v: (v == text) if v.__class__ is str else (not isinstance(v, bool) and str(v) == text)


def _op(op: str, arg: Any) -> Callable[[Any], bool]:
    if op == "not":
        inner = _value_test(arg)
        return lambda v: not inner(v)
    if op == "min":
        return lambda v: _number(v) and v >= arg
    if op == "max":
        return lambda v: _number(v) and v <= arg
    codes = frozenset(arg)
    if op == "any":
        return lambda v: bool(codes.intersection(v or ()))
    return lambda v: not codes.intersection(v or ())


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def first_failure(when: dict[str, Any], facts: dict[str, Any]) -> str:
    """Plain words for the first condition these facts miss, or '' when all hold (for explanations)."""
    for name, cond in when.items():
        if not _value_test(cond)(facts.get(name)):
            return f"{name} is {facts.get(name)!r}, the rule needs {cond!r}"
    return ""
