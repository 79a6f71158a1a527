"""Run a rendered Deployment's pod as podman containers, the way a kubelet would start it.

Everything comes from the manifest: image, command and args, environment, ports, user and group,
read-only root filesystem, dropped capabilities, no-new-privileges, emptyDir volumes (as tmpfs),
memory and CPU limits, probes (polled on published ports) and the preStop hook + grace period on
removal. The network alias of a pod is the name of every Service selecting it, so a headless
Service name resolves to every replica through aardvark-dns, as cluster DNS does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / ".cache" / "tools" / "containers.conf"
# Kept here to tell a container of this suite from anything else on the machine.
LABEL = "zinfer.test=kube-podman"


@dataclass(frozen=True)
class Images:
    """References of the built images (what the chart's manifests name)."""

    modelserver: str
    webapp: str
    build_seconds: float


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    if CONTAINERS_CONF.exists():
        env.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    return env


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, env=podman_env(), timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.strip()}")
    return proc


_QUANTITY = re.compile(r"^([0-9.]+)([A-Za-z]*)$")
_BINARY = {"": 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3}


def memory_bytes(quantity: str) -> int:
    m = _QUANTITY.match(str(quantity))
    if not m:
        raise ValueError(f"unsupported quantity {quantity!r}")
    return int(float(m.group(1)) * _BINARY[m.group(2)])


def cpus(quantity: str | int | float) -> float:
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def services_selecting(manifests: dict[tuple[str, str], dict[str, Any]], pod_labels: dict[str, str]) -> list[str]:
    return sorted(
        doc["metadata"]["name"]
        for (kind, _), doc in manifests.items()
        if kind == "Service" and doc["spec"].get("selector", {}).items() <= pod_labels.items()
    )


@dataclass
class Pod:
    """One running replica (a single-container pod)."""

    name: str
    container: dict[str, Any]
    grace_s: float
    published: dict[str, int] = field(default_factory=dict)  # container port name -> host port

    def url(self, port_name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.published[port_name]}{path}"

    def probe_url(self, probe: str) -> str:
        get = self.container[probe]["httpGet"]
        return self.url(get["port"], get["path"])

    def state(self) -> dict[str, Any]:
        out = podman("inspect", "--format", "{{json .State}}", self.name).stdout
        return dict(json.loads(out))

    def logs(self, tail: int = 60) -> str:
        proc = podman("logs", "--tail", str(tail), self.name, check=False)
        return proc.stdout + proc.stderr

    def terminate(self) -> float:
        """Kubernetes' pod deletion: run the preStop hook, then SIGTERM, SIGKILL at the end of the
        grace period (which counts the hook). Returns the seconds it took."""
        started = time.monotonic()
        hook = self.container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
        if hook:
            podman("exec", self.name, *hook, timeout=self.grace_s + 10)
        remaining = max(1, int(self.grace_s - (time.monotonic() - started)))
        podman("stop", "--time", str(remaining), self.name, timeout=remaining + 30)
        return time.monotonic() - started


def run_args(
    pod_spec: dict[str, Any],
    container: dict[str, Any],
    *,
    name: str,
    network: str,
    aliases: Iterable[str],
    publish: dict[str, int],
) -> list[str]:
    """`podman run` arguments equivalent to the pod spec for one container."""
    args = [
        "run",
        "--detach",
        "--pull=never",
        "--name",
        name,
        "--hostname",
        name,
        "--label",
        LABEL,
        "--network",
        network,
    ]
    for alias in aliases:
        args += ["--network-alias", alias]
    psc = pod_spec.get("securityContext", {})
    sc = container.get("securityContext", {})
    user = sc.get("runAsUser", psc.get("runAsUser"))
    group = sc.get("runAsGroup", psc.get("runAsGroup"))
    if user is not None:
        args += ["--user", f"{user}:{group}" if group is not None else str(user)]
    if psc.get("fsGroup") is not None:
        args += ["--group-add", str(psc["fsGroup"])]
    if sc.get("readOnlyRootFilesystem"):
        # Only what the pod spec mounts is writable (podman would add tmpfs on /tmp, /run by default).
        args += ["--read-only", "--read-only-tmpfs=false"]
    for cap in sc.get("capabilities", {}).get("drop", []):
        args += ["--cap-drop", cap]
    for cap in sc.get("capabilities", {}).get("add", []):
        args += ["--cap-add", cap]
    if sc.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    if sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type") not in (None, "RuntimeDefault"):
        raise ValueError("only the RuntimeDefault seccomp profile (podman's default) is supported")
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "emptyDir" not in volume:
            raise ValueError(f"volume {mount['name']}: only emptyDir volumes can be run here")
        options = ["rw", "mode=1777"]
        if "sizeLimit" in volume["emptyDir"]:
            options.append(f"size={memory_bytes(volume['emptyDir']['sizeLimit'])}")
        args += ["--tmpfs", f"{mount['mountPath']}:{','.join(options)}"]
    limits = container.get("resources", {}).get("limits", {})
    if "memory" in limits:
        args += ["--memory", str(memory_bytes(limits["memory"]))]
    if "cpu" in limits:
        args += ["--cpus", f"{cpus(limits['cpu']):g}"]
    for env in container.get("env", []):
        if "value" not in env:
            raise ValueError(f"env {env['name']}: only literal values can be run here")
        args += ["--env", f"{env['name']}={env['value']}"]
    for port in container.get("ports", []):
        if port["name"] in publish:
            args += ["--publish", f"127.0.0.1:{publish[port['name']]}:{port['containerPort']}"]
    command = list(container.get("command", []))
    if command:
        args += ["--entrypoint", json.dumps(command[:1])]
    args.append(container["image"])
    args += command[1:] + list(container.get("args", []))
    return args


def start_pod(
    manifests: dict[tuple[str, str], dict[str, Any]],
    deployment: dict[str, Any],
    *,
    name: str,
    network: str,
    publish: dict[str, int],
) -> Pod:
    template = deployment["spec"]["template"]
    pod_spec = template["spec"]
    (container,) = pod_spec["containers"]
    aliases = services_selecting(manifests, template["metadata"]["labels"])
    podman(*run_args(pod_spec, container, name=name, network=network, aliases=aliases, publish=publish))
    return Pod(name, container, float(pod_spec.get("terminationGracePeriodSeconds", 30)), dict(publish))
