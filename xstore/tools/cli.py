"""The ``xstore`` command line: tree, cat, plot, convert, check, demo.

Every failure is one line on stderr and a non-zero exit status, never a traceback;
a closed pipe (``xstore tree big.nc | head``) ends quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from xstore.backends import registry
from xstore.errors import PickleNotAllowedError, StoreError
from xstore.faces.store import MissingKey

EXIT_USAGE, EXIT_FAILED, EXIT_DAMAGED, EXIT_PIPE = 2, 1, 3, 141
#: set to see the traceback of an unexpected error
DEBUG_VARIABLE = "XSTORE_DEBUG"


def _print(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


def _tree(args: argparse.Namespace) -> int:
    from xstore.tools.tree import describe

    with _open(args) as store:
        _print(
            describe(store.session, depth=args.depth, attrs=args.attrs, max_items=args.max_items)
        )
    return 0


def _cat(args: argparse.Namespace) -> int:
    from xstore.tools.cat import lines, select

    with _open(args) as store:
        _print(lines(select(store, args.key), args.max_items))
    return 0


def _plot(args: argparse.Namespace) -> int:
    from xstore.tools.plot import plot

    with _open(args) as store:
        written = plot(store, args.key, args.output, args.x)
    print(f"wrote {written}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from xstore.tools.convert import convert

    convert(
        args.source,
        args.target,
        mode=args.mode,
        allow_pickle=args.allow_pickle,
        trust=args.trust,
        progress=not args.quiet,
        storage_options=args.storage_options,
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    from xstore.tools.check import check

    problems = check(args.path, backend=args.backend, storage_options=args.storage_options)
    _print(problems)
    if problems:
        print(f"{args.path}: {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_DAMAGED
    print(f"{args.path}: ok")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from xstore.tools.demo import run

    run(args.path, steps=args.steps)
    return 0


def _open(args: argparse.Namespace) -> Any:
    from xstore.faces.api import open as open_store

    return open_store(
        args.path,
        "r",
        backend=args.backend,
        allow_pickle=getattr(args, "allow_pickle", False),
        trust=getattr(args, "trust", []),
        storage_options=args.storage_options,
    )


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _store_arguments(p: argparse.ArgumentParser, pickles: bool = True) -> None:
    p.add_argument("path", help="a netCDF/HDF5 file or a zarr store (directory, .zip, URL)")
    names = [spec.name for spec in registry.specs() if spec.save_modes]
    p.add_argument("--backend", choices=names, help="when the path does not tell")
    _storage_options(p)
    if pickles:
        p.add_argument(
            "--allow-pickle", action="store_true", help="unpickle values if needed (trusted files)"
        )
        _trust_argument(p)


def _trust_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="MODULE",
        help="a module or package whose classes may be imported to restore objects (repeatable)",
    )


def _storage_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage-options",
        type=_json_object,
        metavar="JSON",
        help='fsspec options for URLs, e.g. \'{"endpoint_url": "http://127.0.0.1:9000"}\'',
    )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object ({...})")
    return value


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="xstore", description="Look into, copy, check and plot xstore files and stores."
    )
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("tree", help="groups, variables, shapes, dtypes, record counts, types")
    _store_arguments(p, pickles=False)
    p.add_argument("--depth", type=_positive, help="levels of groups to expand (default: all)")
    p.add_argument("--attrs", action="store_true", help="show the metadata (attributes)")
    p.add_argument("--max-items", type=_count, default=25, help="keys listed per group (0: all)")
    p.set_defaults(run=_tree)
    p = sub.add_parser(
        "cat",
        help="print one value or part of it",
        description="Print a value: 'KEY', or part of an array or list, 'KEY[10:20, 0]'.",
    )
    _store_arguments(p)
    p.add_argument("key", help="a key path, optionally indexed numpy-style: 'traj/x[0, :3]'")
    p.add_argument(
        "--max-items",
        type=_count,
        default=1000,
        help="items shown (array elements, list or dict entries, characters); "
        "bigger arrays are summarised (0: show all)",
    )
    p.set_defaults(run=_cat)
    p = sub.add_parser("plot", help="draw a series or a 1-D/2-D array into a PNG file")
    _store_arguments(p)
    p.add_argument("key", help="a key path, optionally indexed: 'traj/positions[:, 0, 0]'")
    p.add_argument("-o", "--output", help="the PNG file (default: KEY's last name + .png)")
    p.add_argument("--x", help="a key whose values are the x axis (default: the index)")
    p.set_defaults(run=_plot)
    p = sub.add_parser("convert", help="copy a store to another backend or mode")
    p.add_argument("source")
    p.add_argument("target")
    p.add_argument(
        "--mode",
        choices=["hdf5", "netcdf", "zarr", "json", "cloudpickle"],
        help="output mode (default: from the target's suffix)",
    )
    p.add_argument("--allow-pickle", action="store_true", help="copy pickled values too")
    _trust_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _storage_options(p)
    p.set_defaults(run=_convert)
    p = sub.add_parser("check", help="verify a store; report what a crash left behind")
    _store_arguments(p, pickles=False)
    p.set_defaults(run=_check)
    p = sub.add_parser("demo", help="run a small simulation, then show how to open it")
    p.add_argument("path", nargs="?", default="demo.nc")
    p.add_argument("--steps", type=_positive, default=2000)
    p.set_defaults(run=_demo)
    return top


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


#: Python arguments named in the library's messages, and the flags that set them here
_FLAGS = (
    (re.compile(r"\ballow_pickle=True\b"), lambda m: "--allow-pickle"),
    (re.compile(r"\bstorage_options\b"), lambda m: "--storage-options"),
    (
        re.compile(r"\bbackend=((?:'\w+'(?: or |, )?)+)"),
        lambda m: "--backend " + m[1].replace("'", ""),
    ),
)


def for_command_line(message: str) -> str:
    """``message`` with the Python arguments it names replaced by command-line flags."""
    for pattern, flag in _FLAGS:
        message = pattern.sub(flag, message)
    return " ".join(message.split())  # one line


def describe(exc: BaseException) -> str:
    """The one line that explains a failure of the library to a command-line user."""
    if isinstance(exc, PickleNotAllowedError) and exc.modules:
        shown = ", ".join(exc.paths[:5]) + (" ..." if len(exc.paths) > 5 else "")
        return (
            f"refusing to restore {len(exc.paths)} value(s): {shown}; that would import "
            f"{', '.join(exc.modules)}, which runs its code: pass --trust {exc.modules[0]} "
            "only if you trust it"
        )
    if isinstance(exc, PickleNotAllowedError):
        shown = ", ".join(exc.paths[:5]) + (" ..." if len(exc.paths) > 5 else "")
        return (
            f"refusing to unpickle {len(exc.paths)} value(s): {shown}; unpickling can run "
            "arbitrary code: pass --allow-pickle only for files you trust"
        )
    if isinstance(exc, MissingKey):
        return f"no such key {exc}"
    if isinstance(exc, KeyError) and exc.args:
        return for_command_line(f"KeyError: {exc.args[0]}")
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.strerror}: {exc.filename}"
    else:
        text = str(exc)
    name = "" if isinstance(exc, StoreError) else f"{type(exc).__name__}: "
    return for_command_line(f"{name}{text}")


_EXPECTED = (OSError, ValueError, TypeError, KeyError, IndexError, ImportError)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("xstore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE
    except _EXPECTED as exc:
        print(f"xstore {args.command}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line and how to report it, not a traceback
        if os.environ.get(DEBUG_VARIABLE):
            raise
        print(
            f"xstore {args.command}: unexpected {type(exc).__name__}: {' '.join(str(exc).split())}"
            " -- this is a bug in xstore: please report it to its developers with the command "
            f"you ran and the traceback that {DEBUG_VARIABLE}=1 shows",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _quiet_stdout() -> None:
    """After a closed pipe, send what is left of stdout nowhere (Python would report the
    failed flush at exit)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
