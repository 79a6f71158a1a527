"""Open Inference Protocol v2 (KServe v2) inference bodies: parse a request, build a response.

Pure functions, no Flask, so every corner of the format is unit-tested. What is supported:

- JSON bodies, and the binary tensor data extension: with an `Inference-Header-Content-Length`
  header the body is that many bytes of JSON followed by the tensors' raw bytes, in input order,
  each input saying its size in `parameters.binary_data_size`.
- One input per request, under any name: an encoded image as `BYTES` (in JSON each element is a
  base64 string, since JSON strings cannot carry raw bytes; in binary each element is a 4-byte
  little-endian length and the bytes), or a tensor in the model's own shape as `FP32` or `UINT8`,
  `[N, H, W, C]` or `[H, W, C]`.
- One output, `scores` (FP32 `[N, classes]`), or with the classification extension
  (`parameters.classification: k`) BYTES `[N, k]` of `"score:index:label"`; any output can be asked
  for as binary (`binary_data`, or `binary_data_output` on the request).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from webapp.errors import BadRequestError

__all__ = [
    "SCORES_OUTPUT",
    "InferInput",
    "InferRequest",
    "OutputSpec",
    "encode_response",
    "parse_request",
]

SCORES_OUTPUT = "scores"
TENSOR_DTYPES: dict[str, type[np.float32] | type[np.uint8]] = {"FP32": np.float32, "UINT8": np.uint8}
_ITEMSIZE = {"FP32": 4, "UINT8": 1}
_Tensor = npt.NDArray[np.float32] | npt.NDArray[np.uint8]


@dataclass(frozen=True)
class OutputSpec:
    """One requested output: classification count (None: raw scores) and binary or JSON."""

    name: str = SCORES_OUTPUT
    classification: int | None = None
    binary: bool = False


@dataclass(frozen=True)
class InferInput:
    """The batch: either encoded images or one tensor of shape [N, H, W, C]."""

    name: str
    datatype: str
    images: list[bytes] = field(default_factory=list)
    tensor: npt.NDArray[np.float32] | npt.NDArray[np.uint8] | None = None

    @property
    def batch(self) -> int:
        return len(self.images) if self.tensor is None else int(self.tensor.shape[0])


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    input: InferInput
    outputs: list[OutputSpec]


def _fail(message: str) -> BadRequestError:
    return BadRequestError(f"Invalid inference request: {message}")


def parse_request(
    body: bytes, header_length: str | None, *, max_batch: int, max_classification: int
) -> InferRequest:
    """Parse an inference request body; raises BadRequestError with a message saying what is wrong."""
    json_part, binary = body, b""
    if header_length is not None:
        try:
            length = int(header_length)
        except ValueError:
            raise _fail("Inference-Header-Content-Length is not a number.") from None
        if not 0 < length <= len(body):
            raise _fail("Inference-Header-Content-Length must be between 1 and the body length.")
        json_part, binary = body[:length], body[length:]
    try:
        doc = json.loads(json_part)
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, a 5000-digit number, deep nesting
        raise _fail(f"the JSON part cannot be parsed ({str(exc)[:200]}).") from None
    if not isinstance(doc, dict):
        raise _fail("the body must be a JSON object with an 'inputs' list.")
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise _fail("'id' must be a string.")
    params = _params(doc.get("parameters"), "request")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise _fail("'inputs' must be a list with exactly one input (an image or a tensor).")
    infer_input = _parse_input(inputs[0], binary, max_batch=max_batch)
    outputs = _parse_outputs(
        doc.get("outputs"), _bool(params.get("binary_data_output", False)), max_classification
    )
    return InferRequest(request_id, infer_input, outputs)


def _params(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(f"'parameters' of the {where} must be an object.")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _fail("binary_data and binary_data_output must be true or false.")
    return value


def _parse_input(item: object, binary: bytes, *, max_batch: int) -> InferInput:
    if not isinstance(item, dict):
        raise _fail("each input must be an object.")
    name, datatype, shape = item.get("name"), item.get("datatype"), item.get("shape")
    if not isinstance(name, str) or not isinstance(datatype, str):
        raise _fail("an input needs a 'name' and a 'datatype' string.")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise _fail("an input's 'shape' must be a list of non-negative integers.")
    params = _params(item.get("parameters"), "input")
    size = params.get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size != len(binary):
            raise _fail(f"binary_data_size is {size!r} but {len(binary)} bytes follow the JSON.")
        raw: bytes | None = binary
    else:
        if binary:
            raise _fail("binary data follows the JSON but no input has a binary_data_size.")
        if "data" not in item:
            raise _fail("an input needs 'data' or parameters.binary_data_size.")
        raw = None
    count = math.prod(shape)
    if datatype == "BYTES":
        images = _bytes_elements(raw, item.get("data"), count)
        if not 1 <= len(images) <= max_batch:
            raise _fail(f"send 1 to {max_batch} images per request, not {len(images)}.")
        return InferInput(name, datatype, images=images)
    if datatype in TENSOR_DTYPES:
        return InferInput(name, datatype, tensor=_tensor(datatype, shape, raw, item.get("data"), max_batch))
    raise _fail(
        f"datatype {datatype[:20]!r} is not accepted; use BYTES (an image), FP32 or UINT8 (a tensor)."
    )


def _bytes_elements(raw: bytes | None, data: object, count: int) -> list[bytes]:
    if raw is not None:
        elements, pos = [], 0
        while pos < len(raw):
            if pos + 4 > len(raw):
                raise _fail("a BYTES element's 4-byte length is cut short.")
            (length,) = struct.unpack_from("<I", raw, pos)
            if pos + 4 + length > len(raw):
                raise _fail("a BYTES element is shorter than its length prefix says.")
            elements.append(raw[pos + 4 : pos + 4 + length])
            pos += 4 + length
    else:
        flat = _flatten(data)
        if not all(isinstance(e, str) for e in flat):
            raise _fail("BYTES data in JSON must be base64 strings of image files.")
        elements = [_b64(e) for e in flat]
    if len(elements) != count:
        raise _fail(f"the shape holds {count} elements but {len(elements)} were sent.")
    return elements


def _b64(text: str) -> bytes:
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]  # a data: URL, as a browser's FileReader gives it
    try:
        return base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raise _fail("a BYTES element is not valid base64.") from None


def _flatten(data: object) -> list[Any]:
    """The leaves of nested lists, in order; iterative, since the nesting is the client's to choose."""
    out: list[Any] = []
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def _tensor(
    datatype: str, shape: list[int], raw: bytes | None, data: object, max_batch: int
) -> npt.NDArray[np.float32] | npt.NDArray[np.uint8]:
    if len(shape) not in (3, 4):
        raise _fail(f"a {datatype} tensor must be [N, H, W, C] or [H, W, C], not {shape}.")
    full = shape if len(shape) == 4 else [1, *shape]
    if 0 in full:
        raise _fail(f"a {datatype} tensor's dimensions must be positive, not {shape}.")
    if not 1 <= full[0] <= max_batch:
        raise _fail(f"the batch dimension must be 1 to {max_batch}, not {full[0]}.")
    dtype = TENSOR_DTYPES[datatype]
    count = math.prod(full)
    if raw is not None:
        if len(raw) != count * _ITEMSIZE[datatype]:
            raise _fail(f"a {datatype} tensor of shape {shape} takes {count * _ITEMSIZE[datatype]} bytes.")
        return cast(
            _Tensor, np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(full)
        )
    flat = _flatten(data)
    if len(flat) != count:
        raise _fail(f"the shape {shape} holds {count} elements but {len(flat)} were sent.")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
        raise _fail(f"{datatype} data must be numbers.")
    try:
        array = np.asarray(flat, dtype=np.float64)
    except (OverflowError, ValueError):
        raise _fail(f"{datatype} data must be finite numbers.") from None
    if datatype == "UINT8" and (array.min() < 0 or array.max() > 255):
        raise _fail("UINT8 values must be from 0 to 255.")
    if not np.isfinite(array).all():
        raise _fail(f"{datatype} data must be finite numbers.")
    return cast(_Tensor, array.astype(dtype).reshape(full))


