"""Base files and exactness checks shared by the reader fuzzers.

Used by tests/model/test_fuzz.py (hypothesis) and benchmarks/fuzz_readers.py
(seeded mutations at scale): small valid nep.txt and nep.restart texts written
by our own writer, and the checks that a file the reader accepted holds
exactly that file's numbers (read independently here) and writes them back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpunep.model import random_model, read_model
from model_cases import round7, spec_fitted_vector, spec_values

TINY = dict(n_max=(1, 1), basis_size=(2, 1), n_neuron=2, max_neighbors=(9, 5))
BASES = {
    "nep3": dict(version=3, types=("Te", "Pb")),
    "nep4": dict(types=("Te", "Pb"), l_max=(2, 2, 0)),
    "nep5": dict(version=5, types=("Te", "Pb"), l_max=(2, 0, 1)),
    "zbl_typewise": dict(types=("C",), zbl=(0.0, 2.0), zbl_typewise_cutoff_factor=0.7),
    "zbl_flexible": dict(types=("H", "O"), zbl=(0.0, 0.0)),
    "typewise_cutoffs": dict(types=("H", "O"), cutoff=((5.0, 4.5), (3.0, 2.5))),
    "l_max_7": dict(types=("Si",), l_max=(2, 2, 1, 1, 1, 1, 1)),
    "charge2": dict(types=("Te", "Pb"), model_type="potential_with_charges", charge_mode=2),
    "polarizability": dict(types=("H", "O"), model_type="polarizability"),
    "temperature": dict(types=("C",), model_type="temperature"),
}
NUMBERS = ["0", "1", "2", "-1", "3", "4", "7", "8", "9", "2.5", "1e3", "0.0", "-0", "1e-9",
           "  1.0000000e+00", "nan", "inf", "1_0", "4.0"]
KEYWORDS = ["nep3", "nep4", "nep5", "nep4_zbl", "nep3_zbl", "nep4_charge1", "nep4_charge2",
            "nep4_zbl_charge1", "nep4_dipole", "nep4_polarizability", "nep4_temperature",
            "nep5_zbl", "nep4_vdw", "nep4_charge3", "nep5_charge1", "zbl", "cutoff", "n_max",
            "basis_size", "l_max", "ANN", "Te", "Pb", "H", "O", "C", "Si", "Xx"]
RESTART_BASE = random_model(("Te", "Pb"), seed=3, model_type="potential_with_charges",
                            charge_mode=1, **TINY)


def base_text(name: str, folder: Path) -> str:
    """The nep.txt of base flavour ``name`` (written once into ``folder``)."""
    path = Path(folder) / f"{name}.txt"
    if not path.exists():
        random_model(seed=7, **{**TINY, **BASES[name]}).write(path)
    return path.read_text()


def restart_text() -> str:
    """A nep.restart for :data:`RESTART_BASE`: one ``mu sigma`` row per fitted parameter."""
    n_rows = RESTART_BASE.n_ann_parameters + RESTART_BASE.n_descriptor_parameters
    rng = np.random.default_rng(11)
    return "".join(f"{m:15.7e} {s:15.7e}\n" for m, s in
                   zip(rng.normal(size=n_rows), rng.uniform(0, 0.1, n_rows)))


# ------------------------------------------------------------ independent reading
def _number(token: str):
    try:
        return float(token)
    except ValueError:
        return token


def normal_header(lines: list[str]) -> list[list]:
    """Header tokens as numbers where they are numbers, in a form both writers share."""
    rows = []
    for line in lines:
        parts = [_number(t) for t in line.split()]
        if parts and parts[0] == "l_max":
            parts += [0.0] * (8 - len(parts))  # trailing flags default to 0
        if parts and parts[0] == "ANN" and len(parts) == 2:
            parts.append(0.0)  # "ANN N1" means one hidden layer
        rows.append(parts)
    return rows


def split_lines(text: str) -> list[str]:
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def check_model_exact(model, text: str, out: Path) -> None:
    """The model holds exactly the file's numbers and writes them back."""
    lines = split_lines(text)
    header = 7 if model.zbl is not None else 6
    values = [float(line) for line in lines[header:]]
    assert spec_values(model) == values
    model.write(out)
    written = split_lines(out.read_text())
    assert normal_header(written[:header]) == normal_header(lines[:header])
    assert [float(line) for line in written[header:]] == round7(values).tolist()
    again = read_model(out)
    assert spec_values(again) == round7(values).tolist()


def check_restart_exact(model, text: str, folder: Path) -> None:
    """``model``, which read the restart ``text``, holds exactly its rows and writes them back."""
    table = [[float(v) for v in line.split()] for line in split_lines(text)]
    r = model.restart_parameters
    for column, which in ((0, "mu"), (1, "sigma")):
        assert spec_fitted_vector(model, r[f"ann_{which}"], r[f"radial_descriptor_{which}"],
                                  r[f"angular_descriptor_{which}"]) == [row[column] for row in table]
    model.write_restart(folder / "out.restart")
    written = np.loadtxt(folder / "out.restart")
    np.testing.assert_array_equal(written, round7(np.array(table)))
