"""Every ci/*-values.yaml is accepted by the cluster's API server (server-side dry run), for the
kinds whose API the cluster serves."""

from __future__ import annotations

import pytest
import yaml

import zinfer_chart as zc
from kind_stack import Stack, kubectl


def _served_kinds() -> set[str]:
    """Kinds the API server serves (the last column of `kubectl api-resources`)."""
    out = kubectl("api-resources", "--verbs=create", "--no-headers").stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("values", zc.CI_VALUES, ids=lambda p: p.name)
def test_scenario_passes_server_side_dry_run(stack: Stack, values: object) -> None:
    docs = [d for d in yaml.safe_load_all(zc.template_text([values], namespace=stack.namespace)) if d]
    served = _served_kinds()
    kept = [d for d in docs if d["kind"] in served]
    assert kept
    kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump_all(kept))
