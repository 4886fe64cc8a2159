"""The configuration reference (docs/configuration.md), generated from the code: `dwcoder settings reference`.

Every environment variable is found by reading the source (Python's ast), not by a list kept by hand:
* in plugin/settings.py, each call that passes `env` and a variable name: `env.get("X", default)`,
  `_number(env, "X", default, minimum=..)`, `_choice(env, "X", allowed, default)`, `_json_setting(env, "X")`;
* anywhere in plugin/ and workers/: `os.environ.get("X")`, `os.getenv("X")`, `os.environ["X"]`.
The default, the allowed values and the minimum come from those calls. What a variable means comes from
DESCRIPTIONS below: a variable the code reads without a description fails the tests (tests/test_config_reference.py),
and so does docs/configuration.md when it differs from what this module generates.

DEPLOYMENT lists the variables whose code default does not suit a container deployment (compose, Kubernetes):
each deployment must set them (tests/deploy/ check it).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "plugin" / "settings.py"
SCANNED = ("plugin", "workers")
NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
SETTING_CALLS = {"get": 1, "_number": 2, "_choice": 3, "_json_setting": None}  # call -> index of its default arg

DESCRIPTIONS = {
    "DWCODER_HOME": "folder of the SQLite file and local state",
    "DATABASE_URL": "`sqlite:///path` or `postgresql://user:password@host:5432/db`; migrated by Alembic at start (`dwcoder migrate`)",
    "REDIS_URL": "Celery broker, `redis://host:6379/0`; unset: the in-process local queue (one machine). Run Redis with "
                 "`appendonly yes`, `appendfsync everysec`, `maxmemory-policy noeviction`",
    "FHIR_BASE_URL": "the EHR's FHIR base; unset: the embedded ChargeItem store at `/fhir/ChargeItem`",
    "FHIR_VERSION": "FHIR version of the EHR",
    "FHIR_AUTH": "how the plugin authenticates to the FHIR server",
    "FHIR_BEARER_TOKEN": "static token when `FHIR_AUTH=bearer`",
    "SMART_TOKEN_URL": "SMART Backend Services token endpoint (`FHIR_AUTH=smart`)",
    "SMART_CLIENT_ID": "SMART client id (`FHIR_AUTH=smart`)",
    "SMART_PRIVATE_KEY": "the signing key for SMART client assertions: PEM text or the path of a PEM file (a mounted secret)",
    "SMART_KID": "key id of the signing key (the `kid` of the JWK registered with the EHR)",
    "SMART_ALG": "signing algorithm of the client assertion",
    "SMART_SCOPE": "scopes asked of the token endpoint",
    "DWCODER_PRACTICE": "billing practice identifier `SYSTEM|VALUE`, e.g. `http://hl7.org/fhir/sid/us-npi|1234567893`",
    "DWCODER_CLAIM": "claim form; unset: from Coverage, else `default_claim` of the mappings",
    "DWCODER_MAPPINGS": "practice override folders (path-separator list); see docs/runbook.md, add a practice override",
    "DWCODER_CODE_SETS": "the base folder of the yearly code sets (`<year>/`, `schema/`, `RULE_IDS`); default: `mappings/` "
                         "beside the package (the container image sets `/app/mappings`)",
    "WEBHOOK_SOURCES": "webhook senders and their secrets: JSON or a file, `{\"lab\": [\"whsec_...\"]}` or "
                       "`{\"lab\": {\"secrets\": [...], \"max_body_bytes\": n, \"rate\": \"20/s\", \"burst\": 40}}`; "
                       "several secrets = rotation (docs/runbook.md)",
    "SUBSCRIPTIONS": "FHIR Subscriptions and the channel header each sends: JSON or a file, "
                     "`{\"sub-1\": \"Authorization: Bearer ...\"}` (docs/sources.md)",
    "DWCODER_MAX_BODY_BYTES": "default body limit per request, bytes",
    "DWCODER_RATE": "default requests per second per source",
    "DWCODER_SETTLE_S": "a case's events must be quiet this long before it is recomputed (one recomputation per burst)",
    "DWCODER_EVENT_TIMEOUT_S": "an event not finished this long after it was queued is queued again by the sweeper",
    "DWCODER_SWEEP_EVERY_S": "sweeper period (Celery beat, or the local queue)",
    "DWCODER_MAX_ATTEMPTS": "attempts of one event before it becomes a dead letter",
    "DWCODER_TASK_TIME_LIMIT_S": "hard time limit of one task",
    "DWCODER_VISIBILITY_TIMEOUT_S": "Redis visibility timeout: an unacknowledged task is given to another worker after "
                                    "it; must exceed `DWCODER_TASK_TIME_LIMIT_S` (checked); default max(300, 2 x the limit)",
    "DWCODER_HOST": "listen address of `dwcoder serve` (`0.0.0.0` in a container)",
    "DWCODER_PORT": "listen port of `dwcoder serve`",
    "DWCODER_LOG_LEVEL": "log level (JSON lines on stderr)",
}

SECRETS_EXTRA = {"SMART_PRIVATE_KEY"}  # besides plugin.settings.SECRET_NAMES

# variable -> why a container deployment must set it (the code default is for one laptop)
DEPLOYMENT = {
    "DATABASE_URL": "the default is a SQLite file inside one container; api, worker and beat share PostgreSQL",
    "REDIS_URL": "unset means the in-process queue; separate worker and beat containers need the broker",
    "DWCODER_HOST": "the default 127.0.0.1 is unreachable from outside the container",
    "DWCODER_PORT": "the port the health checks, the Service and the published port point at",
    "DWCODER_HOME": "must be a writable folder (the root filesystem is read-only in Kubernetes)",
}


@dataclass
class Variable:
    name: str
    default: str = ""
    allowed: tuple[str, ...] = ()
    minimum: str = ""
    read_by: set[str] = field(default_factory=set)

    @property
    def secret(self) -> bool:
        from plugin.settings import SECRET_NAMES

        return self.name in SECRET_NAMES or self.name in SECRETS_EXTRA


def docstring_descriptions() -> dict[str, str]:
    """What plugin/settings.py's module docstring says of each variable: the line that first names it, with its
    continuation lines (the fallback where DESCRIPTIONS has no entry, so a setting documented there is documented)."""
    doc = ast.get_docstring(ast.parse(SETTINGS_FILE.read_text())) or ""
    out: dict[str, str] = {}
    current: list[str] = []
    for line in doc.splitlines():
        names = [n for n in re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", line) if "_" in n or n in ("PACS",)]
        text = " ".join(line.split())
        if names and line.startswith("    ") and not line.startswith("      " + " " * 18):
            current = [n for n in names if n not in out]
            for name in current:
                out[name] = text
        elif text and current and line.startswith(" " * 8):
            for name in current:
                out[name] += " " + text
        else:
            current = []
    return out


def described() -> dict[str, str]:
    return {**docstring_descriptions(), **DESCRIPTIONS}


def variables() -> dict[str, Variable]:
    """Every environment variable the code reads, by name."""
    found: dict[str, Variable] = {}
    _scan_settings(found)
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path != SETTINGS_FILE and "migrations" not in path.parts:
                _scan_environ(path, found)
    return dict(sorted(found.items()))


# defaults the code computes where it reads the variable (an `or` after env.get)
DEFAULT_TEXT = {"DWCODER_HOME": "~/.dwcoder", "DATABASE_URL": "SQLite file `dwcoder.db` under DWCODER_HOME",
                "DWCODER_CODE_SETS": "`mappings/` beside the package"}


def _literal(node: ast.AST | None) -> str:
    """A default as written: a literal, or a constant expression evaluated (64 * 1024 * 1024, Settings.smart_scope)."""
    if node is None:
        return ""
    try:
        value = ast.literal_eval(node)
    except ValueError:
        from plugin.settings import Settings

        try:
            value = eval(compile(ast.Expression(node), "<default>", "eval"), {"__builtins__": {}}, {"Settings": Settings})
        except Exception:  # depends on another variable: shown as written
            return ast.unparse(node)
    return "" if value in ("", None) else str(value)


def _scan_settings(found: dict[str, Variable], source: str | None = None) -> None:
    tree = ast.parse(SETTINGS_FILE.read_text() if source is None else source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if fn not in SETTING_CALLS or not _passes_env(node, fn):
            continue
        args = node.args if fn == "get" else node.args[1:]
        if not args or not isinstance(args[0], ast.Constant) or not NAME.match(str(args[0].value)):
            continue
        var = found.setdefault(args[0].value, Variable(args[0].value))
        var.read_by.add("plugin/settings.py")
        if fn == "get" and len(args) > 1:
            var.default = var.default or _literal(args[1])
        elif fn == "_number":
            var.default = _literal(args[1]) if len(args) > 1 else ""
            var.minimum = next((_literal(k.value) for k in node.keywords if k.arg == "minimum"), "")
        elif fn == "_choice":
            var.allowed = tuple(ast.literal_eval(args[1])) if len(args) > 1 and isinstance(args[1], ast.Tuple) else ()
            var.default = _literal(args[2]) if len(args) > 2 else ""


def _passes_env(node: ast.Call, fn: str) -> bool:
    if fn == "get":
        return isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "env"
    return bool(node.args) and getattr(node.args[0], "id", "") == "env"


def _scan_environ(path: Path, found: dict[str, Variable]) -> None:
    rel = path.relative_to(ROOT).as_posix()
    for node in ast.walk(ast.parse(path.read_text())):
        name, default = None, ""
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            target = ast.unparse(node.func)
            if target in ("os.environ.get", "os.getenv", "environ.get"):
                name, default = node.args[0].value, _literal(node.args[1]) if len(node.args) > 1 else ""
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("os.environ", "environ"):
            if isinstance(node.slice, ast.Constant):
                name = node.slice.value
        if isinstance(name, str) and NAME.match(name):
            var = found.setdefault(name, Variable(name))
            var.read_by.add(rel)
            var.default = var.default or default


def markdown() -> str:
    lines = ["# Configuration reference", "",
             "Generated from the code by `dwcoder settings reference` (plugin/config_reference.py); a test fails when",
             "this file and the code drift apart. Every setting is an environment variable; a `.env` file in the working",
             "folder is read too and the environment wins. A bad value stops the start with a message naming the",
             "variable (a secret's value is never repeated). Unset or empty means the default.", "",
             "| variable | default | allowed | secret | container deployments | read by | what |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    descriptions = described()
    for var in variables().values():
        allowed = " \\| ".join(var.allowed) if var.allowed else (f">= {var.minimum}" if var.minimum else "")
        default = f"`{var.default}`" if var.default else DEFAULT_TEXT.get(var.name, "(unset)")
        deploy = "must set" if var.name in DEPLOYMENT else ""
        what = descriptions.get(var.name, "(undocumented: add it to plugin/config_reference.py DESCRIPTIONS)")
        cells = (f"`{var.name}`", _pipe(default), allowed, "yes" if var.secret else "", deploy,
                 ", ".join(sorted(var.read_by)), _pipe(what))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Why a deployment sets these", ""]
    lines += [f"- `{name}`: {why}" for name, why in DEPLOYMENT.items()]
    lines += ["", "Examples: `deploy/.env.example` (compose), `deploy/kubernetes/configmap.yaml` and "
              "`deploy/kubernetes/secrets.example.yaml` (Kubernetes)."]
    return "\n".join(lines) + "\n"


def _pipe(text: str) -> str:
    return text.replace("|", "\\|")
