"""Hostile structures on every backend: tiny periodic vectors, atoms far outside their cell,
one backend or calculator shared by several threads.

Tolerances. A far atom is wrapped exactly on the host (pack), so the far and
the wrapped structure reach the kernels with positions equal to one unit in
the last place; their results may differ by that rounding carried through
float64 sums (~1e-14 relative) and not more: 1e-10 relative, the project's
float64 agreement bound (tests/backends/test_agreement.py), catches the
~1e-5 relative error of an inexact wrap (0.022 eV / 0.27 eV/Å at 1e12 Å
before the fix). Threads must reproduce serial results bit for bit: each
evaluation runs the same deterministic kernels on the same inputs.
"""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from gpunep import NEPCalculator
from gpunep.backends import get_backend
from gpunep.model import random_model
from gpunep.structures import pack

MODEL = random_model(("Si", "C"), cutoff=(5.0, 4.0), n_neuron=8, l_max=(4, 2, 1), seed=5)
BACKENDS = [("reference", None), ("host", "float64")]
RTOL = 1e-10   # see the module docstring


def silicon_carbide(seed: int = 1, repeat=(2, 1, 1)) -> Atoms:
    atoms = bulk("SiC", "zincblende", 4.36) * repeat
    atoms.rattle(0.05, seed=seed)
    atoms.cell[1] += [0.2, 0.0, 0.1]
    return atoms


@pytest.mark.parametrize("backend, precision", BACKENDS)
@pytest.mark.parametrize("length", [3e-10, 1e-9, 1e-2])
def test_a_tiny_periodic_vector_is_a_clear_error_on_every_backend(backend, precision, length):
    atoms = silicon_carbide()
    atoms.cell[0] = [length, 0.0, 0.0]
    atoms.calc = NEPCalculator(MODEL, backend=backend, precision=precision)
    with pytest.raises(ValueError, match=r"structure: periodic cell vector 0 = .* periodic images"):
        atoms.get_potential_energy()


def _exactly_wrapped(atoms: Atoms, shifts: np.ndarray) -> Atoms:
    """``atoms`` with ``r_i - shifts_i @ cell`` computed in exact arithmetic (rounded once)."""
    cell = atoms.cell[:]
    wrapped = atoms.copy()
    wrapped.positions = [[float(Fraction(r[k]) - sum(Fraction(n[d]) * Fraction(cell[d, k])
                                                     for d in range(3))) for k in range(3)]
                         for r, n in zip(atoms.positions, shifts)]
    return wrapped


@pytest.mark.parametrize("backend, precision", BACKENDS)
def test_an_atom_far_outside_the_cell_gives_the_wrapped_structures_numbers(backend, precision):
    atoms = silicon_carbide()
    shifts = np.zeros((len(atoms), 3))
    shifts[3] = [-2.1e11, 0.0, 0.0]   # 1e12 Å away along -a1 (|a1| ~ 4.4 Å)
    shifts[1] = [0.0, 3.0e6, -1.0]
    far = atoms.copy()
    far.positions = atoms.positions - shifts @ atoms.cell[:]
    wrapped = _exactly_wrapped(far, -shifts)
    engine = get_backend(MODEL, backend, precision)
    got, want = engine.evaluate(pack(far, MODEL)), engine.evaluate(pack(wrapped, MODEL))
    for name in ("energy", "energies", "forces", "virial", "virials"):
        value, expected = getattr(got, name), getattr(want, name)
        scale = np.abs(expected).max()
        assert np.abs(value - expected).max() <= RTOL * scale, name


def _evaluate_in_threads(work, n_threads: int = 4, repeats: int = 6) -> list:
    """Run ``work(k)`` for k = 0..n_threads-1, ``repeats`` times each, all threads at once."""
    results: list = [[] for _ in range(n_threads)]
    errors: list = []
    start = threading.Barrier(n_threads)

    def run(k: int) -> None:
        try:
            start.wait()
            for _ in range(repeats):
                results[k].append(work(k))
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


# Structures of one size and different positions: an evaluator keeps its buffers while the
# atom count stays the same, so unsynchronised threads would write into each other's.
SIZES = [(2, 2, 1)] * 4


def test_one_kernel_backend_shared_by_threads_gives_the_serial_results():
    engine = get_backend(MODEL, "host", "float32")
    batches = [pack(silicon_carbide(seed=k, repeat=r), MODEL) for k, r in enumerate(SIZES)]
    serial = [engine.evaluate(b) for b in batches]
    results = _evaluate_in_threads(lambda k: engine.evaluate(batches[k]))
    for k, runs in enumerate(results):
        for result in runs:
            np.testing.assert_array_equal(result.forces, serial[k].forces)
            np.testing.assert_array_equal(result.energy, serial[k].energy)
            np.testing.assert_array_equal(result.virials, serial[k].virials)


@pytest.mark.parametrize("backend", ["host", "reference"])
def test_one_calculator_shared_by_threads_gives_the_serial_results(backend):
    calc = NEPCalculator(MODEL, backend=backend)
    structures = [silicon_carbide(seed=k, repeat=r) for k, r in enumerate(SIZES)]
    serial = [(calc.get_potential_energy(a), calc.get_forces(a), calc.get_stress(a))
              for a in structures]

    def work(k: int):
        atoms = structures[k].copy()
        return calc.get_potential_energy(atoms), calc.get_forces(atoms), calc.get_stress(atoms)

    for k, runs in enumerate(_evaluate_in_threads(work)):
        for energy, forces, stress in runs:
            assert energy == serial[k][0]
            np.testing.assert_array_equal(forces, serial[k][1])
            np.testing.assert_array_equal(stress, serial[k][2])
