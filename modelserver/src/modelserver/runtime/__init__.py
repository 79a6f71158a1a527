"""Model runtimes: the only subpackage that imports TensorFlow or LiteRT.

A runtime turns a model file into per-thread sessions with one method, `run(batch) -> scores`,
where `batch` is float32 [B, H, W, C] and B is one of the model's bucket sizes. Sessions are
created and warmed on the worker thread that will use them.
"""

from modelserver.runtime.base import RuntimeFactory, Session, load_runtime

__all__ = ["RuntimeFactory", "Session", "load_runtime"]
