"""`gpunep predict` on a charge model reproduces GPUMD's qnep_train files (../shared/models/gpumd/qnep_train).

GPUMD's ``nep`` wrote these files (float32, ``%g``) before it added the
mean-D term to the charge models' chain rule, so forces and virials match
only with ``--no-mean-d-correction`` (docs/validation.md#charge-model-outputs); energies and charges
match either way. Tolerances are the issue's: energy 1e-5 eV/atom, raw
charges 1e-5 e, forces 5e-5 eV/Å, virial 5e-5 eV/atom; an independent
float64 implementation observed 4.7e-6, 2e-6, 1.5e-5 and 1e-6
(docs/validation.md#charge-model-outputs). The
reference columns come from the data set and must be GPUMD's text exactly.
Both the numpy reference and the float32 host kernels (GPUMD's precision)
meet them.

Each backend runs the 25 x 250-atom Ewald sums once per session (module
fixture; the reference ~4 s, the host kernels ~1 s).
"""

from __future__ import annotations

import contextlib
import io
from decimal import Decimal

import numpy as np
import pytest
from ase.io import read

from conftest import shared_models
from gpunep.cli import main
from gpunep.properties import EV_PER_A3_TO_GPA

TOLERANCE = {"energy_train.out": Decimal("1e-5"), "charge_train.out": Decimal("1e-5"),
             "force_train.out": Decimal("5e-5"), "virial_train.out": Decimal("5e-5")}
N_ATOMS, N_STRUCTURES = 250, 25


def _decimal_rows(path) -> np.ndarray:
    """The file's numbers as exact decimals (object array), as printed."""
    return np.array([[Decimal(x) for x in line.split()] for line in path.read_text().splitlines()],
                    dtype=object)


@pytest.fixture(scope="module")
def gpumd():
    return shared_models() / "gpumd" / "qnep_train"


BACKENDS = {"reference": ["--backend", "reference"],
            "host-float32": ["--backend", "host", "--precision", "float32"]}
#: BEC against the float64 reference: the %g rounding (5e-6 relative) of the file, and for the
#: float32 kernels GPUMD's float32 resolution, 5e-5 (as in tests/backends; 1e-5 observed)
BEC_TOLERANCE = {"reference": dict(rtol=5e-6, atol=1e-12), "host-float32": dict(rtol=0, atol=5e-5)}


@pytest.fixture(scope="module", params=list(BACKENDS))
def predicted(gpumd, tmp_path_factory, request):
    """Our files for qnep_train, what the command printed, and the backend's name."""
    out = tmp_path_factory.mktemp("qnep") / "out"
    printed = io.StringIO()  # capsys is function-scoped; this fixture runs once per backend
    with contextlib.redirect_stdout(printed):
        code = main(["predict", str(gpumd / "nep.txt"), str(gpumd / "train.xyz"), "-o", str(out),
                     *BACKENDS[request.param], "--no-mean-d-correction"])
    assert code == 0
    return out, printed.getvalue(), request.param


@pytest.mark.parametrize("name", list(TOLERANCE))
def test_predictions_match_gpumd(gpumd, predicted, name):
    out, _, _ = predicted
    ours, theirs = _decimal_rows(out / name), _decimal_rows(gpumd / name)
    assert ours.shape == theirs.shape, name
    # charge_train.out has one column and no reference; the others predictions, then references
    half = ours.shape[1] // 2 if ours.shape[1] > 1 else 1
    # differences of the printed decimals, exactly
    assert np.abs(ours[:, :half] - theirs[:, :half]).max() <= TOLERANCE[name], name
    assert (ours[:, half:] == theirs[:, half:]).all(), f"{name}: reference columns differ from GPUMD's"


def test_stress_matches_gpumd(gpumd, predicted):
    # stress = (W/N) (N/V) 160.2177 GPa: the virial's tolerance carried over with the cell's N/V
    volume = abs(np.linalg.det(read(gpumd / "train.xyz", 0).cell[:]))
    tolerance = float(TOLERANCE["virial_train.out"]) * N_ATOMS / volume * EV_PER_A3_TO_GPA
    out, _, _ = predicted
    ours, theirs = np.loadtxt(out / "stress_train.out"), np.loadtxt(gpumd / "stress_train.out")
    assert ours.shape == theirs.shape == (N_STRUCTURES, 12)
    assert np.abs(ours[:, :6] - theirs[:, :6]).max() <= tolerance
    assert (ours[:, 6:] == -1e6).all() and (theirs[:, 6:] == -1e6).all()  # train.xyz has no virials


def test_charges_are_the_raw_network_charges(gpumd, predicted):
    # GPUMD's charge_train.out holds the charges before neutralisation
    # (docs/charges.md#neutralisation): they do not sum to zero per structure, by far more than the
    # %g rounding of 250 values (~1e-4 e)
    out, _, _ = predicted
    charges = np.loadtxt(out / "charge_train.out").reshape(N_STRUCTURES, N_ATOMS)
    assert np.abs(charges.sum(axis=1)).max() > 1e-2


def test_bec_file_layout_and_values(gpumd, predicted):
    from gpunep import read_model
    from gpunep.calculator import NEPCalculator

    out, _, backend = predicted
    bec = np.loadtxt(out / "bec_train.out")
    assert bec.shape == (N_STRUCTURES * N_ATOMS, 18)
    assert (bec[:, 9:] == 0).all()  # no bec:R:9 targets in train.xyz: GPUMD writes 0
    # the first structure's BEC from the reference calculator, row-major 11 12 13 21 ... 33
    model = read_model(gpumd / "nep.txt")
    atoms = read(gpumd / "train.xyz", 0)
    atoms.calc = NEPCalculator(model, backend="reference", mean_d_correction=False)
    expected = atoms.calc.get_property("bec", atoms).reshape(N_ATOMS, 9)
    np.testing.assert_allclose(bec[:N_ATOMS, :9], expected, **BEC_TOLERANCE[backend])
    # acoustic sum rule of a neutral cell: sum_i Z_i = 0 (docs/charges.md#born-effective-charges);
    # from the printed values, 250 roundings of up to 5e-6 |Z|max each
    sums = bec[:, :9].reshape(N_STRUCTURES, N_ATOMS, 9).sum(axis=1)
    assert np.abs(sums).max() <= N_ATOMS * 5e-6 * np.abs(bec[:, :9]).max()


def test_rmse_table_of_a_charge_model(gpumd, predicted):
    # the energy RMSE against the DFT column; GPUMD's own two columns give it to within the
    # prediction tolerance (1e-5 eV/atom) plus the %g rounding of the reference (5e-6 eV/atom)
    _, printed, _ = predicted
    energy = np.loadtxt(gpumd / "energy_train.out")
    rmse_mev = 1000 * np.sqrt(np.mean((energy[:, 0] - energy[:, 1]) ** 2))
    row = next(line for line in printed.splitlines() if line.split()[:2] == ["energy", "all"])
    assert float(row.split()[3]) == pytest.approx(rmse_mev, abs=0.015)
    assert "potential_with_charges model" in printed
    # charges have no reference values in train.xyz, so no charge rows
    assert not any(line.split()[:1] == ["charge"] for line in printed.splitlines())
