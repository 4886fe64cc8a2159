"""How a topic module of clinical cases (cases_*.py) joins make_files.py's list: one way for all of them.

A topic module makes `TOPIC = Topic()` and marks its cases `@TOPIC.case`; make_files.py calls
`TOPIC.register(globals())` once, which hands the cases to its own `case` decorator and gives the module its
helpers (`claim`, `uid`, `volume`, `flat`, `DEVICES`, `ORGS`, ...) as `TOPIC.helpers`. So a topic module never
imports make_files itself and works whatever name make_files runs under (__main__, or loaded by a test).
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable


class Topic:
    def __init__(self, setup: Callable[[SimpleNamespace], Any] | None = None) -> None:
        self.helpers = SimpleNamespace()
        self.cases: list[Callable[[Any], None]] = []
        self.setup = setup  # run once the helpers are there (e.g. a device of the topic's own)

    def case(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        self.cases.append(fn)
        return fn

    def register(self, namespace: dict[str, Any]) -> None:
        """Give the topic make_files' names and add its cases, in order, to make_files' list (call once)."""
        self.helpers.__dict__.update(namespace)
        if self.setup:
            self.setup(self.helpers)
        for fn in self.cases:
            namespace["case"](fn)
