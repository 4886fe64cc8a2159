"""The Dockerfile and its build context, read as text (no Docker engine here): multi-stage, pinned base, non-root,
nothing secret set, and .dockerignore read against the real tree."""
from __future__ import annotations

import os
import re

import pytest

from plugin.settings import SECRET_NAMES
from tests.deploy.files import ROOT, dockerfile_instructions, dockerignore_patterns, in_context

NEVER = ("tests/", ".git/", ".venv/", "node_modules/", "bench/.data/")


def _tree() -> list[str]:
    """Every file of the work tree that could reach the context: a folder that is excluded, with no `!` pattern
    under it, is not walked (Docker sends nothing from it), which keeps .venv and .git out of the walk."""
    negated = [line[1:].strip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    out = []
    for folder, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT).replace(os.sep, "/")
        rel = "" if rel == "." else rel + "/"
        out += [rel + f for f in files]
        dirs[:] = [d for d in dirs if in_context(rel + d) or any(n.startswith(rel + d + "/") for n in negated)]
    return out


def test_the_build_context_holds_no_tests_git_venv_node_modules_or_secrets():
    sent = [p for p in _tree() if not p.endswith("/") and in_context(p)]
    assert sent, "nothing would reach the build"
    leaked = [p for p in sent if any(("/" + p).find("/" + n) >= 0 for n in NEVER)]
    assert not leaked, leaked[:10]
    secretish = [p for p in sent if re.search(r"(^|/)(\.env(\..*)?|.*\.(pem|key|p12)|secrets?(\..*)?)$", p)]
    assert not secretish, secretish
    assert not [p for p in sent if "__pycache__" in p or p.endswith(".pyc")]


@pytest.mark.parametrize("path", ["tests/test_cli.py", ".git/HEAD", ".venv/bin/python", "tests/fhirserver/node_modules/x.js",
                                  "deploy/.env", "plugin/.env", "mappings/2026/.env.local", "plugin/keys/smart.pem",
                                  "workers/secrets.json", "deploy/secrets/smart.pem", "README.md", "bench/bench_engine.py",
                                  "plugin/__pycache__/cli.cpython-311.pyc", "docs/runbook.md"])
def test_paths_that_must_never_be_sent(path):
    assert not in_context(path)


def test_everything_the_dockerfile_copies_is_in_the_context_and_exists():
    copies = [rest.split() for word, rest in dockerfile_instructions() if word == "COPY" and "--from" not in rest]
    sources = [src for parts in copies for src in parts[:-1] if not src.startswith("--")]
    assert set(sources) == {"pyproject.toml", "plugin", "workers", "mappings"}
    for src in sources:
        assert (ROOT / src).exists() and in_context(src), src
    for must in ("plugin/store/migrations/versions/0001_initial_tables.py", "mappings/2026/rules.yaml",
                 "mappings/2027/manifest.yaml", "mappings/schema/rules.schema.json", "mappings/RULE_IDS", "workers/app.py"):
        assert in_context(must), must


def test_the_matcher_follows_dockers_last_match_rule():
    patterns = dockerignore_patterns()
    assert patterns[0][0] is True and patterns[0][1].pattern == "[^/]*"  # `*` first: an allowlist
    assert in_context("plugin/cli.py", patterns) and not in_context("plugin/.env", patterns)
    assert not in_context("examples/orthognathic-planning/bundle.json", patterns)


def test_multi_stage_pinned_base_non_root_and_no_secret_in_the_image():
    steps = dockerfile_instructions()
    froms = [rest for word, rest in steps if word == "FROM"]
    assert len(froms) >= 2 and any(" AS build" in f for f in froms)
    base = next(rest.split("=", 1)[1] for word, rest in steps if word == "ARG" and rest.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM"):]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    last_user = max(i for i, (w, _) in enumerate(final) if w == "USER")
    assert not [w for w, _ in final[last_user:] if w == "RUN"], "RUN after USER would run as the app user anyway: keep it before"
    env_text = " ".join(rest for word, rest in steps if word in ("ENV", "ARG"))
    assert not [name for name in SECRET_NAMES if name in env_text]
    assert "DWCODER_CODE_SETS=/app/mappings" in env_text and "COPY mappings ./mappings" in " ".join(f"{w} {r}" for w, r in final)


def test_the_image_serves_on_the_port_it_exposes():
    steps = dict((w, r) for w, r in dockerfile_instructions() if w in ("EXPOSE",))
    env_text = " ".join(rest for word, rest in dockerfile_instructions() if word == "ENV")
    port = re.search(r"DWCODER_PORT=(\d+)", env_text).group(1)
    assert steps["EXPOSE"] == port and "DWCODER_HOST=0.0.0.0" in env_text
    health = next(rest for word, rest in dockerfile_instructions() if word == "HEALTHCHECK")
    assert f"127.0.0.1:{port}/healthz" in health
