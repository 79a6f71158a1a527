from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.fakes import FakeClient
from tests.images import jpeg
from webapp import Settings, create_app


def test_healthz_and_readyz(http: FlaskClient, fake: FakeClient) -> None:
    assert http.get("/healthz").json == {"status": "ok"}
    assert http.get("/readyz").status_code == 200
    fake.is_ready = False
    not_ready = http.get("/readyz")
    assert not_ready.status_code == 503 and "model server" in not_ready.json["error"]  # type: ignore[index]
    assert http.get("/healthz").status_code == 200  # liveness does not depend on model servers


def _sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = ",".join(sorted(line[len(name) + 1 : line.index("}")].split(",")))
            if got == want:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_by_route_template_and_status(http: FlaskClient) -> None:
    http.post("/api/v1/predict", data=jpeg(), content_type="image/jpeg")
    http.post("/api/v1/predict", data=b"", content_type="image/jpeg")
    http.get("/v2/models/random-name-1")
    http.get("/no/such/page")
    text = http.get("/metrics").get_data(as_text=True)
    assert _sample(text, "webapp_http_requests_total", route="/api/v1/predict", status="200") == 1
    assert _sample(text, "webapp_http_requests_total", route="/api/v1/predict", status="400") == 1
    assert _sample(text, "webapp_http_requests_total", route="/v2/models/<name>", status="404") == 1
    assert _sample(text, "webapp_http_requests_total", route="<unmatched>", status="404") == 1
    assert _sample(text, "webapp_request_duration_seconds_count", route="/api/v1/predict") == 2
    assert 'webapp_request_duration_seconds_bucket{le="0.005",route="/api/v1/predict"}' in text


def test_metrics_in_multiprocess_mode_read_the_shared_directory(tmp_path: Path) -> None:
    app = create_app(Settings(prometheus_multiproc_dir=tmp_path), client=FakeClient())
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
