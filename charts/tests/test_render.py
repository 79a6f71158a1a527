"""helm lint --strict, every scenario renders, and the output passes strict schema validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import zinfer_chart as zc

SCENARIOS = [None, *zc.CI_VALUES]
IDS = ["defaults", *(p.name for p in zc.CI_VALUES)]
# Custom resources kubernetes-validate has no schema for; checked in test_custom_resources.py.
CUSTOM_KINDS = {"ServiceMonitor", "PodMonitor", "ScaledObject"}


def _files(values: Path | None) -> list[Path]:
    return [] if values is None else [values]


def test_there_are_scenarios() -> None:
    names = {p.name for p in zc.CI_VALUES}
    assert {"kind-values.yaml", "keda-values.yaml", "servicemonitor-values.yaml"} <= names


@pytest.mark.parametrize("values", SCENARIOS, ids=IDS)
def test_helm_lint_strict(values: Path | None) -> None:
    proc = zc.helm("lint", "--strict", str(zc.CHART), *zc.values_args(_files(values)), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # In lint mode a template's `fail` is only logged; the render tests below make it fatal.
    assert "[ERROR]" not in proc.stdout and "[WARNING]" not in proc.stdout, proc.stdout


@pytest.mark.parametrize("kube_version", zc.KUBE_VERSIONS)
@pytest.mark.parametrize("values", SCENARIOS, ids=IDS)
def test_kubernetes_validate_strict(values: Path | None, kube_version: str) -> None:
    text = zc.template_text(_files(values), kube_version=kube_version)
    proc = zc.kubernetes_validate(text, kube_version)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith("WARN"):
            assert any(f"kind {kind} " in line for kind in CUSTOM_KINDS), line


def test_resources_are_labelled_named_and_namespaced(scenario: tuple[str, zc.Manifests]) -> None:
    _, manifests = scenario
    for (kind, name), doc in manifests.items():
        meta = doc["metadata"]
        assert len(name) <= 63, (kind, name)
        assert meta.get("namespace"), (kind, name)
        labels = meta["labels"]
        assert labels["app.kubernetes.io/instance"] == zc.RELEASE, (kind, name)
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"].startswith("zinfer-")


def test_selector_labels_never_carry_the_version(scenario: tuple[str, zc.Manifests]) -> None:
    _, manifests = scenario
    for (kind, name), doc in manifests.items():
        spec = doc.get("spec", {})
        selectors = []
        if kind in {"Deployment", "PodDisruptionBudget"}:
            selectors.append(spec["selector"]["matchLabels"])
        if kind == "Service" and "selector" in spec:
            selectors.append(spec["selector"])
        if kind == "NetworkPolicy":
            selectors.append(spec["podSelector"]["matchLabels"])
        for selector in selectors:
            assert not {"helm.sh/chart", "app.kubernetes.io/version"} & set(selector), (kind, name)


def test_every_deployment_selector_matches_its_pods(scenario: tuple[str, zc.Manifests]) -> None:
    _, manifests = scenario
    for dep in zc.of_kind(manifests, "Deployment"):
        selector = dep["spec"]["selector"]["matchLabels"]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()


def test_service_selectors_match_exactly_one_deployment(scenario: tuple[str, zc.Manifests]) -> None:
    _, manifests = scenario
    deployments = zc.of_kind(manifests, "Deployment")
    for svc in zc.of_kind(manifests, "Service"):
        selector = svc["spec"]["selector"]
        hits = [d for d in deployments if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(hits) == 1, svc["metadata"]["name"]
        # Every targetPort names a container port of those pods.
        names = {p["name"] for c in hits[0]["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in names


def test_a_release_name_containing_the_chart_name_is_not_repeated() -> None:
    m = zc.render(release="zinfer")
    assert ("Deployment", "zinfer-modelserver") in m
    m = zc.render(release="prod")
    assert ("Deployment", "prod-zinfer-modelserver") in m


def test_long_release_names_are_truncated_to_dns_labels() -> None:
    m = zc.render(release="a" * 53)
    for kind, name in m:
        assert len(name) <= 63 and not name.endswith("-"), (kind, name)


def test_helm_package_includes_dashboards_and_schema(tmp_path: Path) -> None:
    zc.helm("package", str(zc.CHART), "--destination", str(tmp_path))
    (archive,) = tmp_path.glob("zinfer-*.tgz")
    import tarfile

    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "zinfer/values.schema.json" in names
    assert any(n.startswith("zinfer/dashboards/") and n.endswith(".json") for n in names)
    assert not any(n.startswith("zinfer/ci/") for n in names)
    chart = yaml.safe_load((zc.CHART / "Chart.yaml").read_text())
    assert archive.name == f"zinfer-{chart['version']}.tgz"
