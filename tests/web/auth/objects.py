"""What the route-table walk (test_route_table.py) needs to call a route on an object of a given practice.

A route whose path takes a parameter (`/review/cases/{case_id}`) is walked with an object of practice B
made by the factory registered for that parameter name:

    @param_factory("case_id")
    def a_case(store, practice: str) -> str:         # -> the path value of a new object of `practice`
        ...

A route whose request needs more than its path (a form naming a line, a version) registers the whole request:

    @request_factory("POST", "/review/lines/{line_id}/decision")
    def a_decision(store, practice: str) -> tuple[str, dict]:   # -> (url, httpx keyword arguments)
        ...

Factories live with the tests of the routes they serve, in the modules of FACTORY_MODULES (imported here).
A signed-in route with a path parameter and no factory fails the walk: no route escapes it.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

PARAM_FACTORIES: dict[str, Callable] = {}
REQUEST_FACTORIES: dict[tuple[str, str], Callable] = {}
FACTORY_MODULES = ("tests.web.auth.review_objects", "tests.web.review.objects")


def param_factory(name: str):
    def register(fn: Callable) -> Callable:
        PARAM_FACTORIES[name] = fn
        return fn
    return register


INSIDERS: dict[tuple[str, str], str] = {}


def request_factory(method: str, path: str, insider: str = ""):
    """`insider`: the practice of the user who may call it, when not the object's own (e.g. "*": deployment-wide)."""
    def register(fn: Callable) -> Callable:
        REQUEST_FACTORIES[(method, path)] = fn
        if insider:
            INSIDERS[(method, path)] = insider
        return fn
    return register


def insider_practice(route, practice: str) -> str:
    load()
    return INSIDERS.get((route.method, route.path), practice)


def load() -> None:
    for name in FACTORY_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def params_of(path: str) -> list[str]:
    import re

    return re.findall(r"{([^}:]+)(?::[^}]*)?}", path)


def request_for(route, store, practice: str) -> tuple[str, dict]:
    """(url, httpx kwargs) calling `route` on a new object of `practice`; KeyError naming what is missing."""
    load()
    custom = REQUEST_FACTORIES.get((route.method, route.path))
    if custom is not None:
        return custom(store, practice)
    url = route.path
    for name in params_of(route.path):
        if name not in PARAM_FACTORIES:
            raise KeyError(f"{route.method} {route.path}: no factory for {{{name}}}: register one "
                           f"(tests/web/auth/objects.py says how)")
        url = url.replace("{" + name + "}", str(PARAM_FACTORIES[name](store, practice)))
    return url, {}


def dummy_url(path: str) -> str:
    """The path with every parameter filled with a value naming nothing."""
    import re

    return re.sub(r"{[^}]+}", "999999", path)
