"""Shared cases for the model-editing tests: model flavours, structures, file checks.

Imported by test_editing.py and test_editing_proofs.py (pytest puts this
folder on sys.path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from gpunep.model import Model, random_model, read_model
from gpunep.model.io import parameter_vector, restart_vectors

SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"


def pbte_model() -> Model:
    """The walkthrough's Te/Pb NEP4 model, or skip when ../shared is absent."""
    path = SHARED_MODELS / "pbte_nep4" / "nep.txt"
    if not path.is_file():
        pytest.skip("../shared/models not present (a user's clone): "
                    "the walkthrough model pbte_nep4/nep.txt is needed")
    return read_model(path)


# Random-weight models of every flavour the editor handles (our own generator).
FLAVOURS: dict[str, dict] = {
    "nep4": dict(),
    "nep4_zbl": dict(l_max=(4, 2, 1), zbl=(1.0, 2.0)),
    "nep4_zbl_typewise": dict(zbl=(1.0, 2.0), zbl_typewise_cutoff_factor=0.7),
    "nep4_zbl_flexible": dict(zbl=(0.0, 0.0)),
    "nep4_typewise_cutoff": dict(cutoff=((6.0, 5.5, 5.0), (4.0, 3.5, 3.8))),
    "nep3": dict(version=3),
    "nep5": dict(version=5),
    "charge1": dict(model_type="potential_with_charges", charge_mode=1),
    "dipole": dict(model_type="dipole"),
    "polarizability": dict(model_type="polarizability"),
    "temperature": dict(model_type="temperature"),
}

# Flavours the float64 numpy reference evaluates (energies, forces, virials).
EVALUABLE = ("nep4", "nep4_zbl", "nep4_zbl_typewise", "nep4_zbl_flexible",
             "nep4_typewise_cutoff", "nep3", "nep5")

TYPES = ("Te", "Pb", "Se")


def flavour_model(name: str, seed: int = 0, **overrides) -> Model:
    """A three-species random model of flavour ``name``."""
    options = dict(types=TYPES, n_neuron=8, seed=seed, l_max=(4, 2, 0))
    options.update(FLAVOURS[name])
    options.update(overrides)
    return random_model(**options)


def rocksalt(symbols: tuple[str, str] = ("Pb", "Te"), seed: int = 1) -> Atoms:
    """A rattled 64-atom rock-salt cell (a = 6.46 Å, PbTe-like), periodic."""
    atoms = bulk("PbTe", "rocksalt", a=6.46, cubic=True).repeat(2)
    atoms.set_chemical_symbols([symbols[0] if s == "Pb" else symbols[1]
                                for s in atoms.get_chemical_symbols()])
    atoms.rattle(0.15, seed=seed)
    return atoms


def mixed_structures(species: tuple[str, ...] = TYPES, seed: int = 3) -> list[Atoms]:
    """Two small periodic structures whose atoms are drawn from ``species``."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(2):
        atoms = bulk("PbTe", "rocksalt", a=6.46, cubic=True).repeat((2, 2, 1))
        atoms.set_chemical_symbols(list(rng.choice(species, len(atoms))))
        atoms.rattle(0.15, seed=seed + s)
        out.append(atoms)
    return out


def round7(values: np.ndarray) -> np.ndarray:
    """What each value becomes after GPUMD's ``%15.7e`` and reading back."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.array([float(f"{v:15.7e}") for v in flat])


def assert_round_trip(model: Model, directory: Path) -> Model:
    """Write nep.txt (+ nep.restart), read them back, compare counts and every value."""
    directory.mkdir(parents=True, exist_ok=True)
    model.write(directory / "nep.txt")
    restart = None
    if model.restart_parameters is not None:
        restart = directory / "nep.restart"
        model.write_restart(restart)
    back = read_model(directory / "nep.txt", restart_file=restart)
    for name in ("version", "model_type", "types", "n_neuron", "n_parameters", "n_descriptor",
                 "n_descriptor_angular", "l_max_4b", "l_max_5b", "has_q_112", "has_q_123",
                 "has_q_233", "has_q_134", "charge_mode", "zbl"):
        assert getattr(back, name) == getattr(model, name), name
    np.testing.assert_array_equal(parameter_vector(back), round7(parameter_vector(model)))
    if restart is not None:
        for read, written in zip(restart_vectors(back), restart_vectors(model)):
            np.testing.assert_array_equal(read, round7(written))
    return back
