"""Energy conservation of constant-energy MD driven by the host backend (issue 12).

64 atoms of diamond with the C_2024 carbon model, velocities drawn from a
Maxwell-Boltzmann distribution at 300 K (fixed seed), then 1,000 velocity
Verlet steps of 1 fs through ASE with :class:`gpunep.NEPCalculator`, in
float64 and float32. Forces that are not the exact gradient of the energy
make the total energy drift; the drift fitted over the run must stay below
0.05 meV/atom/ps.

Where the bound comes from: issue 12 measured 0.004 meV/atom/ps with these
settings over 2,000 steps and asks for below 0.05 (about 12 times that). This
test's own runs (seed 2024, 1,000 steps) gave 0.00014 (float64) and 0.00023
(float32) meV/atom/ps: float32's force rounding (about 1e-6 relative, GPUMD's
arithmetic) stays far inside the bound. A non-conservative force as small as
0.01/ps x m v (about 4e-5 eV/Å here) drifts 0.38 meV/atom/ps and fails it.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_file

DRIFT_BOUND = 0.05  # meV/atom/ps: issue 12's bound (its measurement: 0.004 over 2,000 steps)
STEPS = 1000
TIMESTEP_FS = 1.0
TEMPERATURE_K = 300.0
SEED = 2024


def _thermalize(atoms, temperature_k: float, rng) -> None:
    """ASE's Maxwell-Boltzmann velocities (``thermalize_momenta`` since ASE 3.29)."""
    from ase.md import velocitydistribution

    thermalize = getattr(velocitydistribution, "thermalize_momenta", None)
    if thermalize is not None:
        thermalize(atoms, temperature_k, rng=rng)
    else:
        velocitydistribution.MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_k, rng=rng)


def _nve_run(precision: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(total energies, temperatures) after each step, and the number of atoms."""
    from ase import units
    from ase.build import bulk
    from ase.md.verlet import VelocityVerlet

    from gpunep import NEPCalculator

    atoms = bulk("C", "diamond", a=3.567, cubic=True).repeat((2, 2, 2))  # 64 atoms
    atoms.calc = NEPCalculator(shared_file("gpumd/potentials/C_2024_NEP4.txt"),
                               backend="host", precision=precision)
    _thermalize(atoms, TEMPERATURE_K, np.random.default_rng(SEED))
    dynamics = VelocityVerlet(atoms, timestep=TIMESTEP_FS * units.fs)
    energies, temperatures = [], []

    def record() -> None:
        energies.append(atoms.get_potential_energy() + atoms.get_kinetic_energy())
        temperatures.append(atoms.get_temperature())

    dynamics.attach(record, interval=1)
    dynamics.run(STEPS)
    return np.array(energies), np.array(temperatures), len(atoms)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_nve_energy_drift(precision):
    energies, temperatures, n_atoms = _nve_run(precision)
    assert len(energies) == STEPS + 1  # the initial state and every step
    time_ps = np.arange(len(energies)) * TIMESTEP_FS * 1e-3
    drift = np.polyfit(time_ps, energies, 1)[0] / n_atoms * 1e3  # meV/atom/ps
    assert abs(drift) < DRIFT_BOUND, f"{precision}: total energy drifts {drift:.4g} meV/atom/ps"
    # The forces do work: a crystal started on its lattice sites shares the kinetic
    # energy with the potential energy (equipartition: T -> T0/2 = 150 K for a harmonic
    # solid). Zero forces would conserve the energy too, but keep T at its start.
    # Window: 150 K +- 40 K for 64 atoms' fluctuations (measured: 146.1 K in both precisions).
    late = temperatures[len(temperatures) // 2:].mean()
    assert 110.0 < late < 190.0, f"{precision}: mean temperature of the second half {late:.1f} K"
