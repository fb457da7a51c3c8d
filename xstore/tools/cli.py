"""The ``xstore`` command line (SPEC §6): tree, cat, convert, check, demo.

Every failure is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

EXIT_USAGE, EXIT_FAILED, EXIT_DAMAGED = 2, 1, 3


def _tree(args: argparse.Namespace) -> int:
    from xstore.tools.tree import describe

    with _open(args.path) as store:
        for line in describe(store.session):
            print(line)
    return 0


def _cat(args: argparse.Namespace) -> int:
    with _open(args.path, allow_pickle=args.allow_pickle) as store:
        value = store[args.key]
        with np.printoptions(threshold=args.max_items, linewidth=100):
            print(repr(value))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from xstore.tools.convert import convert

    convert(
        args.source,
        args.target,
        mode=args.mode,
        allow_pickle=args.allow_pickle,
        progress=not args.quiet,
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    from xstore.tools.check import check

    problems = check(args.path)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{args.path}: {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_DAMAGED
    print(f"{args.path}: ok")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from xstore.tools.demo import run

    run(args.path, steps=args.steps)
    return 0


def _open(path: str, **kwargs: Any) -> Any:
    from xstore.faces.api import open as open_store

    return open_store(path, "r", **kwargs)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (SPEC §6)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="xstore", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("tree", help="groups, variables, shapes, dtypes, record counts, types")
    p.add_argument("path")
    p.set_defaults(run=_tree)
    p = sub.add_parser("cat", help="print one value")
    p.add_argument("path")
    p.add_argument("key")
    p.add_argument("--allow-pickle", action="store_true", help="unpickle if needed (trusted files)")
    p.add_argument("--max-items", type=int, default=1000, help="summarise longer arrays")
    p.set_defaults(run=_cat)
    p = sub.add_parser("convert", help="copy a store to another backend or mode")
    p.add_argument("source")
    p.add_argument("target")
    p.add_argument(
        "--mode",
        choices=["hdf5", "netcdf", "zarr", "json", "cloudpickle"],
        help="output mode (default: from the target's suffix)",
    )
    p.add_argument("--allow-pickle", action="store_true", help="copy pickled values too")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_convert)
    p = sub.add_parser("check", help="verify a store; report what a crash left behind")
    p.add_argument("path")
    p.set_defaults(run=_check)
    p = sub.add_parser("demo", help="run a small simulation, then show how to open it")
    p.add_argument("path", nargs="?", default="demo.nc")
    p.add_argument("--steps", type=int, default=2000)
    p.set_defaults(run=_demo)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("xstore: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, TypeError, KeyError, ImportError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"xstore {args.command}: {type(exc).__name__}: {message}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
