"""Content-defined chunk boundaries and reference parsing."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_mlops.data.chunking import average_rows, boundaries
from jupyter_mlops.data.refs import ParsedRef, parse_ref
from jupyter_mlops.errors import InvalidInput


def _hashes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**63, n, dtype=np.uint64)


def test_boundaries_cover_every_row_within_bounds() -> None:
    ends = boundaries(_hashes(100_000, 1), 256)
    sizes = np.diff([0, *ends])
    assert ends[-1] == 100_000 and all(sizes > 0)
    assert sizes[:-1].min() >= 64 and sizes.max() <= 1024
    assert 150 < sizes.mean() < 450
    assert boundaries(np.empty(0, np.uint64), 256) == []


def test_boundaries_resynchronise_after_an_insert() -> None:
    base = _hashes(50_000, 2)
    inserted = np.concatenate([base[:20_000], _hashes(500, 3), base[20_000:]])
    old = set(boundaries(base, 256))
    new = {e - 500 for e in boundaries(inserted, 256) if e > 20_500}
    after = {e for e in old if e > 22_000}
    assert after <= new  # every old boundary past the edit comes back, shifted


def test_low_entropy_rows_still_cut_by_content() -> None:
    """Rows of three distinct values: boundaries still resynchronise after an insert."""
    values = np.random.default_rng(4).integers(0, 2**63, 3, dtype=np.uint64)
    rng = np.random.default_rng(5)
    base = values[rng.integers(0, 3, 60_000)]
    inserted = np.concatenate([base[:20_000], values[rng.integers(0, 3, 500)], base[20_000:]])
    sizes = np.diff([0, *boundaries(base, 256)])
    assert 150 < sizes.mean() < 450  # neither every third row nor the maximum length
    old = {e for e in boundaries(base, 256) if e > 22_000}
    new = {e - 500 for e in boundaries(inserted, 256) if e > 20_500}
    assert old <= new


def test_constant_rows_fall_back_to_maximum_chunks() -> None:
    ends = boundaries(np.full(10_000, 12345, dtype=np.uint64), 256)
    assert np.diff([0, *ends]).max() <= 1024


def test_average_rows_is_a_bounded_power_of_two() -> None:
    assert average_rows(128.0, target=1 << 20) == 8192
    assert average_rows(1e9) == 64
    assert average_rows(0.001) == 65536
    for width in (3.0, 77.0, 1500.0):
        value = average_rows(width)
        assert value & (value - 1) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("train", ParsedRef("train")),
        ("train@v12", ParsedRef("train", version=12)),
        ("train@3F9C", ParsedRef("train", digest_prefix="3f9c")),
        ("mlops://a.b-c_d@v1", ParsedRef("a.b-c_d", version=1)),
    ],
)
def test_refs_parse(text: str, expected: ParsedRef) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize(
    "text", ["", "a@", "a@v0", "a@3f9", "a@xyz1", "../a", "a/b@v1", None, "x" * 129]
)
def test_bad_refs_show_the_forms(text: object) -> None:
    with pytest.raises(InvalidInput, match=r"name@v3"):
        parse_ref(text)
