"""Big values: saving, setting and converting hold a few slabs in memory, never a
copy of the whole value (benchmarks/bench_memory.py measures it at 1 GiB)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import Case

import xstore
from xstore.backends.slabs import slabs
from xstore.tools.convert import convert

BIG = np.ones((48, 512, 256))  # 48 MiB: three slabs of 16 MiB


def peak_mib(action: Callable[[], object]) -> float:
    """The most memory Python objects (numpy arrays included) held during ``action``."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("shape", "chunks", "target"),
    [
        ((10, 7, 5), None, 8 * 35 * 3),
        ((10, 7, 5), (3, 2, 2), 8 * 3 * 7 * 5),
        ((10, 7, 5), (3, 2, 2), 8 * 3 * 2 * 5),
        ((10, 7, 5), (3, 2, 2), 1),
        ((100,), (7,), 16),
        ((5, 0), None, 8),
        ((4, 1000), None, 80),
    ],
)
def test_slabs_cover_the_array_once_in_whole_chunks(
    shape: tuple[int, ...], chunks: tuple[int, ...] | None, target: int
) -> None:
    seen = np.zeros(shape, dtype=int)
    for index in slabs(shape, 8, chunks, target):
        seen[index] += 1
        part = np.empty(shape)[index]
        assert part.nbytes <= max(target, 8 * np.prod(chunks or 1)), index
        for axis, (cut, size) in enumerate(zip(index, shape, strict=True)):
            step = chunks[axis] if chunks else 1
            assert cut.start % step == 0 and (cut.stop % step == 0 or cut.stop == size)
    assert (seen == 1).all()


def test_saving_and_setting_do_not_copy_a_big_array(case: Case) -> None:
    path = case.path()
    assert peak_mib(lambda: case.save({"big": BIG}, path)) < 24
    with case.open(path, "a") as store:
        assert peak_mib(lambda: store.__setitem__("again", BIG)) < 24  # a new variable
        assert peak_mib(lambda: store.__setitem__("big", BIG * 0)) < 24 + 48  # in place
        assert store.array("again")[47, 511, 255] == 1.0
    data = xstore.load(path)
    assert (data["big"] == 0).all() and (data["again"] == 1).all()


@pytest.mark.parametrize("target", ["copy.nc", "copy.zarr"])
def test_convert_streams_big_arrays(case: Case, tmp_path: Path, target: str) -> None:
    source = case.path()
    with case.open(source, "w") as store:
        store["big"] = BIG
        store["series"] = BIG[:2]
        store.extend("growing", np.arange(10.0))
    assert peak_mib(lambda: convert(source, str(tmp_path / target), progress=False)) < 40
    with xstore.open(tmp_path / target, "a") as store:
        np.testing.assert_array_equal(store.array("big")[:, 0, 0], np.ones(48))
        store.append("growing", 10.0)  # still a series
        assert store["growing"].tolist() == list(np.arange(11.0))


def test_convert_shows_bytes_rate_and_time_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from xstore.tools import convert as module

    updates: list[int] = []
    make_bar = module._progress_bar

    def recording_bar(total: int, progress: object) -> object:
        bar = make_bar(total, progress)  # type: ignore[arg-type]
        update = bar.update
        bar.update = lambda n=1: updates.append(n) or update(n)
        return bar

    monkeypatch.setattr(module, "_progress_bar", recording_bar)
    source = tmp_path / "big.nc"
    xstore.save({"big": BIG, "small": 1}, source)
    stream = io.StringIO()
    convert(str(source), str(tmp_path / "big.zarr"), progress=stream)
    shown = stream.getvalue()
    assert "48.0M/48.0M" in shown and "B/s" in shown and "100%" in shown, shown
    assert sum(updates) == BIG.nbytes + 8
    assert len([n for n in updates if n > 0]) >= 3  # slab by slab, not once per value
