"""Every knob of the model-server process, from `MODELSERVER_*` environment variables or flags.

One class, one place: nothing else in the server reads the environment. The settings table in
docs/settings.md is generated from the field docstrings (`python -m modelserver.docs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_PORT", "Settings"]

DEFAULT_PORT = 5576
DEFAULT_HTTP_PORT = 8081


class Settings(BaseSettings):
    """Model-server settings; environment variable = `MODELSERVER_` + field name in upper case."""

    model_config = SettingsConfigDict(
        env_prefix="MODELSERVER_", extra="forbid", use_attribute_docstrings=True
    )

    model_repository: Path = Path("models")
    """Directory holding `<model>/<version>/config.json` and the model files."""

    models: Annotated[tuple[str, ...], NoDecode] = ()
    """Serve only these models (comma-separated in the environment); empty serves every model found."""

    bind: str = f"tcp://*:{DEFAULT_PORT}"
    """ZeroMQ ROUTER endpoint the frontend binds."""

    http_host: str = "0.0.0.0"
    """Address of the small HTTP server for /healthz, /readyz and /metrics."""

    http_port: int = Field(default=DEFAULT_HTTP_PORT, ge=0, le=65535)
    """Port of the HTTP server (0 picks a free port, written to the log)."""

    max_queue_size: int = Field(default=32, ge=1, le=100_000)
    """Requests admitted and not yet answered, per server; one more is answered OVERLOADED at once.

    At ~110 images/s on 2 cores, 32 queued is ~0.3 s of work: the bound on queueing latency."""

    decode_threads: int = Field(default=0, ge=0, le=64)
    """0: each inference worker decodes the batch it takes, then runs it. N > 0: a pool of N threads
    decodes ahead of the batcher instead.

    With the default two workers one decodes while the other infers, and no more threads are
    runnable than there are cores: a separate pool puts four compute threads on two cores, and the
    preempted interpreters cost ~15 ms of CPU per image instead of ~10-12 (measured with /proc's
    per-thread CPU on 2 cores; ~10% less saturation throughput)."""

    inference_threads: int = Field(default=2, ge=1, le=64)
    """Inference worker threads per model version (each owns its interpreters); about one per core."""

    intra_op_threads: int = Field(default=1, ge=1, le=64)
    """Threads one batch may use (LiteRT num_threads, TensorFlow intra-op parallelism).

    Keep inference_threads × intra_op_threads near the CPU limit. On 2 cores two single-threaded
    LiteRT workers compute ~1.5× the images/s of one worker on two threads (XNNPACK's two threads
    speed a batch up only ~1.25-1.6×)."""

    lone_request_threads: int = Field(default=2, ge=1, le=64)
    """Threads for a lone request: one taken when nothing else is queued or computing (LiteRT).

    A single image infers in ~7 ms on two threads against ~12 ms on one here; under load the
    workers go back to intra_op_threads. 1 (or ≤ intra_op_threads) turns this off."""

    inference_nice: int = Field(default=10, ge=0, le=19)
    """Added to the nice value of the inference threads (and the LiteRT threads they start) and of
    the decode pool, so the I/O thread's admissions, refusals and replies run first when the CPU is
    contended. 0 turns it off.

    Paired 10 s blocks at twice the saturation rate on 2 shared cores: the web tier's 429 p99 went
    from 18.8 to 11.8 ms (median of five) with no loss of throughput."""

    max_batch_size: int | None = Field(default=None, ge=1, le=256)
    """Override every model's batching.max_batch_size (1 turns batching off)."""

    max_batch_delay_ms: float | None = Field(default=None, ge=0.0, le=1000.0)
    """Override every model's batching.max_batch_delay_ms."""

    max_request_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    """Largest accepted payload; bigger requests are answered TOO_LARGE without being read further."""

    max_image_pixels: int = Field(default=40_000_000, ge=1)
    """Largest accepted image (width × height) before decoding; guards against decompression bombs."""

    default_timeout_ms: float = Field(default=10_000.0, gt=0.0)
    """Time budget of a request that does not carry one."""

    drain_timeout_s: float = Field(default=20.0, ge=0.0)
    """On SIGTERM, how long in-flight work may take to finish before the process exits."""

    repository_poll_s: float = Field(default=5.0, gt=0.0)
    """How often the model repository is scanned for new versions (0 < value)."""

    heartbeat_ivl_ms: int = Field(default=1000, ge=0)
    """ZMTP heartbeat interval on the frontend socket (0 disables)."""

    heartbeat_timeout_ms: int = Field(default=3000, ge=0)
    """A peer silent this long is considered gone and its connection closed."""

    sndhwm: int = Field(default=10_000, ge=0)
    """ZeroMQ send high-water mark (messages) of the frontend and reply path."""

    rcvhwm: int = Field(default=10_000, ge=0)
    """ZeroMQ receive high-water mark (messages) of the frontend."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the process; DEBUG adds a line per successful request (errors are logged at INFO)."""

    log_format: Literal["text", "json"] = "text"
    """`json` writes one JSON object per line, for log collectors."""

    @field_validator("models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value
