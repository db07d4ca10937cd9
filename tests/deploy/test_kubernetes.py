"""The Kubernetes manifests, validated offline against the API's schemas: no cluster runs here."""
import kubernetes_validate
import pytest
import yaml

from helpers import ROOT

FOLDER = ROOT / "deploy" / "kubernetes"
VERSION = "1.33.0"  # the oldest minor release still supported upstream when these were written


def _documents():
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(FOLDER.glob("*.yaml"))
            if path.name != "kustomization.yaml"}


DOCUMENTS = _documents()
KINDS = {document["kind"]: document for document in DOCUMENTS.values()}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_manifest_is_valid_for_the_kubernetes_api_with_no_unknown_fields(name):
    kubernetes_validate.validate(DOCUMENTS[name], VERSION, strict=True)


def test_a_field_the_api_does_not_know_is_caught():
    broken = {**KINDS["Service"], "spec": {**KINDS["Service"]["spec"], "portz": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_the_kustomization_lists_every_manifest():
    listed = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(DOCUMENTS)


def test_the_deployment_probes_readiness_and_liveness_on_the_service_endpoints():
    (container,) = KINDS["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/health"


def test_the_pod_runs_as_non_root_on_a_read_only_root_with_writable_temp_folders():
    pod = KINDS["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"]
    assert not container["securityContext"]["allowPrivilegeEscalation"]
    mounted = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert {"/tmp", "/dev/shm"} <= mounted  # gunicorn's heartbeat files and the metrics' per-process files


def _bytes(quantity):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return int(quantity[:-2]) * units[quantity[-2:]] if quantity[-2:] in units else int(quantity)


def test_requests_fit_within_limits():
    (container,) = KINDS["Deployment"]["spec"]["template"]["spec"]["containers"]
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    assert _bytes(requests["memory"]) <= _bytes(limits["memory"])
    assert float(requests["cpu"]) <= float(limits["cpu"])


def test_the_service_autoscaler_and_budget_all_reach_the_deployments_pods():
    deployment = KINDS["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert KINDS["Service"]["spec"]["selector"].items() <= labels.items()
    assert KINDS["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = KINDS["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert KINDS["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
