"""Batches are cut into warmed bucket sizes without computing padded rows."""

from __future__ import annotations

import pytest

from modelserver.batching import bucket_chunks


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, [1]), (2, [2]), (3, [2, 1]), (5, [4, 1]), (7, [4, 2, 1]), (8, [8])],
)
def test_default_buckets_never_pad(count: int, expected: list[int]) -> None:
    assert bucket_chunks(count, (1, 2, 4, 8)) == expected


def test_every_count_is_covered_exactly_when_one_is_a_bucket() -> None:
    for buckets in [(1, 2, 4, 8), (1, 3, 16), (1, 32)]:
        for count in range(1, buckets[-1] + 1):
            chunks = bucket_chunks(count, buckets)
            assert sum(chunks) == count
            assert all(size in buckets for size in chunks)
            assert chunks == sorted(chunks, reverse=True)


def test_only_a_remainder_below_the_smallest_bucket_is_padded() -> None:
    assert bucket_chunks(3, (4, 8)) == [4]
    assert bucket_chunks(6, (4, 8)) == [4, 4]
    assert bucket_chunks(9, (4, 8)) == [8, 4]


def test_nothing_to_run() -> None:
    assert bucket_chunks(0, (1, 2)) == []
