"""zinfer model server: ZeroMQ ROUTER/DEALER inference with dynamic batching, and its client.

Subpackages, each with one concern:
  protocol    frames and codecs of the wire format (no I/O, no TensorFlow)
  client      the thread-safe ZeroMQ client used by the web app (no TensorFlow)
  transport   the server's sockets: ROUTER frontend, DEALER backend, reply path
  batching    the dynamic batcher
  runtime     the only place that imports TensorFlow / LiteRT
  imaging     decoding and preprocessing images, bounded
  repository  the model repository on disk: configs, versions, hot swap
  builder     builds the default model repository offline from registry packages
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
