"""deploy/k8s: every manifest valid for a named Kubernetes version (kubernetes-validate, strict), and
the objects point at each other: selectors, HPA and PDB targets, Services, Ingress backends, images."""

import pytest
import yaml

from tests.conftest import require
from tests.deploy.conftest import K8S, k8s_documents, k8s_files, pod_specs

KUBERNETES_VERSION = "1.37.0"  # the newest schema kubernetes-validate 1.37.0 ships


def validator():
    try:
        import kubernetes_validate
    except ImportError:
        kubernetes_validate = None
    require(kubernetes_validate, "kubernetes-validate is not installed (pip install -r requirements-dev.txt)")
    return kubernetes_validate


@pytest.mark.parametrize("path", k8s_files(), ids=lambda path: str(path.relative_to(K8S)))
def test_manifest_is_valid_for_kubernetes(path):
    kubernetes_validate = validator()
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_strict_validation_refuses_an_unknown_field():
    kubernetes_validate = validator()
    deployment = next(doc for _, doc in k8s_documents() if doc["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = broken["spec"]["template"]["spec"][
        "containers"
    ][0].pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def by_kind(kind):
    return {doc["metadata"]["name"]: doc for _, doc in k8s_documents() if doc["kind"] == kind}


def test_kustomizations_list_every_manifest_and_pin_the_same_image():
    main = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    jobs = yaml.safe_load((K8S / "jobs" / "kustomization.yaml").read_text())
    top_level = {path.name for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml"}
    assert set(main["resources"]) == top_level
    assert jobs["resources"] == ["migrate.yaml"]
    assert main["images"] == jobs["images"]
    for _, spec in pod_specs():
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["image"] == main["images"][0]["name"]


def test_every_deployment_runs_locked_down():
    for name, spec in pod_specs():
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert "cpu" in container["resources"]["requests"], name  # what the HPA measures against
            assert "memory" in container["resources"]["limits"], name
            mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, name  # ffmpeg, uploads and beat's schedule write there


def test_every_app_pod_waits_for_the_migrations():
    deployments = by_kind("Deployment")
    for name, deployment in deployments.items():
        init = deployment["spec"]["template"]["spec"]["initContainers"]
        assert [container["command"] for container in init] == [["python", "manage.py", "migrate", "--check"]], name
    (job,) = by_kind("Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "python",
        "manage.py",
        "migrate",
        "--noinput",
    ]


def test_beat_is_one_replica_recreated():
    beat = by_kind("Deployment")["beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert "beat" not in {hpa["spec"]["scaleTargetRef"]["name"] for hpa in by_kind("HorizontalPodAutoscaler").values()}


def test_autoscalers_and_budgets_target_existing_deployments():
    deployments = by_kind("Deployment")
    hpas = by_kind("HorizontalPodAutoscaler")
    targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in hpas.values()}
    workers = {name for name in deployments if name.startswith("worker-")}
    assert targets <= set(deployments)
    assert {"web"} | workers <= targets
    labels = [deployment["spec"]["template"]["metadata"]["labels"] for deployment in deployments.values()]
    for name, pdb in by_kind("PodDisruptionBudget").items():
        selector = pdb["spec"]["selector"]["matchLabels"]
        matched = [each for each in labels if selector.items() <= each.items()]
        assert len(matched) == 1, name
    for name, deployment in deployments.items():
        assert (
            deployment["spec"]["selector"]["matchLabels"].items()
            <= deployment["spec"]["template"]["metadata"]["labels"].items()
        ), name


def test_services_and_ingress_backends_reach_a_container_port():
    deployments = by_kind("Deployment")
    services = by_kind("Service")
    for name, service in services.items():
        selector = service["spec"]["selector"]
        (deployment,) = [
            each
            for each in deployments.values()
            if selector.items() <= each["spec"]["template"]["metadata"]["labels"].items()
        ]
        ports = {
            port["name"]
            for container in deployment["spec"]["template"]["spec"]["containers"]
            for port in container.get("ports", [])
        }
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports, name
    for ingress in by_kind("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in services
                assert backend["port"]["name"] in {port["name"] for port in services[backend["name"]]["spec"]["ports"]}
