"""Helpers shared by the chart tests, the image tests and the kind suite: tools, render, index.

Rendered manifests are indexed by (kind, name), as the ingress-nginx chart tests do, so a test
reads like the resource it checks: `m["Deployment", "zinfer-modelserver"]`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "zinfer"
CI_VALUES = sorted(CHART.glob("ci/*-values.yaml"))
TOOLS_BIN = ROOT / ".cache" / "tools" / "bin"
# Kubernetes versions the rendered manifests are validated against: the oldest the chart supports
# (Chart.yaml kubeVersion) and a recent one. Pinned: kubernetes-validate bundles these schemas.
KUBE_VERSIONS = ("1.27.0", "1.33.0")
RELEASE = "zinfer"
NAMESPACE = "zinfer"

Manifests = dict[tuple[str, str], dict[str, Any]]


@functools.cache
def tool(name: str) -> str:
    """Path of helm / kubernetes-validate / hadolint, installed by scripts/install-tools.sh if missing."""
    path = TOOLS_BIN / name
    if not path.exists():
        subprocess.run([str(ROOT / "scripts" / "install-tools.sh"), "chart"], check=True)
    if not path.exists():
        raise RuntimeError(f"{name} not found in {TOOLS_BIN} after scripts/install-tools.sh chart")
    return str(path)


@functools.cache
def _helm_home() -> str:
    return tempfile.mkdtemp(prefix="zinfer-helm-home-")


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    home = _helm_home()
    env = {
        **os.environ,
        "HELM_CACHE_HOME": f"{home}/cache",
        "HELM_CONFIG_HOME": f"{home}/config",
        "HELM_DATA_HOME": f"{home}/data",
        "KUBECONFIG": os.environ.get("KUBECONFIG", f"{home}/no-kubeconfig"),
    }
    return subprocess.run([tool("helm"), *args], capture_output=True, text=True, env=env, check=check, timeout=120)


def values_args(values_files: Iterable[Path | str] = (), set_values: Iterable[str] = ()) -> list[str]:
    args: list[str] = []
    for f in values_files:
        args += ["-f", str(f)]
    for s in set_values:
        args += ["--set", s]
    return args


def template_text(
    values_files: Iterable[Path | str] = (),
    set_values: Iterable[str] = (),
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    chart: Path = CHART,
    kube_version: str = KUBE_VERSIONS[-1],
    extra_args: Sequence[str] = (),
) -> str:
    proc = helm(
        "template",
        release,
        str(chart),
        "--namespace",
        namespace,
        "--kube-version",
        kube_version,
        *values_args(values_files, set_values),
        *extra_args,
        check=False,
    )
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip())
    return proc.stdout


class RenderError(Exception):
    """helm template failed (a `fail` in a template, a schema violation, a syntax error)."""


def render(values_files: Sequence[Path | str] = (), set_values: Sequence[str] = (), **kw: Any) -> Manifests:
    return index(yaml.safe_load_all(template_text(values_files, set_values, **kw)))


def index(docs: Iterable[Any]) -> Manifests:
    out: Manifests = {}
    for doc in docs:
        if not doc:
            continue
        key = (doc["kind"], doc["metadata"]["name"])
        if key in out:
            raise AssertionError(f"two resources render as {key}")
        out[key] = doc
    return out


def of_kind(manifests: Manifests, kind: str) -> list[dict[str, Any]]:
    return [doc for (k, _), doc in manifests.items() if k == kind]


def deployment(manifests: Manifests, component: str) -> dict[str, Any]:
    found = [
        d
        for d in of_kind(manifests, "Deployment")
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"one {component} Deployment expected, found {len(found)}"
    return found[0]


def container(dep: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    containers = dep["spec"]["template"]["spec"]["containers"]
    if name is None:
        assert len(containers) == 1
        return containers[0]
    return next(c for c in containers if c["name"] == name)


def env_of(c: dict[str, Any]) -> dict[str, str]:
    """Literal environment of a container (valueFrom entries are left out)."""
    return {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}


def port_of(c: dict[str, Any], name: str) -> int:
    return next(int(p["containerPort"]) for p in c["ports"] if p["name"] == name)


def notes(values_files: Sequence[Path | str] = (), set_values: Sequence[str] = ()) -> str:
    """NOTES.txt as `helm install` would print it (rendered offline through a wrapper template)."""
    with tempfile.TemporaryDirectory(prefix="zinfer-notes-") as tmp:
        chart = Path(tmp) / "zinfer"
        shutil.copytree(CHART, chart)
        text = (chart / "templates" / "NOTES.txt").read_text("utf-8")
        (chart / "templates" / "NOTES.txt").unlink()
        (chart / "templates" / "_notes_under_test.tpl").write_text(
            '{{- define "zinfer.notesUnderTest" -}}\n' + text + "\n{{- end }}\n", "utf-8"
        )
        (chart / "templates" / "notes-under-test.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\n"
            'data:\n  notes: {{ include "zinfer.notesUnderTest" . | quote }}\n',
            "utf-8",
        )
        m = render(values_files, set_values, chart=chart)
        return str(m["ConfigMap", "notes-under-test"]["data"]["notes"])


def kubernetes_validate(manifest_text: str, kube_version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", "-k", kube_version, "-"],
        input=manifest_text,
        capture_output=True,
        text=True,
        timeout=120,
    )
