"""``xstore demo``: write a small nested result, read it back, show how to open it."""

from __future__ import annotations

import numpy as np

import xstore


def run(path: str, steps: int = 2000) -> None:
    rng = np.random.default_rng(42)
    data = {
        "params": {"temperature": 300.0, "steps": steps, "method": "langevin", "seed": 42},
        "positions": rng.normal(size=(100, 3)),
        "energies": rng.normal(-1.0, 0.1, size=steps),
        "analysis": {"rdf": {"r": np.linspace(0, 1, 50), "g": rng.random(50)}, "ok": True},
    }
    xstore.save(data, path)
    loaded = xstore.load(path)
    print(f"saved and loaded {path}:")
    for key, value in loaded.items():
        print(f"  {key}: {_short(value)}")
    print("\nopen it with plain xarray:")
    print(f'  import xarray as xr; tree = xr.open_datatree("{path}")')


def _short(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"array {value.dtype} {value.shape}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return repr(value)
