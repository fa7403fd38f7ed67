"""The inspection walkthrough (../shared/walkthroughs/inspecting_models.txt), step by step.

Every step that needs neither plotting nor the CsPbI3 files runs on a NEP3
model with the walkthrough's architecture, written by our writer and read
back. The field table is also checked against the table of the modifying
walkthrough, on ../shared/models/pbte_nep4/nep.txt (the architecture of its
nep4_PbTe.txt) and on a generated model of the same architecture.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from numpy.polynomial.chebyshev import chebval

from gpunep.model import random_model, read_model
from gpunep.reference.basis import radial_functions
from model_cases import FLAVOURS, make_flavour, round7, shared_file, spec_sizes

# The walkthrough's display(model) for nep-CsPbI3-SCAN.txt (rows it shows).
CSPBI3_TABLE = {
    "version": "3", "model_type": "potential", "types": "('Cs', 'Pb', 'I')",
    "radial_cutoff": "8.0", "angular_cutoff": "4.0", "n_basis_radial": "8",
    "n_basis_angular": "8", "n_max_radial": "8", "n_max_angular": "6", "l_max_3b": "4",
    "l_max_4b": "0", "l_max_5b": "0", "n_descriptor_radial": "9", "n_descriptor_angular": "28",
    "n_neuron": "50", "n_parameters": "3284", "n_descriptor_parameters": "1296",
    "n_ann_parameters": "1951", "zbl": "None", "max_neighbors_radial": "74",
    "max_neighbors_angular": "14", "Dimension of q_scaler": "37",
}

# The modifying walkthrough's display(model) for nep4_PbTe.txt with its restart, in order.
PBTE_TABLE = [
    ("version", "4"), ("model_type", "potential"), ("types", "('Te', 'Pb')"),
    ("radial_cutoff", "8.0"), ("angular_cutoff", "4.0"), ("n_basis_radial", "8"),
    ("n_basis_angular", "8"), ("n_max_radial", "4"), ("n_max_angular", "4"), ("l_max_3b", "4"),
    ("l_max_4b", "2"), ("l_max_5b", "0"), ("has_q_112", "0"), ("has_q_123", "0"),
    ("has_q_233", "0"), ("has_q_134", "0"), ("n_descriptor_radial", "5"),
    ("n_descriptor_angular", "25"), ("n_neuron", "30"), ("n_parameters", "2311"),
    ("n_descriptor_parameters", "360"), ("n_ann_parameters", "1921"),
    ("sqrt_epsilon_infinity", "None"), ("restart_parameters", "available"), ("zbl", "None"),
    ("zbl_typewise_cutoff_factor", "None"), ("max_neighbors_radial", "74"),
    ("max_neighbors_angular", "10"), ("radial_typewise_cutoff_factor", "None"),
    ("angular_typewise_cutoff_factor", "None"), ("Dimension of ann_parameters", "(2, 3)"),
    ("Dimension of q_scaler", "30"), ("Dimension of radial_descriptor_weights", "(5, 9)"),
    ("Dimension of angular_descriptor_weights", "(5, 9)"),
]


def _str_rows(model) -> list[tuple[str, str]]:
    lines = str(model).split("\n")
    assert [part.strip() for part in lines[0].split("|")] == ["Field", "Value"]
    rows = []
    for line in lines[2:]:
        name, value = line.split(" | ", 1)
        rows.append((name.strip(), value.strip()))
    return rows


def _html_rows(model) -> list[tuple[str, str]]:
    root = ET.fromstring(model._repr_html_())  # raises unless well formed
    assert root.tag == "table"
    header = ["".join(cell.itertext()).strip() for cell in root.iter("th")]
    assert header == ["Field", "Value"]
    rows = []
    for row in root.find("tbody").iter("tr"):
        cells = ["".join(cell.itertext()).strip() for cell in row.findall("td")]
        assert len(cells) == 2
        rows.append((cells[0], cells[1]))
    return rows


@pytest.fixture(scope="module")
def cspbi3_file(tmp_path_factory):
    """The walkthrough's architecture with designed weights, written as nep-CsPbI3-SCAN.txt.

    1850 = 50 x 37 non-zero w0 entries, 754 of them above 1e-3 in magnitude, and 32
    of the 50 hidden biases above 0.01: the numbers the walkthrough prints.
    """
    model = random_model(("Cs", "Pb", "I"), version=3, cutoff=(8.0, 4.0), n_max=(8, 6),
                         basis_size=(8, 8), l_max=(4, 0, 0), n_neuron=50, max_neighbors=(74, 14),
                         seed=42)
    rng = np.random.default_rng(1)
    magnitudes = np.concatenate([rng.uniform(2e-3, 1.0, 754), rng.uniform(1e-6, 5e-4, 1096)])
    signs = rng.choice([-1.0, 1.0], 1850)
    model.ann_parameters["all_species"]["w0"] = rng.permutation(magnitudes * signs).reshape(50, 37)
    biases = np.concatenate([rng.uniform(0.02, 1.0, 32), rng.uniform(0.0, 0.005, 18)])
    model.ann_parameters["all_species"]["b0"] = rng.permutation(biases).reshape(50, 1)
    path = tmp_path_factory.mktemp("walkthrough") / "nep-CsPbI3-SCAN.txt"
    model.write(path)
    return path


def test_display_table(cspbi3_file):
    model = read_model(cspbi3_file)
    for rows in (_str_rows(model), _html_rows(model)):
        table = dict(rows)
        for field, value in CSPBI3_TABLE.items():
            assert table[field] == value, field
        # Descriptor weights per pair: (n_max + 1) x (n_basis + 1), 9 x 9 and 7 x 9 as the text
        # says.
        assert table["Dimension of radial_descriptor_weights"] == "(9, 9)"
        assert table["Dimension of angular_descriptor_weights"] == "(7, 9)"
        # One shared network with w0, b0, w1 (the modifying walkthrough's convention).
        assert table["Dimension of ann_parameters"] == "(1, 3)"
    assert model.n_parameters == 1951 + 1296 + 37


def test_descriptor_weights_and_basis_functions(cspbi3_file):
    """Cells [5]-[8]: iterate the weights per pair and build g_n(r) with chebval."""
    model = read_model(cspbi3_file)
    types = model.types
    pairs = list(model.radial_descriptor_weights)
    assert pairs == [(a, b) for a in types for b in types]
    assert list(model.angular_descriptor_weights) == pairs
    for (s1, s2), data in model.radial_descriptor_weights.items():
        assert (types.index(s1), types.index(s2)) in {(i, j) for i in range(3) for j in range(3)}
        assert data.shape == (model.n_max_radial + 1, model.n_basis_radial + 1) == (9, 9)
    for data in model.angular_descriptor_weights.values():
        assert data.shape == (7, 9)

    def cutoff_func(rs, rcut):
        fc = 0.5 * (1 + np.cos(np.pi * rs / rcut))
        fc[rs > rcut] = 0
        return fc

    for cutoff, weights in ((model.radial_cutoff, model.radial_descriptor_weights),
                            (model.angular_cutoff, model.angular_descriptor_weights)):
        rs = np.arange(0.5, cutoff + 0.5, 0.01)
        xs = 2 * (rs / cutoff - 1) ** 2 - 1
        stacked = np.stack([weights[pair] for pair in pairs])
        for code, pair in enumerate(pairs):
            g = np.zeros((len(weights[pair]), len(rs)))
            for n, c_nk in enumerate(weights[pair]):
                for k in range(len(c_nk)):
                    coeff = np.zeros(k + 1)
                    coeff[-1] = 1
                    g[n] += c_nk[k] * 0.5 * (chebval(xs, coeff) + 1) * cutoff_func(rs, cutoff)
            # Same radial functions as the package's float64 reference
            # (docs/descriptors.md#radial-functions); 1e-12: round-off of two summation orders of
            # ~10 terms of size <= 1.
            inside = rs < cutoff
            reference, _ = radial_functions(rs[inside], np.full(inside.sum(), cutoff),
                                            np.full(inside.sum(), code), stacked)
            np.testing.assert_allclose(g[:, inside].T, reference, rtol=0, atol=1e-12)
            assert np.all(g[:, ~inside] == 0)


def test_ann_parameters_shapes(cspbi3_file):
    """Cell [9]: the printed shapes of the shared network."""
    model = read_model(cspbi3_file)
    printed = [f"{key:6} : {value.shape}" for key, value in model.ann_parameters["all_species"].items()]
    assert [line.split() for line in printed] == [
        ["w0", ":", "(50,", "37)"], ["b0", ":", "(50,", "1)"], ["w1", ":", "(1,", "50)"]]
    assert set(model.ann_parameters) == {"all_species", "b1"}
    assert isinstance(model.ann_parameters["b1"], float)


def test_pruning_and_writing(cspbi3_file, tmp_path):
    """Cell [11]: prune small w0 entries, assign, write, and the file carries it."""
    model = read_model(cspbi3_file)
    model_mod = read_model(cspbi3_file)
    params = model.ann_parameters["all_species"]["w0"]
    assert np.count_nonzero(params) == 1850
    params = np.where(np.log10(np.abs(params)) > -3, params, 0)
    assert np.count_nonzero(params) == 754
    model_mod.ann_parameters["all_species"]["w0"] = params
    model_mod.write(tmp_path / "nep-modified.txt")
    pruned = read_model(tmp_path / "nep-modified.txt")
    w0 = pruned.ann_parameters["all_species"]["w0"]
    assert np.count_nonzero(w0) == 754
    np.testing.assert_array_equal(w0, round7(params))  # values written by %15.7e, as GPUMD
    # Nothing else changed.
    np.testing.assert_array_equal(pruned.q_scaler, model.q_scaler)
    for pair, weights in model.radial_descriptor_weights.items():
        np.testing.assert_array_equal(pruned.radial_descriptor_weights[pair], weights)


def test_peeling_layer_by_layer(cspbi3_file):
    """Cells [13]-[14]: per-descriptor and per-neuron statistics and their labels."""
    model = read_model(cspbi3_file)
    params = model.ann_parameters
    nr = model.n_max_radial + 1
    na = model.n_max_angular + 1
    la = model.l_max_3b + model.l_max_4b + model.l_max_5b
    acc_w_desc = np.mean(np.abs(params["all_species"]["w0"]), axis=0)
    labels = [f"{r}" for r in range(nr)] + [f"{n},{l}" for l in range(la) for n in range(na)]
    assert len(labels) == len(acc_w_desc) == 37
    w0 = params["all_species"]["w0"]
    w1 = params["all_species"]["w1"]
    b0 = params["all_species"]["b0"]
    assert len(range(1, len(b0) + 1)) == len(np.mean(np.abs(w0), axis=1)) == w1.flatten().size == 50
    abs_b0 = np.abs(b0.flatten())
    assert np.count_nonzero(abs_b0[abs_b0 > 0.01]) == 32


# ----------------------------------------------------- the modifying walkthrough's table
def _with_restart(path, tmp_path):
    """Load ``path`` with a restart file (mu = the values, sigma = 0.01) written here."""
    model = read_model(path)
    rows = model.n_ann_parameters + model.n_descriptor_parameters
    lines = [line for line in path.read_text().split("\n")[6:] if line.strip()][:rows]
    restart = tmp_path / "nep.restart"
    restart.write_text("".join(f"{float(v):15.7e} {0.01:15.7e}\n" for v in lines))
    return read_model(path, restart_file=restart)


def _check_pbte_table(model) -> None:
    assert _str_rows(model) == PBTE_TABLE
    assert _html_rows(model) == PBTE_TABLE
    assert model.training_parameters == {
        "version": 4, "type": [2, "Te", "Pb"], "cutoff": [8.0, 4.0], "n_max": [4, 4],
        "basis_size": [8, 8], "l_max": [4, 2, 0], "neuron": 30}


def test_pbte_table_on_real_file(tmp_path):
    path = shared_file("pbte_nep4/nep.txt")
    plain = read_model(path)
    assert dict(_str_rows(plain))["restart_parameters"] == "not available"
    _check_pbte_table(_with_restart(path, tmp_path))


def test_pbte_table_on_generated_twin(tmp_path):
    twin = random_model(("Te", "Pb"), cutoff=(8.0, 4.0), n_max=(4, 4), basis_size=(8, 8),
                        l_max=(4, 2, 0), n_neuron=30, max_neighbors=(74, 10), seed=9)
    twin.write(tmp_path / "nep.txt")
    _check_pbte_table(_with_restart(tmp_path / "nep.txt", tmp_path))


def test_html_escapes_and_stays_well_formed():
    """Values with markup characters (tuples with quotes) are escaped, the table parses."""
    model = random_model(("Ba", "Ti", "O"), cutoff=((6.0, 5.0, 4.5), (4.0, 3.5, 3.0)),
                         zbl=(0.0, 0.0), model_type="potential_with_charges", charge_mode=1)
    rows = dict(_html_rows(model))
    assert rows["types"] == "('Ba', 'Ti', 'O')"
    assert rows["radial_cutoff"] == "[6.0, 5.0, 4.5]"
    assert rows["zbl"] == "(0.0, 0.0)"
    assert rows["model_type"] == "potential_with_charges"
    assert float(rows["sqrt_epsilon_infinity"]) == model.sqrt_epsilon_infinity
    assert dict(_str_rows(model)) == rows


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_table_of_every_flavour(flavour):
    """str() and the HTML table agree, are well formed and show the model's own numbers."""
    model = make_flavour(flavour)
    rows = _html_rows(model)
    assert _str_rows(model) == rows
    assert [name for name, _ in rows] == [name for name, _ in PBTE_TABLE]
    table = dict(rows)
    sizes = spec_sizes(model)
    assert table["n_ann_parameters"] == str(sizes["n_ann"])
    assert table["n_descriptor_parameters"] == str(sizes["n_c"])
    assert table["n_parameters"] == str(sizes["n_ann"] + sizes["n_c"] + sizes["dim"])
    assert table["Dimension of q_scaler"] == str(sizes["dim"])
    assert table["model_type"] == model.model_type
    assert table["zbl"] == str(model.zbl)
