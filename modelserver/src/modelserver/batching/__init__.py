"""Dynamic batching: group queued requests into batches without adding latency when idle."""

from modelserver.batching.batcher import Batcher, Clock, MonotonicClock

__all__ = ["Batcher", "Clock", "MonotonicClock"]
