"""`gpunep bench`: evaluation throughput (atom-steps per second) per backend and size.

With no arguments it needs no files: a model with NEP89's architecture and
random weights is generated in memory (clearly synthetic: its predictions
mean nothing, only its cost is real) and evaluated on generated fcc
structures with random species. A real model and structures can be given
instead. Every case is timed for a few seconds after one warm-up call (which
also compiles or loads kernels); an overall deadline keeps the whole run
short, skipping what would not fit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from gpunep.errors import BackendUnavailableError

if TYPE_CHECKING:
    from ase import Atoms

    from gpunep.model import Model

#: NEP89's 89 species (H..Pu without Po, At, Rn, Fr, Ra), in its type order
NEP89_SPECIES = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As "
    "Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd "
    "Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Ac Th Pa U Np Pu"
).split()

SYNTHETIC_LABEL = (
    "SYNTHETIC model: NEP89's architecture (nep4_zbl, 89 species, cutoff 6/5, n_max 4 4, "
    "basis 8 8, l_max 4 2 1, 80 neurons, max neighbors 274/158) with RANDOM weights; "
    "its predictions mean nothing, only its cost is real")

#: generated cases: (number of structures, fcc conventional cells per edge); 4 atoms per cell
DEFAULT_CASES = ((1, 2), (1, 4), (32, 2), (8, 4), (1, 8))  # by growing atom count
FCC_LATTICE = 4.0  # Å: nearest neighbours at 2.83 Å, ~80 atoms within 6 Å, like a dense metal
BACKEND_ORDER = ("cuda", "host", "reference")


@dataclass
class BenchRow:
    """One timed case (or a skipped one, with ``note`` saying why)."""

    backend: str
    precision: str
    case: str
    atoms: int
    evaluations: int = 0
    seconds: float = 0.0
    first_call: float = 0.0
    note: str = ""

    @property
    def atom_steps_per_second(self) -> float:
        return self.atoms * self.evaluations / self.seconds if self.seconds > 0 else float("nan")


def nep89_like_model(seed: int = 89) -> "Model":
    """A random-weight model with NEP89's architecture (synthetic: for timings only)."""
    from gpunep.model import random_model

    return random_model(NEP89_SPECIES, cutoff=(6.0, 5.0), n_max=(4, 4), basis_size=(8, 8),
                        l_max=(4, 2, 1), n_neuron=80, zbl=(1.0, 2.0), max_neighbors=(274, 158),
                        seed=seed)


def generated_structures(species: Sequence[str], n_structures: int, cells: int,
                         seed: int = 0) -> list["Atoms"]:
    """``n_structures`` rattled fcc boxes of ``cells``³ conventional cells, random species."""
    from ase.build import bulk

    rng = np.random.default_rng(seed)
    base = bulk("Cu", "fcc", a=FCC_LATTICE, cubic=True).repeat((cells, cells, cells))
    out = []
    for _ in range(n_structures):
        atoms = base.copy()
        atoms.set_chemical_symbols(rng.choice(list(species), len(atoms)))
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        out.append(atoms)
    return out


def available_backends(model: "Model", precision: str | None = None) -> list[str]:
    """The backends this installation can run for ``model``, fastest first."""
    from gpunep.backends import get_backend

    names = []
    for name in BACKEND_ORDER:
        try:
            get_backend(model, name, precision if name != "reference" else None)
        except (BackendUnavailableError, ImportError):
            continue
        names.append(name)
    return names


def run(model: "Model | None" = None, structures: "Sequence[Atoms] | None" = None,
        backends: Sequence[str] | None = None, precision: str | None = None,
        seconds: float = 2.0, deadline: float = 50.0, log=None) -> list[BenchRow]:
    """Time evaluations per backend and case.

    Parameters
    ----------
    model : None for the synthetic NEP89-architecture model
    structures : None for the generated cases :data:`DEFAULT_CASES`; else one
        case that evaluates all of them as one batch
    backends : names to time; None = the fast ones available (cuda, host), or
        reference when neither is
    precision : for the kernel backends (the reference is always float64)
    seconds : how long each case is repeated after its warm-up call
    deadline : seconds after which remaining cases are skipped
    log : called with each finished row (e.g. to print progress)
    """
    from gpunep.backends import get_backend
    from gpunep.structures import pack

    if model is None:
        model = nep89_like_model()
    if backends is None:
        found = available_backends(model, precision)
        fast = [b for b in found if b != "reference"]
        backends = fast or found
    if structures is None:
        cases = [(f"{n} x {4 * c**3} atoms" + (" (batch)" if n > 1 else ""),
                  generated_structures(model.types, n, c, seed=c))
                 for n, c in DEFAULT_CASES]
    else:
        structures = list(structures)
        cases = [(f"{len(structures)} given structures", structures)]
    start = time.perf_counter()
    rows = []
    for name in backends:
        engine = get_backend(model, name, precision if name != "reference" else None)
        per_atom = 0.0  # seconds per atom-step measured on the previous case
        for label, atoms_list in cases:
            batch = pack(atoms_list, model)
            row = BenchRow(backend=engine.name, precision=engine.precision, case=label,
                           atoms=batch.n_atoms)
            left = deadline - (time.perf_counter() - start)
            expected = per_atom * batch.n_atoms  # one evaluation of this case
            if left <= 0 or 2 * expected > left:  # warm-up + at least one timed call
                row.note = (f"skipped: ~{2 * expected:.0f} s needed, the deadline leaves "
                            f"{max(left, 0.0):.0f} s")
            else:
                _time_case(engine, batch, row, seconds, left)
                per_atom = row.seconds / (row.evaluations * row.atoms)
            rows.append(row)
            if log is not None:
                log(row)
    return rows


def _time_case(engine, batch, row: BenchRow, seconds: float, left: float) -> None:
    tic = time.perf_counter()
    engine.evaluate(batch).check_finite()  # warm-up: compiles/loads kernels, sizes buffers
    row.first_call = time.perf_counter() - tic
    budget = min(seconds, max(0.0, left - row.first_call))
    tic = time.perf_counter()
    while True:
        engine.evaluate(batch)
        row.evaluations += 1
        row.seconds = time.perf_counter() - tic
        if row.seconds >= budget:
            break


def format_rows(rows: Sequence[BenchRow]) -> str:
    """The table `gpunep bench` prints."""
    lines = [f"{'backend':<10} {'precision':<9} {'case':<26} {'atoms':>7} {'evals':>6} "
             f"{'first call s':>12} {'atom-steps/s':>13}"]
    for row in rows:
        if row.note:
            lines.append(f"{row.backend:<10} {row.precision:<9} {row.case:<26} {row.atoms:>7}  {row.note}")
        else:
            lines.append(f"{row.backend:<10} {row.precision:<9} {row.case:<26} {row.atoms:>7} "
                         f"{row.evaluations:>6} {row.first_call:>12.3f} {row.atom_steps_per_second:>13.4g}")
    return "\n".join(lines)
