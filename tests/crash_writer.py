"""A writer to SIGKILL: appends numbered records and reports each completed flush.

Usage: python crash_writer.py PATH PROGRESS_FILE [engine] [flush_every]
Record i of every series holds the value i, so a reader can tell a prefix from
garbage.  After each ``flush()`` returns, the number of records it made durable is
written to PROGRESS_FILE (fsynced), before anything else happens; while a flush runs,
PROGRESS_FILE.flushing exists.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

import xstore


def main() -> None:
    path, progress = sys.argv[1], sys.argv[2]
    engine = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    flush_every = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    options = {"engine": engine} if engine else {}
    with xstore.open(path, "a", buffer_records=10_000, flush_interval=None, **options) as store:
        start = len(store["x"]) if "x" in store else 0
        traj = store.create_group("traj")
        print("ready", flush=True)
        step = start
        while True:
            store.append("x", float(step))
            traj.append("pos", np.full((50, 3), step, dtype=np.float32), record_dim="frame")
            traj.append("t", step, record_dim="frame")
            step += 1
            if step % flush_every == 0:
                Path(progress + ".flushing").touch()  # a kill from here on is inside a flush
                store.flush()
                os.remove(progress + ".flushing")
                with open(progress + ".tmp", "w") as handle:
                    handle.write(str(step))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(progress + ".tmp", progress)


if __name__ == "__main__":
    main()
