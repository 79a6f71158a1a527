"""The wire format between web app and model server: a JSON header frame plus raw payload frames.

Owns framing, status codes and header validation; does no I/O and imports neither TensorFlow nor
ZeroMQ, so both ends (and tests) share one encode/decode pair. Specified in docs/protocol.md.
"""

from modelserver.protocol._codec import (
    MAX_HEADER_BYTES,
    PROTOCOL_VERSION,
    ImageInput,
    InferRequest,
    ProtocolError,
    Reply,
    Request,
    TensorInput,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
    request_id_of,
)
from modelserver.protocol._status import Status

__all__ = [
    "MAX_HEADER_BYTES",
    "PROTOCOL_VERSION",
    "ImageInput",
    "InferRequest",
    "ProtocolError",
    "Reply",
    "Request",
    "Status",
    "TensorInput",
    "decode_reply",
    "decode_request",
    "encode_reply",
    "encode_request",
    "request_id_of",
]
