"""How a batch is cut into the fixed batch sizes (buckets) a runtime was compiled and warmed for."""

from __future__ import annotations


def bucket_chunks(count: int, buckets: tuple[int, ...]) -> list[int]:
    """Bucket sizes, largest first, that hold `count` jobs with no padded row when possible.

    On CPU a batch costs about its size (LiteRT and TensorFlow give the same images/s at batch 1
    to 8 on this machine), so a padded row is a whole image of wasted compute: 5 jobs run as 4 + 1,
    not as 8. Only a count below the smallest bucket is padded. `buckets` is increasing.
    """
    chunks: list[int] = []
    left = count
    while left > 0:
        fitting = [size for size in buckets if size <= left]
        size = fitting[-1] if fitting else buckets[0]
        chunks.append(size)
        left -= size
    return chunks
