"""How a store shows itself (SPEC §9): a short text tree, and an HTML tree in Jupyter."""

from __future__ import annotations

import numpy as np
from conftest import Case


def _fill(store: object) -> None:
    store["params"] = {"T": 300.0}  # type: ignore[index]
    store["x0"] = np.zeros((100, 3))  # type: ignore[index]
    traj = store.create_group("traj")  # type: ignore[attr-defined]
    for step in range(3):
        traj.append("energy", float(step), record_dim="frame")
    traj["deep/er/still"] = 1
    for i in range(20):
        store[f"k{i}"] = i  # type: ignore[index]
    store["<b>odd & name"] = "x"  # markup in a key is shown as text  # type: ignore[index]


def test_text_repr_is_a_short_tree(case: Case) -> None:
    path = case.path()
    with case.open(path, "w") as store:
        _fill(store)
        text = repr(store)
        lines = text.splitlines()
        assert lines[0] == f"<xstore.Store {path} ({store.backend}, mode 'w')>"
        assert "├── params  dict (1 key)" in lines
        assert "├── x0  float64  (100, 3)" in lines
        assert "│   ├── energy  float64  (3,)  series of 3 records, record dim 'frame'" in lines
        assert not any("still" in line for line in lines)  # two levels only
        assert lines[-1] == "└── … 12 more"
        assert repr(store["traj"]).splitlines()[0] == f"<xstore.Group '/traj' in {path}>"
        group = store["traj"]
    assert repr(store) == f"<xstore.Store {path} (closed)>"
    assert repr(group) == f"<xstore.Group '/traj' in {path} (closed)>"


def test_html_repr_is_a_collapsible_tree(case: Case) -> None:
    with case.open(case.path(), "w") as store:
        _fill(store)
        page = store._repr_html_()
        assert page.count("<details") == 3  # traj, deep, er
        assert "<details open><summary>traj/" in page
        assert "&lt;b&gt;odd &amp; name" in page and "<b>odd" not in page
        assert "series of 3 records" in page and "float64  (100, 3)" in page
        assert "k19" in page
        assert "<details" in store["traj"]._repr_html_()