def _parse_outputs(value: object, binary_default: bool, max_classification: int) -> list[OutputSpec]:
    if value is None:
        return [OutputSpec(binary=binary_default)]
    if not isinstance(value, list) or not value:
        raise _fail("'outputs' must be a non-empty list when given.")
    specs = []
    for item in value:
        if not isinstance(item, dict) or item.get("name") != SCORES_OUTPUT:
            raise _fail(f"the only output is {SCORES_OUTPUT!r}.")
        params = _params(item.get("parameters"), "output")
        k = params.get("classification")
        if k is not None and (
            not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= max_classification
        ):
            raise _fail(f"classification must be a whole number from 1 to {max_classification}.")
        binary = _bool(params.get("binary_data", binary_default))
        specs.append(OutputSpec(SCORES_OUTPUT, k, binary))
    return specs


def encode_response(
    *,
    model: str,
    version: int,
    request_id: str,
    outputs: list[OutputSpec],
    scores: npt.NDArray[np.float32] | None,
    top: list[list[tuple[float, int, str]]],
) -> tuple[bytes, int | None]:
    """The response body, and the JSON part's length when binary outputs follow it (else None).

    `scores` is [N, classes] (needed only for raw-score outputs); `top` holds, per batch item,
    (score, class index, label) best first, as many as the largest classification asked for.
    """
    blobs: list[bytes] = []
    described: list[dict[str, Any]] = []
    for spec in outputs:
        if spec.classification is None:
            assert scores is not None  # noqa: S101 - the caller asked the model server for scores
            shape, datatype = list(scores.shape), "FP32"
            blob = scores.astype("<f4").tobytes()
            json_data: list[Any] = scores.reshape(-1).tolist()
        else:
            rows = [[f"{s:g}:{i}:{label}" for s, i, label in item[: spec.classification]] for item in top]
            shape, datatype = [len(rows), len(rows[0]) if rows else 0], "BYTES"
            flat = [cell for row in rows for cell in row]
            blob = b"".join(struct.pack("<I", len(b)) + b for b in (c.encode() for c in flat))
            json_data = flat
        out: dict[str, Any] = {"name": spec.name, "datatype": datatype, "shape": shape}
        if spec.binary:
            out["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            out["data"] = json_data
        described.append(out)
    header = json.dumps(
        {"model_name": model, "model_version": str(version), "id": request_id, "outputs": described},
        separators=(",", ":"),
    ).encode()
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)
