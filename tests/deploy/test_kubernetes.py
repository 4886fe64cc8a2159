"""deploy/kubernetes: every manifest kustomize lists validates offline against the Kubernetes JSON schemas
(kubernetes-validate, strict: an unknown field fails) and KEDA's ScaledObject against a schema written from its CRD
(tests/deploy/schemas); and the manifests agree with the settings code, the compose file, the Dockerfile and
each other."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from plugin import config_reference
from plugin.metrics import CELERY_QUEUE
from plugin.settings import Settings
from plugin.sources.config import sources_from_settings
from tests.deploy.files import (DWCODER_IMAGE, KUBE, ROOT, by_name, compose, dwcoder_services, kinds, kube_env,
                                manifests, pod_specs)

K8S_VERSION = "1.33"
KEDA = json.loads((Path(__file__).parent / "schemas" / "keda-scaledobject-v1alpha1.json").read_text())
DWCODER = ("dwcoder-api", "dwcoder-worker", "dwcoder-beat", "dwcoder-migrate")


def _validate(doc: dict) -> None:
    if doc["apiVersion"].startswith("keda.sh/"):
        jsonschema.Draft202012Validator(KEDA).validate(doc)
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name,doc", manifests(), ids=lambda x: x if isinstance(x, str) else x["kind"] + "/" + x["metadata"]["name"])
def test_each_manifest_validates_offline(name, doc):
    _validate(doc)


@pytest.mark.parametrize("break_it", [
    lambda d: d["spec"]["template"]["spec"]["containers"][0].update(livenesProbe={}),
    lambda d: d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].update(cpu={"a": 1}),
    lambda d: d["spec"].update(replicas="two"),
])
def test_the_validation_catches_a_broken_deployment(break_it):
    doc = copy.deepcopy(by_name("Deployment")["dwcoder-api"])
    break_it(doc)
    with pytest.raises(jsonschema.ValidationError):
        _validate(doc)


def test_the_keda_schema_catches_a_trigger_without_its_list():
    doc = copy.deepcopy(kinds("ScaledObject")[0])
    del doc["spec"]["triggers"][0]["metadata"]["listName"]
    with pytest.raises(jsonschema.ValidationError):
        _validate(doc)


def test_kustomize_lists_every_manifest_file():
    listed = set(yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    images = yaml.safe_load((KUBE / "kustomization.yaml").read_text())["images"]
    compose_image = next(iter(dwcoder_services(compose()).values()))["image"]
    assert [(i["name"], i["newTag"]) for i in images] == [tuple(compose_image.split(":"))]


def test_every_dwcoder_pod_is_non_root_read_only_with_probes_and_requests():
    specs = pod_specs()
    assert set(DWCODER) <= set(specs)
    for name, spec in specs.items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec.get("automountServiceAccountToken") is False, name
        mounts_tmp = False
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"], name
            assert c["resources"]["limits"]["memory"], name
            mounts_tmp |= any(m["mountPath"] == "/tmp" for m in c.get("volumeMounts", []))
            if name != "dwcoder-migrate":
                assert c.get("livenessProbe") and c.get("readinessProbe"), name
            if c["image"] == DWCODER_IMAGE:
                assert {m["mountPath"] for m in c["volumeMounts"]} >= {"/tmp", "/var/lib/dwcoder"}, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert mounts_tmp and "emptyDir" in volumes["tmp"], name


def test_the_api_probes_point_at_the_routes_and_the_port_the_image_serves():
    from plugin.web.routes import ROUTES

    paths = {r.path for r in ROUTES}
    env = kube_env()
    api = by_name("Deployment")["dwcoder-api"]["spec"]["template"]["spec"]["containers"][0]
    port = {p["name"]: p["containerPort"] for p in api["ports"]}["http"]
    assert str(port) == env["DWCODER_PORT"] == compose()["services"]["api"]["environment"]["DWCODER_PORT"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert api[probe]["httpGet"]["path"].split("?")[0] in paths and api[probe]["httpGet"]["port"] == "http"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz?ignore=fhir"
    service = by_name("Service")["dwcoder-api"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_selectors_match_their_pods():
    pods = {name: doc["spec"]["template"]["metadata"]["labels"] for kind in ("Deployment", "StatefulSet")
            for name, doc in by_name(kind).items()}
    for kind in ("Deployment", "StatefulSet"):
        for name, doc in by_name(kind).items():
            assert doc["spec"]["selector"]["matchLabels"].items() <= pods[name].items(), name
    for name, svc in by_name("Service").items():
        assert any(svc["spec"]["selector"].items() <= labels.items() for labels in pods.values()), name
    for name, pdb in by_name("PodDisruptionBudget").items():
        assert any(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items() for labels in pods.values()), name


def test_beat_is_one_replica_recreated_and_the_worker_scales_on_the_celery_list():
    beat = by_name("Deployment")["dwcoder-beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    worker = by_name("Deployment")["dwcoder-worker"]
    assert "replicas" not in worker["spec"]  # the ScaledObject owns it
    [scaled] = kinds("ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "dwcoder-worker"
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == CELERY_QUEUE
    host = trigger["metadata"]["address"].split(":")[0]
    assert host.split(".")[0] in by_name("Service") and host.split(".")[1] == yaml.safe_load(
        (KUBE / "kustomization.yaml").read_text())["namespace"]
    redis_url = urlsplit(kube_env()["REDIS_URL"])
    assert redis_url.hostname in by_name("Service") and str(redis_url.port) == trigger["metadata"]["address"].split(":")[1]
    assert trigger["metadata"]["databaseIndex"] == (redis_url.path.strip("/") or "0")
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(kube_env()["DWCODER_TASK_TIME_LIMIT_S"])


def test_redis_is_durable_and_never_evicts():
    redis = by_name("StatefulSet")["dwcoder-redis"]["spec"]["template"]["spec"]["containers"][0]
    flags = dict(zip(redis["args"][0::2], redis["args"][1::2]))
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "everysec"
    assert flags["--maxmemory-policy"] == "noeviction"
    assert compose()["services"]["redis"]["image"] == redis["image"]


def test_only_the_api_takes_traffic_from_outside():
    policies = kinds("NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"]
            and not p["spec"].get("ingress")]
    assert deny, "no default deny of ingress"
    open_to_all = [p for p in policies for rule in p["spec"].get("ingress", []) if not rule.get("from")]
    assert [p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in open_to_all] == ["api"]
    for p in policies:
        for rule in p["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                assert "ipBlock" not in peer, p["metadata"]["name"]


def test_the_settings_of_the_manifests_are_known_complete_and_accepted(tmp_path):
    env = kube_env()
    known = config_reference.variables()
    assert not sorted(set(env) - set(known)), "the manifests set variables no code reads"
    assert not [v for v in config_reference.DEPLOYMENT if not env.get(v)]
    secrets = set(by_name("Secret")["dwcoder-secrets"]["stringData"])
    config = set(by_name("ConfigMap")["dwcoder-config"]["data"])
    assert not [v for v in config if known[v].secret and v != "SMART_PRIVATE_KEY"], "a secret in the ConfigMap"
    assert secrets <= {v for v in known if known[v].secret}
    key = tmp_path / "smart.pem"  # the mounted signing key (secrets.example.yaml), at its path in the pod
    key.write_text(by_name("Secret")["dwcoder-signing-key"]["stringData"]["smart.pem"])
    api = by_name("Deployment")["dwcoder-api"]["spec"]["template"]["spec"]
    mount = next(m["mountPath"] for m in api["containers"][0]["volumeMounts"] if m["name"] == "signing-key")
    assert env["SMART_PRIVATE_KEY"] == f"{mount}/smart.pem"
    settings = Settings.from_env({**env, "SMART_PRIVATE_KEY": str(key), "DWCODER_HOME": str(tmp_path)}, dotenv=None)
    assert settings.database_kind == "postgresql" and settings.fhir_auth == "smart" and settings.host == "0.0.0.0"
    assert sources_from_settings(settings)
    placeholders = json.dumps(by_name("Secret")["dwcoder-secrets"]["stringData"])
    assert "REPLACE" in placeholders and "REPLACE" in key.read_text()  # examples, never real values


def test_every_dwcoder_container_runs_the_one_image_with_the_settings():
    for name in DWCODER:
        spec = pod_specs()[name]
        for c in spec["containers"]:
            assert c["image"] == DWCODER_IMAGE
            refs = {(k, v["name"]) for item in c["envFrom"] for k, v in item.items()}
            assert refs == {("configMapRef", "dwcoder-config"), ("secretRef", "dwcoder-secrets")}, name


def test_commands_agree_with_compose():
    services = compose()["services"]
    for kube, svc in (("dwcoder-api", "api"), ("dwcoder-beat", "beat"), ("dwcoder-migrate", "migrate")):
        assert pod_specs()[kube]["containers"][0]["command"] == services[svc]["command"], kube
    worker = pod_specs()["dwcoder-worker"]["containers"][0]["command"]
    assert worker[:5] == services["worker"]["command"][:5] == ["celery", "-A", "workers.app", "worker", "--loglevel"]
    assert re.fullmatch(r"\d+", worker[-1])
