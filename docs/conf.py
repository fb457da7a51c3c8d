"""Sphinx configuration: Markdown pages (MyST), an API reference generated from the
docstrings (autosummary + napoleon, numpydoc-style sections), the type table generated
from the codecs — so the docs cannot drift from the code — and a check that fails the
build (``-W``) when a public name has no docstring or is missing from the reference."""

from __future__ import annotations

import inspect
import pathlib
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import xstore  # noqa: E402
from xstore.tools.typetable import markdown  # noqa: E402

project = "xstore"
release = version = xstore.__version__
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated/README.md"]
templates_path = ["_templates"]
html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False}
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]

autosummary_generate = True
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True

generated = pathlib.Path(__file__).parent / "_generated"
generated.mkdir(exist_ok=True)
(generated / "types.md").write_text(markdown() + "\n")


def undocumented() -> list[str]:
    """Public names (and the public members of public classes) without a docstring."""
    missing = []
    for name in xstore.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(xstore, name)
        if not inspect.getdoc(obj):
            missing.append(f"xstore.{name}")
        if not inspect.isclass(obj):
            continue
        members: dict[str, Any] = {}
        for klass in reversed(obj.__mro__):  # xstore's own members, inherited ones too
            if klass.__module__.startswith("xstore"):
                members.update(vars(klass))
        for member, value in members.items():
            target = value.fget if isinstance(value, property) else value
            if member.startswith("_") or not callable(target):
                continue
            if not (getattr(target, "__doc__", None) or "").strip():
                missing.append(f"xstore.{name}.{member}")
    return sorted(set(missing))


def _check_reference(app: Any, env: Any) -> None:
    """Every public name documented, and present in the generated API reference."""
    from sphinx.util import logging

    log = logging.getLogger("xstore.docs")
    for name in undocumented():
        log.warning(f"{name} has no docstring (every public name needs one)")
    objects = env.get_domain("py").objects
    for name in xstore.__all__:
        if not name.startswith("__") and f"xstore.{name}" not in objects:
            log.warning(f"xstore.{name} is not in the API reference: list it in docs/api.rst")


def setup(app: Any) -> None:
    app.connect("env-check-consistency", _check_reference)
