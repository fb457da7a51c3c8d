"""A URL save that loses its connection at each step (issue 18.5, SPEC §8, §10).

Through a loopback proxy (tests/cutproxy.py) the connection of a save to an S3 URL is
cut at one request: while staging, at the intent record, at the deletion of the old
root, among the copies, at the new root, while cleaning up.  At every cut xstore and
plain xarray read the same thing (the old store, no store during a switch, or the new
store), ``check`` reports whatever the cut left, and the next writer finishes or
rolls back the switch and leaves nothing of xstore's behind.  CI cuts at the steps
that matter and a few seeded others; ``tests/stress/run_url_cuts.py`` cuts at every
request.
"""

from __future__ import annotations

import random

import pytest
from s3server import S3Server, s3_store

pytestmark = pytest.mark.usefixtures("dead_default_endpoint")

SEED = 18


def _steps(log: list[tuple[str, str]], acted: bool) -> list[int]:
    """1-based request numbers to cut at: the switch's own requests, and seeded others."""
    intent = next(i for i, (m, p) in enumerate(log) if m == "PUT" and "xstore-replace" in p)
    root = max(i for i, (m, p) in enumerate(log) if m == "PUT" and p.endswith("run.zarr/zarr.json"))
    switch = [intent, intent + 1, intent + 4]  # the record, the check of the copy, a delete
    copies = [i for i, (m, p) in enumerate(log[intent:root], intent) if m == "PUT"]
    around_root = [copies[len(copies) // 2], root, root + 2] if acted else [root]
    staging = random.Random(SEED + acted).sample(range(intent), 3)
    return sorted({i + 1 for i in (*switch, *around_root, *staging)})


@pytest.mark.parametrize("acted", [True, False], ids=["answer-lost", "request-lost"])
def test_every_reader_sees_the_same_store_after_a_cut_and_the_next_writer_settles_it(
    server: S3Server, monkeypatch: pytest.MonkeyPatch, acted: bool
) -> None:
    import cutkit
    import s3fs

    monkeypatch.setattr(s3fs.S3FileSystem, "retries", 1)  # no back-off: fail at once
    s3 = s3_store(server, config_kwargs=cutkit.FAIL_FAST)
    steps = _steps(cutkit.requests_of_a_save(server, s3), acted)
    seen, broken = set(), []
    for step in steps:
        outcome = cutkit.cut_save(server, s3, step, acted=acted)
        seen.add(outcome.before[0] if outcome.error else "saved")
        broken += [f"cut at request {step}: {fault}" for fault in cutkit.faults(outcome)]
    assert not broken, "\n".join(broken)
    assert {"old", "none"} <= seen  # the cuts reached both sides of the switch's start
