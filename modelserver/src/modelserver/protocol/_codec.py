"""Encode and decode request and reply messages.

A message is a list of frames: one UTF-8 JSON header, then raw payload frames. Payloads are passed
through untouched (bytes, memoryview or zmq.Frame buffers), so images and tensors are never copied
or base64-encoded. Decoding validates everything a peer controls and raises ProtocolError with a
message fit to send back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from modelserver.protocol._status import Status

PROTOCOL_VERSION = 1
MAX_HEADER_BYTES = 16 * 1024
MAX_ID_LENGTH = 64
MAX_TOP_K = 100
TENSOR_DTYPES = ("float32", "uint8")
MAX_TENSOR_DIMS = 4

Buffer = bytes | memoryview
Op = Literal["infer", "models", "ping"]


class ProtocolError(ValueError):
    """A message that does not follow docs/protocol.md; its text is sent back to the peer."""


@dataclass(frozen=True, slots=True)
class ImageInput:
    """One encoded image (JPEG, PNG, WebP, GIF, BMP) in the first payload frame."""

    kind: Literal["image"] = "image"


@dataclass(frozen=True, slots=True)
class TensorInput:
    """One preprocessed tensor in the model's own input shape, C order, little endian."""

    dtype: str
    shape: tuple[int, ...]
    kind: Literal["tensor"] = "tensor"

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * (4 if self.dtype == "float32" else 1)


