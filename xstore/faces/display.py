"""How a group looks: one line per child (:func:`child_summary`, also what ``xstore
tree`` prints), a short text tree (``repr``) and an HTML tree (Jupyter's
``_repr_html_``, collapsible groups like xarray's).  Both read only the index and
the shapes and dtypes of variables, never their data (scalars excepted), and stop
after a few levels and children.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import numpy as np

from xstore.codecs.arrays import dtype_from_str
from xstore.core.entries import Entry
from xstore.core.layout import Core
from xstore.model import DTYPE
from xstore.names import Path, decode_name, is_internal

SHORT = 60  # characters of a scalar shown
TEXT_DEPTH, TEXT_ITEMS = 2, 12  # the text repr: levels and children per group
HTML_DEPTH, HTML_ITEMS = 4, 50  # the HTML repr


def _short(text: str) -> str:
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def variable_summary(core: Core, path: Path, entry: Entry) -> str:
    """``float64  (100, 3)`` and what else a variable is (series, tag, scalar value)."""
    info = core.info(path)
    attrs = core.attrs(path)
    dtype = dtype_from_str(str(attrs[DTYPE])) if DTYPE in attrs else info.dtype
    kind = "str" if dtype.kind in "OUT" else str(dtype)
    shape = core.shape(path)
    parts = [kind, str(shape)]
    if entry.tag:
        parts.append(entry.tag)
    if info.unlimited:
        dim = info.dims[0]
        shared = "" if is_internal(dim) else f", record dim {decode_name(dim)!r}"
        parts.append(f"series of {shape[0]} records{shared}")
    elif not shape and DTYPE not in attrs and not entry.tag:
        value = np.asarray(core.read_data(path))[()]
        parts.append(f"= {_short(repr(value.item() if hasattr(value, 'item') else value))}")
    return "  ".join(parts)


def child_summary(core: Core, parent: Path, entry: Entry) -> str:
    """One line about a child: a group's kind and size, or :func:`variable_summary`."""
    path = (*parent, entry.stored)
    if entry.is_group:
        count = len(core.index(path))
        return f"{entry.tag or 'group'} ({count} key{'' if count == 1 else 's'})"
    return variable_summary(core, path, entry)


def text_tree(core: Core, group: Path, header: str) -> str:
    """``header`` and a short tree of ``group`` (what ``repr`` of a Group shows)."""
    return "\n".join([header, *_text_lines(core, group, "", 0)])


def _text_lines(core: Core, group: Path, prefix: str, level: int) -> Iterator[str]:
    entries = list(core.index(group).items())
    shown = entries[:TEXT_ITEMS]
    hidden = len(entries) - len(shown)
    for position, (name, entry) in enumerate(shown):
        last = position == len(shown) - 1 and not hidden
        branch, below = ("└── ", "    ") if last else ("├── ", "│   ")
        slash = "/" if entry.plain_group else ""
        yield f"{prefix}{branch}{name}{slash}  {child_summary(core, group, entry)}"
        if entry.plain_group and level + 1 < TEXT_DEPTH:
            yield from _text_lines(core, (*group, entry.stored), prefix + below, level + 1)
    if hidden:
        yield f"{prefix}└── … {hidden:,} more"


_STYLE = (
    "<style>.xs-tree{font-family:monospace;font-size:13px;line-height:1.5}"
    ".xs-tree ul{list-style:none;margin:0;padding-left:1.2em}"
    ".xs-tree summary{cursor:pointer}.xs-tree .xs-kind{color:#777;margin-left:.8em}</style>"
)


def html_tree(core: Core, group: Path, title: str) -> str:
    """An HTML tree of ``group``: groups as collapsible ``<details>`` (the first level
    open), children with their summaries (Jupyter's ``_repr_html_`` of a Group)."""
    body = "".join(_html_items(core, group, 0))
    return (
        f"{_STYLE}<div class='xs-tree'><div><b>{html.escape(title)}</b></div><ul>{body}</ul></div>"
    )


def _html_items(core: Core, group: Path, level: int) -> Iterator[str]:
    entries = list(core.index(group).items())
    for name, entry in entries[:HTML_ITEMS]:
        label = html.escape(name)
        kind = f"<span class='xs-kind'>{html.escape(child_summary(core, group, entry))}</span>"
        if entry.plain_group and level + 1 < HTML_DEPTH:
            inner = "".join(_html_items(core, (*group, entry.stored), level + 1))
            opened = " open" if level == 0 else ""
            yield (
                f"<li><details{opened}><summary>{label}/{kind}</summary>"
                f"<ul>{inner}</ul></details></li>"
            )
        else:
            yield f"<li>{label}{'/' if entry.plain_group else ''}{kind}</li>"
    if len(entries) > HTML_ITEMS:
        yield f"<li>… {len(entries) - HTML_ITEMS:,} more</li>"
