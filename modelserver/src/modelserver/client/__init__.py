"""Thread-safe ZeroMQ client for model servers; imports neither TensorFlow nor Flask.

One I/O thread per process owns every socket; calling threads hand it requests and wait on
futures. It connects to every address an endpoint name resolves to (a Kubernetes headless
Service), re-resolves periodically, sends each request to the server with the fewest outstanding
requests, retries once elsewhere on OVERLOADED or a lost server while the deadline allows, and
is safe to use after fork (a child gets its own I/O thread and context on first use).
"""

from modelserver.client._client import ModelClient
from modelserver.client._types import (
    DeadlineExceeded,
    InputInfo,
    InternalError,
    InvalidInput,
    Label,
    ModelInfo,
    ModelNotFound,
    ModelServerError,
    NotAnImage,
    Overloaded,
    Prediction,
    TooLarge,
    Unavailable,
)

__all__ = [
    "DeadlineExceeded",
    "InputInfo",
    "InternalError",
    "InvalidInput",
    "Label",
    "ModelClient",
    "ModelInfo",
    "ModelNotFound",
    "ModelServerError",
    "NotAnImage",
    "Overloaded",
    "Prediction",
    "TooLarge",
    "Unavailable",
]
