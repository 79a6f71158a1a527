"""Serving one model version: decode → batch → infer → reply, every stage bounded and timed."""

from modelserver.serving.job import Job, ReplySink
from modelserver.serving.served_model import ServedModel

__all__ = ["Job", "ReplySink", "ServedModel"]
