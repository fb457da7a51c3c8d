"""``xstore demo``: a small simulation that appends a trajectory, then how to open it."""

from __future__ import annotations

import os

import numpy as np

import xstore
from xstore.tools.tree import describe

#: units of the trajectory's series (reduced units of the harmonic model)
UNITS = {"time": "tau", "positions": "sigma", "potential_energy": "kT", "kinetic_energy": "kT"}


def run(path: str = "demo.nc", steps: int = 2000, particles: int = 100) -> None:
    """Langevin dynamics of particles in a harmonic well, one frame per step."""
    rng = np.random.default_rng(42)
    dt, friction, temperature = 0.01, 1.0, 1.0
    params = {
        "steps": steps,
        "particles": particles,
        "dt": dt,
        "friction": friction,
        "temperature": temperature,
        "integrator": "Euler-Maruyama",
    }
    x = rng.normal(size=(particles, 3))
    v = np.zeros_like(x)
    noise = np.sqrt(2 * friction * temperature * dt)
    with xstore.open(path, "w") as store:
        store["params"] = params
        traj = store.create_group("trajectory")
        traj.attrs["description"] = "positions and energies, one frame per step"
        for step in range(steps):
            v += -x * dt - friction * v * dt + noise * rng.normal(size=x.shape)
            x += v * dt
            traj.append("time", step * dt, record_dim="frame")
            traj.append("positions", x.astype(np.float32), record_dim="frame")
            traj.append("potential_energy", 0.5 * float((x**2).sum()), record_dim="frame")
            traj.append("kinetic_energy", 0.5 * float((v**2).sum()), record_dim="frame")
            if (step + 1) % 500 == 0:
                store.flush()  # from here on a crash loses nothing written so far
        for key, units in UNITS.items():
            traj.attrs_of(key)["units"] = units
        store["final"] = {"positions": x, "velocities": v}
    print(f"ran {steps} steps of {particles} particles into {path}\n")
    with xstore.open(path, "r") as store:
        for line in describe(store.session):
            print(line)
    print("\nopen it with plain xarray (no xstore needed):")
    print(f'  import xarray as xr; tree = xr.open_datatree("{os.fspath(path)}")')
    print('  tree["trajectory"].dataset  # positions, energies and time along "frame"')
    print("\nor look at it from the command line:")
    print(f"  xstore plot {path} trajectory/potential_energy -o energy.png")
    print(f"  xstore cat {path} 'trajectory/positions[-1, :5]'")
