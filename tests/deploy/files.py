"""What the deployment tests read: the compose file (with its .env.example), the Kubernetes manifests (as
kustomize lists them), the Dockerfile and .dockerignore, and the environment each dwcoder container gets."""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
KUBE = DEPLOY / "kubernetes"
DWCODER_IMAGE = "digital-workflow-coder"
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}")


def example_env() -> dict[str, str]:
    return {k: v or "" for k, v in dotenv_values(ENV_EXAMPLE).items()}


def compose_raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolations() -> list[tuple[str, str | None, str]]:
    """Every ${VAR}, ${VAR:-default}, ${VAR:?error} in the compose file: (name, operator, word)."""
    text = re.sub(r"\$\$", "", COMPOSE.read_text())
    return [(m.group(1), m.group(2), m.group(3) or "") for m in _VAR.finditer(text)]


def interpolate(value, env: dict[str, str]):
    """Compose's interpolation of one value with the variables of `env` (.env)."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match) -> str:
        name, op, word = m.group(1), m.group(2), m.group(3) or ""
        got = env.get(name, "")
        if op == "?" and not got:
            raise KeyError(f"{name}: {word}")
        return got if got or op != "-" else word

    return _VAR.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def compose(env: dict[str, str] | None = None) -> dict:
    return interpolate(compose_raw(), example_env() if env is None else env)


def dwcoder_services(doc: dict) -> dict[str, dict]:
    return {name: svc for name, svc in doc["services"].items() if svc.get("image", "").split(":")[0].endswith(DWCODER_IMAGE)}


def manifests() -> list[tuple[str, dict]]:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    out = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((KUBE / name).read_text()):
            if doc:
                out.append((name, doc))
    return out


def kinds(kind: str) -> list[dict]:
    return [doc for _, doc in manifests() if doc["kind"] == kind]


def by_name(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in kinds(kind)}


def pod_specs() -> dict[str, dict]:
    """workload name -> its pod spec (Deployments, StatefulSets, Jobs)."""
    out = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, doc in by_name(kind).items():
            out[name] = doc["spec"]["template"]["spec"]
    return out


def kube_env(configmap: dict | None = None, secrets: dict | None = None) -> dict[str, str]:
    """The environment a dwcoder container gets from envFrom: the ConfigMap, then the Secret."""
    cm = configmap or by_name("ConfigMap")["dwcoder-config"]
    secret = secrets or by_name("Secret")["dwcoder-secrets"]
    return {**cm.get("data", {}), **secret.get("stringData", {})}


def dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """(.dockerignore) -> [(exclude?, regex)], in order; the last matching pattern decides (Docker's rule)."""
    out = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        out.append((not negate, re.compile(regex)))
    return out


def in_context(path: str, patterns=None) -> bool:
    """Whether a path (relative, with /) reaches the build context: a pattern matches the path or a parent of it."""
    patterns = dockerignore_patterns() if patterns is None else patterns
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for exclude, regex in patterns:
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = exclude
    return not excluded


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out
