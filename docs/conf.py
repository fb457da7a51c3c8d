"""Sphinx configuration: Markdown pages (MyST); the type table is generated here
from the codecs, so the docs cannot drift from the code."""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xstore import __version__  # noqa: E402
from xstore.tools.typetable import markdown  # noqa: E402

project = "xstore"
release = version = __version__
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_generated/README.md"]
html_theme = "alabaster"
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]

generated = pathlib.Path(__file__).parent / "_generated"
generated.mkdir(exist_ok=True)
(generated / "types.md").write_text(markdown() + "\n")
