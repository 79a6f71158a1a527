"""Dynamic batching: group queued requests into batches without adding latency when idle."""

from modelserver.batching.batcher import Batcher, Clock, MonotonicClock
from modelserver.batching.buckets import bucket_chunks

__all__ = ["Batcher", "Clock", "MonotonicClock", "bucket_chunks"]
