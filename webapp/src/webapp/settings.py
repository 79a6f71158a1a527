"""Every knob of the web tier, from `WEBAPP_*` environment variables.

One class, one place: nothing else in the web app reads the environment (the one exception,
`PROMETHEUS_MULTIPROC_DIR`, is prometheus-client's own variable and is read here too). The settings
table in webapp/README.md is generated from the field docstrings (`python -m webapp.docs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_MODEL", "Settings"]

DEFAULT_MODEL = "efficientnet-lite0"
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5576"


class Settings(BaseSettings):
    """Web-app settings; environment variable = `WEBAPP_` + field name in upper case."""

    model_config = SettingsConfigDict(
        env_prefix="WEBAPP_", extra="forbid", use_attribute_docstrings=True, frozen=True
    )

    endpoints: Annotated[tuple[str, ...], NoDecode] = (DEFAULT_ENDPOINT,)
    """Model-server ZeroMQ endpoints, comma-separated; a headless-Service name is resolved to every pod."""

    default_model: str = DEFAULT_MODEL
    """Model used when a request names none."""

    request_timeout_ms: float = Field(default=10_000.0, gt=0.0, le=600_000.0)
    """Time budget of one inference, sent to the model server; past it the answer is 504."""

    control_timeout_ms: float = Field(default=3_000.0, gt=0.0, le=60_000.0)
    """Time budget of a model listing; above the client's 2 s connect wait, so no server is 503, not 504."""

    ready_timeout_ms: float = Field(default=800.0, gt=0.0, le=60_000.0)
    """Time budget of a readiness check (`/readyz`, `/v2/health/ready`); under a 1 s probe timeout."""

    models_cache_s: float = Field(default=2.0, ge=0.0, le=3600.0)
    """How long the model list is reused before it is asked for again (0 asks every time)."""

    resolve_interval_s: float = Field(default=5.0, gt=0.0, le=3600.0)
    """How often endpoint host names are resolved again, so new model-server pods get traffic."""

    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    """Largest request body accepted (Flask MAX_CONTENT_LENGTH); bigger uploads are answered 413."""

    max_image_pixels: int = Field(default=40_000_000, ge=1)
    """Largest image (width × height) read from its header before it is sent on; bigger is 413."""

    top_k_default: int = Field(default=5, ge=0, le=100)
    """Labels returned when a request does not say how many."""

    top_k_max: int = Field(default=100, ge=0, le=100)
    """Most labels a request may ask for (the wire protocol allows 100)."""

    max_infer_batch: int = Field(default=8, ge=1, le=256)
    """Most images or tensors in one Open Inference Protocol request (its batch dimension)."""

    retry_after_s: int = Field(default=1, ge=1, le=3600)
    """`Retry-After` seconds of a 429 when the model server gave no hint."""

    bind: str = "127.0.0.1:8000"
    """gunicorn listen address (host:port); `0.0.0.0:8000` in a container."""

    workers: int = Field(default=2, ge=1, le=64)
    """gunicorn worker processes; about one per core."""

    threads: int = Field(default=32, ge=1, le=256)
    """Threads per gunicorn worker (gthread): requests waiting on a model server cost no CPU.

    workers × threads must exceed the model servers' queue bound (MODELSERVER_MAX_QUEUE_SIZE per
    server) so that overload reaches the model server's immediate OVERLOADED (HTTP 429) instead of
    queueing unseen inside gunicorn, where latency would grow without bound."""

    timeout_s: int = Field(default=30, ge=1, le=3600)
    """gunicorn kills a worker silent for this long (a hung worker, never a slow request)."""

    graceful_timeout_s: int = Field(default=20, ge=0, le=3600)
    """On SIGTERM, how long in-flight requests may take before workers are killed."""

    keepalive_s: int = Field(default=5, ge=0, le=3600)
    """How long an idle keep-alive connection is held (longer than the ingress' idle timeout)."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the process."""

    log_format: Literal["text", "json"] = "text"
    """`json` writes one JSON object per line, for log collectors."""

    access_log: bool = False
    """Log every request (method, path, status, ms, request id) at INFO; off, only 5xx answers are.
    Off by default: the ingress already logs each request, and a line per request costs ~0.5 ms."""

    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "WEBAPP_PROMETHEUS_MULTIPROC_DIR"),
    )
    """Directory where gunicorn workers share metrics (prometheus-client's own variable); made when unset."""

    @field_validator("endpoints", mode="before")
    @classmethod
    def _split_endpoints(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("endpoints")
    @classmethod
    def _endpoints_look_like_zmq(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one model-server endpoint is needed")
        for endpoint in value:
            if "://" not in endpoint:
                raise ValueError(f"{endpoint!r} is not a ZeroMQ endpoint such as tcp://host:5576")
        return value

    @model_validator(mode="after")
    def _top_k_default_within_max(self) -> Settings:
        if self.top_k_default > self.top_k_max:
            raise ValueError("top_k_default must not exceed top_k_max")
        return self
