"""The README's type table is the one the codecs produce."""

from __future__ import annotations

from pathlib import Path

import xstore.tools.typetable as typetable

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_table_matches_the_code() -> None:
    text = README.read_text()
    start = text.index("<!-- type-table:start -->") + len("<!-- type-table:start -->")
    end = text.index("<!-- type-table:end -->")
    assert text[start:end].strip() == typetable.markdown(), (
        "README type table is out of date: paste `python -m xstore.tools.typetable` "
        "between the markers"
    )


def test_every_row_is_one_of_the_four_kinds() -> None:
    for label, value in typetable.EXAMPLES:
        for mode in ("hdf5", "json", "cloudpickle"):
            kind = typetable.classify(value, mode)
            assert kind.split(" ")[0].rstrip(":;") in {
                "native",
                "tagged",
                "pickled",
                "refused",
                "group",
            }, (
                label,
                mode,
                kind,
            )
