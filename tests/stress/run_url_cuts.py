"""Cut the network at every request of a URL save, and check what each reader sees.

    python tests/stress/run_url_cuts.py [--steps 1-60] [--variants acted dropped]

A save of a small store over another at an S3 URL (moto's server on loopback, through
a loopback proxy) loses its connection at request n, for every n the save makes; the
server either carries that request out (its answer is lost: ``acted``) or never gets
it (``dropped``).  For each cut, xstore and plain xarray read the store, ``check``
looks at it, the next writer opens it, and both read again (tests/cutkit.py).
Prints how many cuts left the old store, no store or the new one, and every broken
promise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the tests' kits, the xstore of this checkout

from s3server import S3Server, dead_endpoint_env, s3_store  # noqa: E402

os.environ.update(dead_endpoint_env())  # nothing but the loopback server is reachable

import cutkit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="", help="a range such as 1-60 (default: all)")
    parser.add_argument("--variants", nargs="+", default=["acted", "dropped"])
    args = parser.parse_args()
    cutkit.fail_fast()
    server = S3Server()
    s3 = s3_store(server, config_kwargs=cutkit.FAIL_FAST)
    total = len(cutkit.requests_of_a_save(server, s3))
    first, _, last = args.steps.partition("-")
    steps = range(int(first or 1), int(last or first or total) + 1)
    print(f"a save makes {total} requests; cutting at {steps.start}..{steps.stop - 1}")
    started = time.time()
    for variant in args.variants:
        counts: Counter[str] = Counter()
        broken = 0
        for step in steps:
            outcome = cutkit.cut_save(server, s3, step, acted=variant == "acted")
            counts[outcome.before[0] if outcome.error else "saved"] += 1
            for fault in cutkit.faults(outcome):
                broken += 1
                print(f"  {variant} cut at {step}: {fault}")
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"{variant}: {len(steps)} cuts: {shown}; broken promises: {broken}")
    print(f"{time.time() - started:.0f} s")
    server.stop()


if __name__ == "__main__":
    main()