@dataclass(frozen=True, slots=True)
class InferRequest:
    """What an `infer` request asks for."""

    model: str
    input: ImageInput | TensorInput
    version: int | None = None
    top_k: int = 5
    scores: bool = False


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request: header fields plus payload frames."""

    id: str
    op: Op
    timeout_ms: float | None = None
    infer: InferRequest | None = None
    payload: Sequence[Buffer] = ()


@dataclass(slots=True)
class Reply:
    """A reply: status, message, op-specific fields in `body`, and payload frames."""

    id: str
    status: Status
    message: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    payload: Sequence[Buffer] = ()


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _loads_header(frame: Buffer) -> dict[str, Any]:
    if len(frame) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header frame is {len(frame)} bytes; the limit is {MAX_HEADER_BYTES}")
    try:
        header = json.loads(bytes(frame))
    except RecursionError:  # a peer's nesting must not reach the interpreter's stack limit
        raise ProtocolError("header frame is nested too deeply") from None
    except ValueError as exc:  # not UTF-8, not JSON, or an integer over Python's digit limit
        raise ProtocolError(f"header frame is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header frame must be a JSON object")
    return header


def encode_request(request: Request) -> list[Buffer]:
    """Frames for `request`: header, then its payload frames as given (zero-copy)."""
    header: dict[str, Any] = {"v": PROTOCOL_VERSION, "id": request.id, "op": request.op}
    if request.timeout_ms is not None:
        header["timeout_ms"] = request.timeout_ms
    infer = request.infer
    if infer is not None:
        header["model"] = infer.model
        if infer.version is not None:
            header["version"] = infer.version
        if isinstance(infer.input, TensorInput):
            header["input"] = {"kind": "tensor", "dtype": infer.input.dtype, "shape": list(infer.input.shape)}
        else:
            header["input"] = {"kind": "image"}
        header["top_k"] = infer.top_k
        if infer.scores:
            header["scores"] = True
    return [_dumps(header), *request.payload]


def _require(header: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = header.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProtocolError(f"header field {key!r} is missing or has the wrong type")
    return value


def _require_text(header: dict[str, Any], key: str) -> str:
    """A string field that can be echoed back: JSON may carry lone surrogates, UTF-8 cannot."""
    value: str = _require(header, key, str)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(f"header field {key!r} is not valid Unicode text") from None
    return value


def _decode_timeout(header: dict[str, Any]) -> float | None:
    """The budget in ms; an integer too large for a float is as malformed as a string."""
    timeout_ms = header.get("timeout_ms")
    if timeout_ms is None:
        return None
    try:
        valid = (
            isinstance(timeout_ms, int | float)
            and not isinstance(timeout_ms, bool)
            and math.isfinite(timeout_ms)
        )
    except OverflowError:
        valid = False
    if not valid:
        raise ProtocolError("header field 'timeout_ms' must be a number")
    return float(timeout_ms)


def _decode_input(spec: object) -> ImageInput | TensorInput:
    if not isinstance(spec, dict) or spec.get("kind") not in ("image", "tensor"):
        raise ProtocolError("header field 'input' must be {'kind': 'image'} or {'kind': 'tensor', ...}")
    if spec["kind"] == "image":
        return ImageInput()
    dtype, shape = spec.get("dtype"), spec.get("shape")
    if dtype not in TENSOR_DTYPES:
        raise ProtocolError(f"tensor dtype must be one of {', '.join(TENSOR_DTYPES)}, not {dtype!r}")
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= MAX_TENSOR_DIMS
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 65536 for d in shape)
    ):
        raise ProtocolError(f"tensor shape must be a list of 1 to {MAX_TENSOR_DIMS} positive integers")
    return TensorInput(dtype=dtype, shape=tuple(shape))


def _decode_infer(header: dict[str, Any], payload: Sequence[Buffer]) -> InferRequest:
    model = _require_text(header, "model")
    version = header.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 0):
        raise ProtocolError("header field 'version' must be a non-negative integer")
    top_k = header.get("top_k", 5)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 0 <= top_k <= MAX_TOP_K:
        raise ProtocolError(f"header field 'top_k' must be an integer from 0 to {MAX_TOP_K}")
    scores = header.get("scores", False)
    if not isinstance(scores, bool):
        raise ProtocolError("header field 'scores' must be true or false")
    spec = _decode_input(header.get("input", {"kind": "image"}))
    if len(payload) != 1:
        raise ProtocolError(f"an infer request carries exactly one payload frame, not {len(payload)}")
    if isinstance(spec, TensorInput) and len(payload[0]) != spec.nbytes:
        raise ProtocolError(
            f"tensor of shape {list(spec.shape)} and dtype {spec.dtype} needs {spec.nbytes} bytes, "
            f"the payload has {len(payload[0])}"
        )
    return InferRequest(model=model, input=spec, version=version, top_k=top_k, scores=scores)


def decode_request(frames: Sequence[Buffer]) -> Request:
    """Parse and validate a request; raises ProtocolError (answered INVALID_INPUT)."""
    if not frames:
        raise ProtocolError("empty message")
    header = _loads_header(frames[0])
    if header.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {header.get('v')!r} is not supported; this server speaks 1")
    request_id = _require_text(header, "id")
    if not 0 < len(request_id) <= MAX_ID_LENGTH:
        raise ProtocolError(f"request id must be 1 to {MAX_ID_LENGTH} characters")
    op = header.get("op")
    if op not in ("infer", "models", "ping"):
        raise ProtocolError(f"unknown op {op!r}; expected infer, models or ping")
    timeout_ms = _decode_timeout(header)
    payload = frames[1:]
    infer = _decode_infer(header, payload) if op == "infer" else None
    return Request(id=request_id, op=op, timeout_ms=timeout_ms, infer=infer, payload=payload)


def request_id_of(frames: Sequence[Buffer]) -> str:
    """Best-effort id of a message that failed to decode, so the error reply can still be matched.

    Never raises: it runs on the I/O thread for messages already known to be malformed.
    """
    try:
        header = _loads_header(frames[0]) if frames else {}
        value = header.get("id", "")
        if not isinstance(value, str):
            return ""
        value = value[:MAX_ID_LENGTH]
        value.encode("utf-8")  # echoed in the reply header
    except (ValueError, TypeError):  # ProtocolError and UnicodeEncodeError are ValueErrors
        return ""
    return value


def encode_reply(reply: Reply) -> list[Buffer]:
    """Frames for `reply`: header (status, message, body fields), then payload frames."""
    header: dict[str, Any] = {"v": PROTOCOL_VERSION, "id": reply.id, "status": reply.status.value}
    if reply.message:
        header["message"] = reply.message
    header.update(reply.body)
    return [_dumps(header), *reply.payload]


def decode_reply(frames: Sequence[Buffer]) -> Reply:
    """Parse a reply; raises ProtocolError when it is malformed."""
    if not frames:
        raise ProtocolError("empty reply")
    header = _loads_header(frames[0])
    try:
        status = Status(header.pop("status"))
    except (KeyError, ValueError):
        raise ProtocolError("reply has no valid status") from None
    header.pop("v", None)
    reply_id = header.pop("id", "")
    message = header.pop("message", "")
    return Reply(id=str(reply_id), status=status, message=str(message), body=header, payload=frames[1:])
