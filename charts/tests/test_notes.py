"""NOTES.txt tells how to port-forward and open the page, with this release's names."""

from __future__ import annotations

import zinfer_chart as zc


def test_notes_port_forward_and_open_the_page() -> None:
    text = zc.notes()
    assert "kubectl -n zinfer port-forward service/zinfer-webapp 8080:80" in text
    assert "http://127.0.0.1:8080/" in text
    assert "rollout status deployment/zinfer-modelserver" in text
    assert "get hpa zinfer-modelserver" in text
    assert "modelserver_queue_depth" in text
    assert "grafana_dashboard=1" in text


def test_notes_with_ingress_and_keda() -> None:
    text = zc.notes([zc.CHART / "ci" / "ingress-values.yaml", zc.CHART / "ci" / "keda-values.yaml"])
    assert "https://zinfer.example.com/" in text
    assert "port-forward service/zinfer-webapp" in text
    assert "get scaledobject,hpa" in text
    assert "{{" not in text and "<no value>" not in text
