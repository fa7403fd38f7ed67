"""Reading and writing nep.txt / nep.restart / nep.in, checked against docs/file-formats.md.

Exactness: GPUMD writes every value with ``%15.7e``; a read + write must give
back the same text for every value line (no tolerance: the numbers are the
same decimal strings). Layout: the order of values is checked against an
independent transcription of docs/network.md#parameter-order
(``model_cases.spec_values``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gpunep
from gpunep.model import random_model, read_model, read_nepfile, write_nepfile
from gpunep.model.io import parameter_vector, restart_from_vectors
from model_cases import (FLAVOURS, file_values, make_flavour, real_model_params, round7,
                         shared_file, spec_fitted_vector, spec_sizes, spec_values)


def _header_and_values(path: Path, model) -> tuple[list[list[str]], list[str]]:
    lines = Path(path).read_text().split("\n")
    header = 7 if model.zbl is not None else 6
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.split() for line in lines[:header]], lines[header:]


def _same_header(a: list[list[str]], b: list[list[str]]) -> bool:
    """Header tokens equal, numbers compared as numbers ('6.0' is '6')."""
    def norm(token: str):
        try:
            return float(token)
        except ValueError:
            return token
    return [[norm(t) for t in line] for line in a] == [[norm(t) for t in line] for line in b]


def _assert_trees_equal(actual, expected, where: str = "") -> None:
    if isinstance(expected, dict):
        assert set(actual) == set(expected), where
        for key in expected:
            _assert_trees_equal(actual[key], expected[key], f"{where}[{key!r}]")
    else:
        assert np.shape(actual) == np.shape(expected), where
        np.testing.assert_array_equal(actual, expected, err_msg=where)


def _rounded_tree(tree):
    if isinstance(tree, dict):
        return {key: _rounded_tree(value) for key, value in tree.items()}
    return float(round7(tree)) if np.ndim(tree) == 0 else round7(tree)


# ----------------------------------------------------------------- real models
@pytest.mark.parametrize("path", real_model_params())
def test_real_model_round_trip(path, tmp_path):
    model = read_model(path)
    out = tmp_path / "nep.txt"
    model.write(out)
    header_in, values_in = _header_and_values(path, model)
    header_out, values_out = _header_and_values(out, model)
    assert _same_header(header_in, header_out)
    # The same decimal strings, value by value (GPUMD's %15.7e both ways).
    assert values_out == values_in
    # Counts of docs/network.md#parameter-counts match the file.
    assert len(values_in) == spec_sizes(model)["values"]
    # Reading our own output gives the same model again.
    np.testing.assert_array_equal(parameter_vector(read_model(out)), parameter_vector(model))


@pytest.mark.parametrize("relative", [
    "pbte_nep4/nep.txt",                                      # nep4
    "nep_cpu_reference/nep/nep.txt",                          # nep3
    "nep_cpu_reference/qnep/nep.txt",                         # nep4_charge1
    "gpumd/qnep_train/nep.txt",                               # nep4_charge2
    "gpumd/tests_pytest/models/qnep_mode1_BaTiO3.txt",        # nep4_zbl_charge1
    "tnep/polarizability/nep.txt",                            # two networks
    "tnep/dipole/nep.txt",
    "gpumd/potentials/Si_2022_NEP4_5body.txt",                # one type
])
def test_real_model_values_follow_spec_layout(relative):
    path = shared_file(relative)
    model = read_model(path)
    assert spec_values(model) == file_values(path, model)


def test_real_model_header_fields():
    """Header fields as the files state them (numbers read off the headers by hand)."""
    model = read_model(shared_file("gpumd/tests_pytest/models/qnep_mode2_BaTiO3.txt"))
    assert (model.version, model.model_type, model.charge_mode) == (4, "potential_with_charges", 2)
    assert model.types == ("Ba", "Ti", "O")
    assert model.zbl == (0.75, 1.5) and model.zbl_typewise_cutoff_factor is None
    assert (model.radial_cutoff, model.angular_cutoff) == (6.0, 4.0)
    assert (model.max_neighbors_radial, model.max_neighbors_angular) == (86, 26)
    assert (model.n_max_radial, model.n_max_angular, model.n_basis_radial,
            model.n_basis_angular) == (8, 6, 8, 8)
    assert (model.l_max_3b, model.l_max_4b, model.l_max_5b, model.n_neuron) == (4, 0, 0, 40)
    # sqrt_epsilon_infinity is the value just before b1 (docs/network.md#parameter-order), b1 the
    # last ANN value.
    values = file_values(shared_file("gpumd/tests_pytest/models/qnep_mode2_BaTiO3.txt"), model)
    n_ann = spec_sizes(model)["n_ann"]
    assert model.sqrt_epsilon_infinity == values[n_ann - 2]
    assert model.ann_parameters["b1"] == values[n_ann - 1]

    nep3 = read_model(shared_file("nep_cpu_reference/nep/nep.txt"))
    assert nep3.version == 3 and set(nep3.ann_parameters) == {"all_species", "b1"}
    unep = read_model(shared_file(
        "gpumd/potentials/Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt"))
    assert unep.zbl == (1.0, 2.0) and len(unep.types) == 16 and unep.zbl_parameters is None


@pytest.mark.parametrize("folder", ["gpumd/nep_train", "gpumd/qnep_train"])
def test_real_restart_round_trip(folder, tmp_path):
    # nep_train's nep.txt is nep_prediction/nep.txt (docs/validation.md#reference-outputs).
    nep_txt = "gpumd/nep_prediction/nep.txt" if folder == "gpumd/nep_train" else f"{folder}/nep.txt"
    restart = shared_file(f"{folder}/nep.restart")
    model = read_model(shared_file(nep_txt), restart_file=restart)
    rows = restart.read_text().split("\n")[:-1]
    # docs/file-formats.md#restart-file: one row per fitted parameter, no q_scaler.
    sizes = spec_sizes(model)
    assert len(rows) == sizes["n_ann"] + sizes["n_c"]
    table = np.array([[float(v) for v in row.split()] for row in rows])
    r = model.restart_parameters
    for column, which in ((0, "mu"), (1, "sigma")):
        vector = spec_fitted_vector(model, r[f"ann_{which}"], r[f"radial_descriptor_{which}"],
                                    r[f"angular_descriptor_{which}"])
        np.testing.assert_array_equal(vector, table[:, column])
    out = tmp_path / "nep.restart"
    model.write_restart(out)
    assert out.read_text() == restart.read_text()


# ------------------------------------------------------------- generated models
def _expected_token(model) -> str:
    suffix = {"potential": "", "dipole": "_dipole", "polarizability": "_polarizability",
              "temperature": "_temperature"}.get(model.model_type, f"_charge{model.charge_mode}")
    return f"nep{model.version}" + ("_zbl" if model.zbl is not None else "") + suffix


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_generated_model_round_trip(flavour, tmp_path):
    model = make_flavour(flavour, seed=1)
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    model.write(first)
    lines = first.read_text().split("\n")
    assert lines[0].split() == [_expected_token(model), str(len(model.types)), *model.types]
    sizes = spec_sizes(model)
    assert len(lines) - 1 == sizes["lines"]  # the final newline leaves one empty string
    # Every value in spec order, each rounded as %15.7e rounds it.
    assert file_values(first, model) == [float(v) for v in round7(spec_values(model))]

    back = read_model(first)
    for name in ("version", "model_type", "types", "radial_cutoff", "angular_cutoff",
                 "n_max_radial", "n_max_angular", "n_basis_radial", "n_basis_angular",
                 "l_max_3b", "l_max_4b", "l_max_5b", "has_q_112", "has_q_123", "has_q_233",
                 "has_q_134", "n_neuron", "zbl", "zbl_typewise_cutoff_factor", "charge_mode",
                 "max_neighbors_radial", "max_neighbors_angular"):
        assert getattr(back, name) == getattr(model, name), name
    _assert_trees_equal(back.ann_parameters, _rounded_tree(model.ann_parameters))
    _assert_trees_equal(back.radial_descriptor_weights, _rounded_tree(model.radial_descriptor_weights))
    _assert_trees_equal(back.angular_descriptor_weights, _rounded_tree(model.angular_descriptor_weights))
    np.testing.assert_array_equal(back.q_scaler, round7(model.q_scaler))
    if model.zbl == (0.0, 0.0):
        _assert_trees_equal(back.zbl_parameters, _rounded_tree(model.zbl_parameters))
    else:
        assert back.zbl_parameters is None
    if model.model_type == "potential_with_charges":
        assert back.sqrt_epsilon_infinity == float(round7(model.sqrt_epsilon_infinity))
    # Once rounded, the text is a fixed point.
    back.write(second)
    assert second.read_text() == first.read_text()


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_parameter_counts_follow_spec(flavour):
    model = make_flavour(flavour)
    sizes = spec_sizes(model)
    assert model.n_descriptor == sizes["dim"]
    assert model.n_descriptor_radial + model.n_descriptor_angular + (
        model.model_type == "temperature") == sizes["dim"]
    assert model.n_ann_parameters == sizes["n_ann"]
    assert model.n_descriptor_parameters == sizes["n_c"]
    # calorine's n_parameters: ANN + descriptor + q_scaler (the ZBL table is not counted).
    assert model.n_parameters == sizes["n_ann"] + sizes["n_c"] + sizes["dim"]
    assert model.q_scaler.shape == (sizes["dim"],)


# docs/network.md#parameter-counts on GPUMD's shipped files: file, T, nR nA, KR KA, l_max, N1, dim,
# N_ann, N_c, lines.
WORKED = [
    ("gpumd/nep_prediction/nep.txt", dict(version=4, types=("Te", "Pb"), n_max=(6, 6),
     basis_size=(6, 6), l_max=(4, 2, 0), n_neuron=30), 42, 2641, 392, 3081),
    ("gpumd/qnep_train/nep.txt", dict(version=4, types=("Te", "Pb"), n_max=(6, 6),
     basis_size=(6, 6), l_max=(4, 2, 0), n_neuron=30, model_type="potential_with_charges",
     charge_mode=2), 42, 2702, 392, 3142),
    ("gpumd/potentials/C_2022_NEP4.txt", dict(version=4, types=("C",), n_max=(10, 8),
     basis_size=(10, 8), l_max=(4, 2, 1), n_neuron=100), 65, 6701, 202, 6974),
    ("gpumd/potentials/Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt", dict(
        version=4, types=tuple("Ag Al Au Cr Cu Mg Mo Ni Pb Pd Pt Ta Ti V W Zr".split()),
        n_max=(4, 4), basis_size=(8, 8), l_max=(4, 2, 1), n_neuron=80, zbl=(1.0, 2.0)),
     35, 47361, 23040, 70443),
    ("gpumd/tests_pytest/models/tnep-BaZrO3-susceptibility.txt", dict(
        version=4, types=("Ba", "Zr", "O"), n_max=(4, 4), basis_size=(10, 10), l_max=(4, 2, 0),
        n_neuron=20, model_type="polarizability"), 30, 3842, 990, 4868),
    (None, dict(version=3, types=("Ba", "Zr", "O"), n_max=(4, 4), basis_size=(12, 12),
     l_max=(4, 0, 0), n_neuron=20, model_type="polarizability"), 25, 1082, 1170, 2283),
]


@pytest.mark.parametrize("relative, architecture, dim, n_ann, n_c, lines", WORKED,
                         ids=[w[0] or "nep_pol.txt (nep3_polarizability)" for w in WORKED])
def test_worked_checks_generated(relative, architecture, dim, n_ann, n_c, lines, tmp_path):
    """The worked-check table, on generated models of the same architectures (no data needed)."""
    model = random_model(**architecture)
    assert (model.n_descriptor, model.n_ann_parameters, model.n_descriptor_parameters) == (dim, n_ann, n_c)
    model.write(tmp_path / "nep.txt")
    assert len((tmp_path / "nep.txt").read_text().split("\n")) - 1 == lines


@pytest.mark.parametrize("relative, architecture, dim, n_ann, n_c, lines",
                         [w for w in WORKED if w[0]], ids=[w[0] for w in WORKED if w[0]])
def test_worked_checks_real_files(relative, architecture, dim, n_ann, n_c, lines):
    path = shared_file(relative)
    model = read_model(path)
    assert model.types == architecture["types"]
    assert (model.n_descriptor, model.n_ann_parameters, model.n_descriptor_parameters) == (dim, n_ann, n_c)
    assert len(path.read_text().split("\n")) - 1 == lines


def test_legacy_typewise_cutoff_factors_round_trip(tmp_path):
    """An 8-token cutoff line (radial, angular and ZBL cutoff factors) reads and writes back."""
    model = make_flavour("nep4")
    model.write(tmp_path / "plain.txt")
    lines = (tmp_path / "plain.txt").read_text().split("\n")
    assert lines[1] == "cutoff 6 4 40 20"
    lines[1] = "cutoff 6 4 40 20 2.5 2 0.7"
    (tmp_path / "legacy.txt").write_text("\n".join(lines))
    legacy = read_model(tmp_path / "legacy.txt")
    assert (legacy.radial_typewise_cutoff_factor, legacy.angular_typewise_cutoff_factor,
            legacy.zbl_typewise_cutoff_factor) == (2.5, 2.0, 0.7)
    legacy.write(tmp_path / "again.txt")
    assert (tmp_path / "again.txt").read_text() == "\n".join(lines)


@pytest.mark.parametrize("factors, radial, angular, zbl_factor", [
    ("0 0 0.7", None, None, 0.7),      # only the ZBL factor is on
    ("-1 -1 0.65", None, None, 0.65),
    ("1.5 1 0", 1.5, 1.0, None),       # only the radial/angular factors are on
    ("0 0 0", None, None, None),
])
def test_legacy_cutoff_factors_on_only_when_positive(tmp_path, factors, radial, angular, zbl_factor):
    """GPUMD switches each legacy factor on only when it is > 0; an off factor must not cap
    the pair cutoffs at zero or below."""
    model = make_flavour("zbl_universal")
    model.write(tmp_path / "plain.txt")
    lines = (tmp_path / "plain.txt").read_text().split("\n")
    lines[2] = f"cutoff 6 4 40 20 {factors}"
    (tmp_path / "legacy.txt").write_text("\n".join(lines))
    legacy = read_model(tmp_path / "legacy.txt")
    assert (legacy.radial_typewise_cutoff_factor, legacy.angular_typewise_cutoff_factor,
            legacy.zbl_typewise_cutoff_factor) == (radial, angular, zbl_factor)
    rc_radial, rc_angular = legacy.type_pair_cutoffs()
    if radial is None:
        assert np.all(rc_radial == 6.0) and np.all(rc_angular == 4.0)
    else:
        # rc_ab = min(rc, f (R_cov,a + R_cov,b)) with GPUMD's covalent radii (Te 1.64, Pb 1.73333).
        r_cov = np.array([1.64, 1.73333])
        np.testing.assert_allclose(rc_radial, np.minimum(6.0, 1.5 * (r_cov[:, None] + r_cov)),
                                   rtol=1e-15)
        np.testing.assert_allclose(rc_angular, np.minimum(4.0, 1.0 * (r_cov[:, None] + r_cov)),
                                   rtol=1e-15)
        assert rc_radial.max() < 6.0  # the factors really cap
    params = legacy.training_parameters
    assert params.get("use_typewise_cutoff") == (None if radial is None else [radial, angular])
    assert params.get("use_typewise_cutoff_zbl") == zbl_factor
    # Written back, the same switches come out (in the modern form where that is equivalent).
    legacy.write(tmp_path / "again.txt")
    again = read_model(tmp_path / "again.txt")
    assert (again.radial_typewise_cutoff_factor, again.angular_typewise_cutoff_factor,
            again.zbl_typewise_cutoff_factor) == (radial, angular, zbl_factor)
    assert file_values(tmp_path / "again.txt", again) == file_values(tmp_path / "legacy.txt", legacy)


def test_edited_header_numbers_are_written_exactly(tmp_path):
    """A cutoff with more than 6 significant digits survives the header (not %g-rounded)."""
    model = make_flavour("typewise_cutoffs")
    model.radial_cutoff = [6.123456789, 5.5, 5.0]
    model.write(tmp_path / "nep.txt")
    assert read_model(tmp_path / "nep.txt").radial_cutoff == [6.123456789, 5.5, 5.0]
    assert (tmp_path / "nep.txt").read_text().split("\n")[1].startswith("cutoff 6.123456789 4 5.5 3.5 5 3 ")


# ----------------------------------------------------------------------- restart
def _restart_text(n_rows: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    mu, sigma = rng.normal(size=n_rows), rng.uniform(0, 0.1, n_rows)
    return "".join(f"{m:15.7e} {s:15.7e}\n" for m, s in zip(mu, sigma))


@pytest.mark.parametrize("flavour", ["nep3", "nep4", "nep5", "charge2", "polarizability",
                                     "temperature", "zbl_flexible", "l_max_7_fields"])
def test_generated_restart_round_trip(flavour, tmp_path):
    model = make_flavour(flavour)
    sizes = spec_sizes(model)
    path = tmp_path / "nep.restart"
    path.write_text(_restart_text(sizes["n_ann"] + sizes["n_c"], seed=3))
    model.write(tmp_path / "nep.txt")
    loaded = read_model(tmp_path / "nep.txt", restart_file=path)
    table = np.loadtxt(path)
    r = loaded.restart_parameters
    assert set(r) == {"ann_mu", "ann_sigma", "radial_descriptor_mu", "radial_descriptor_sigma",
                      "angular_descriptor_mu", "angular_descriptor_sigma"}
    for column, which in ((0, "mu"), (1, "sigma")):
        assert spec_fitted_vector(loaded, r[f"ann_{which}"], r[f"radial_descriptor_{which}"],
                                  r[f"angular_descriptor_{which}"]) == table[:, column].tolist()
        # The same tree shapes as the model's parameters.
        for name in ("radial", "angular"):
            weights = getattr(loaded, f"{name}_descriptor_weights")
            assert {k: v.shape for k, v in r[f"{name}_descriptor_{which}"].items()} == \
                   {k: v.shape for k, v in weights.items()}
        for network in (k for k, v in loaded.ann_parameters.items() if isinstance(v, dict)):
            assert {k: np.shape(v) for k, v in r[f"ann_{which}"][network].items()} == \
                   {k: np.shape(v) for k, v in loaded.ann_parameters[network].items()}
    loaded.write_restart(tmp_path / "out.restart")
    assert (tmp_path / "out.restart").read_text() == path.read_text()
    # read_restart on an existing model gives the same trees.
    model.read_restart(path)
    _assert_trees_equal(model.restart_parameters, loaded.restart_parameters)
    assert "available" in [value for name, value in model._rows() if name == "restart_parameters"]


def test_restart_made_from_vectors_round_trips(tmp_path):
    model = make_flavour("charge1")
    sizes = spec_sizes(model)
    rng = np.random.default_rng(5)
    mu, sigma = round7(rng.normal(size=sizes["n_ann"] + sizes["n_c"])), round7(rng.uniform(size=sizes["n_ann"] + sizes["n_c"]))
    model.restart_parameters = restart_from_vectors(model, mu, sigma)
    model.write_restart(tmp_path / "nep.restart")
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "nep.restart"), np.column_stack([mu, sigma]))


def test_write_restart_without_restart_parameters_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no restart parameters"):
        make_flavour("nep4").write_restart(tmp_path / "nep.restart")
    assert not (tmp_path / "nep.restart").exists()


# ------------------------------------------------------------------- hand edits
def test_editing_arrays_by_hand_then_write(tmp_path):
    """The walkthrough's editing: change arrays in place, write, the file carries the change."""
    model = make_flavour("nep4")
    dim, n1 = model.n_descriptor, model.n_neuron
    model.ann_parameters["Pb"]["w0"][2, 3] = 0.125
    model.ann_parameters["b1"] = -1.5
    model.radial_descriptor_weights[("Pb", "Te")][1, 2] = 0.375
    model.q_scaler[4] = 2.25
    model.write(tmp_path / "nep.txt")
    values = file_values(tmp_path / "nep.txt", model)
    per_type = (dim + 2) * n1
    t = len(model.types)
    # Offsets of docs/network.md#parameter-order: W0_t(mu, nu) at t*(dim+2)*N1 + mu*dim + nu; b1
    # after all types; c_R(n, k, ti, tj) at N_ann + ((n (KR+1) + k) T + ti) T + tj; q_scaler after
    # all c.
    assert values[1 * per_type + 2 * dim + 3] == 0.125
    assert values[t * per_type] == -1.5
    n_ann = spec_sizes(model)["n_ann"]
    assert values[n_ann + ((1 * (model.n_basis_radial + 1) + 2) * t + 1) * t + 0] == 0.375
    assert values[n_ann + spec_sizes(model)["n_c"] + 4] == 2.25
    back = read_model(tmp_path / "nep.txt")
    assert back.ann_parameters["Pb"]["w0"][2, 3] == 0.125
    assert back.radial_descriptor_weights[("Pb", "Te")][1, 2] == 0.375


def test_replacing_w0_with_pruned_array_nep3(tmp_path):
    model = make_flavour("nep3")
    w0 = model.ann_parameters["all_species"]["w0"]
    pruned = np.where(np.abs(w0) > 0.25, w0, 0.0)
    model.ann_parameters["all_species"]["w0"] = pruned
    model.write(tmp_path / "nep.txt")
    back = read_model(tmp_path / "nep.txt")
    np.testing.assert_array_equal(back.ann_parameters["all_species"]["w0"], round7(pruned))
    assert np.count_nonzero(back.ann_parameters["all_species"]["w0"]) == np.count_nonzero(pruned)


def test_copy_is_independent():
    model = make_flavour("nep4")
    clone = model.copy()
    clone.ann_parameters["Te"]["w0"][0, 0] += 1.0
    assert clone.ann_parameters["Te"]["w0"][0, 0] != model.ann_parameters["Te"]["w0"][0, 0]


# ------------------------------------------------------------------------ nep.in
@pytest.mark.parametrize("flavour, expected", [
    ("nep4", {"version": 4, "type": [2, "Te", "Pb"], "cutoff": [6.0, 4.0], "n_max": [3, 2],
              "basis_size": [4, 3], "l_max": [4, 2, 0], "neuron": 5}),
    ("l_max_7_fields", {"l_max": [4, 2, 1, 1, 1, 1, 1]}),
    ("l_max_only_last", {"l_max": [2, 0, 0, 0, 0, 0, 1]}),
    ("l_max_1_field", {"l_max": [3, 0, 0]}),
    ("zbl_universal", {"zbl": 2.0}),
    ("zbl_typewise", {"zbl": 2.0, "use_typewise_cutoff_zbl": 0.7}),
    ("charge2", {"charge_mode": 2}),
    ("dipole", {"model_type": 1}),
    ("polarizability", {"model_type": 2}),
    ("temperature", {"model_type": 3}),
    ("typewise_cutoffs", {"cutoff": [6.0, 4.0, 5.5, 3.5, 5.0, 3.0]}),
])
def test_training_parameters(flavour, expected):
    params = make_flavour(flavour).training_parameters
    for key, value in expected.items():
        assert params[key] == value, key
    if "zbl" not in expected:
        assert "zbl" not in params
    if "charge_mode" not in expected:
        assert "charge_mode" not in params


def test_walkthrough_nepfile_merge(tmp_path):
    """read_nepfile + update(training_parameters) + write_nepfile, as the walkthrough does it."""
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "nep.in").write_text(
        "version 4   # comment\ntype 2 Te Pb\ncutoff 8 4\nneuron 30\n"
        "generation 100000\nbatch 1000\nlambda_e 1.0\nlambda_f 1.0\nlambda_v 0.1\n")
    params = read_nepfile(tmp_path / "old" / "nep.in")
    assert params == {"version": 4, "type": [2, "Te", "Pb"], "cutoff": [8, 4], "neuron": 30,
                      "generation": 100000, "batch": 1000, "lambda_e": 1.0, "lambda_f": 1.0,
                      "lambda_v": 0.1}
    model = random_model(("Te", "Pb"), cutoff=(8.0, 4.0), n_max=(4, 4), basis_size=(8, 8),
                         l_max=(4, 2, 1), n_neuron=40)
    params.update(model.training_parameters)
    write_nepfile(params, tmp_path)
    text = (tmp_path / "nep.in").read_text().split("\n")
    assert [line.split() for line in text if line] == [
        ["version", "4"], ["type", "2", "Te", "Pb"], ["cutoff", "8.0", "4.0"], ["neuron", "40"],
        ["generation", "100000"], ["batch", "1000"], ["lambda_e", "1.0"], ["lambda_f", "1.0"],
        ["lambda_v", "0.1"], ["n_max", "4", "4"], ["basis_size", "8", "8"], ["l_max", "4", "2", "1"]]
    assert read_nepfile(tmp_path / "nep.in") == params


def test_real_nepfile():
    params = read_nepfile(shared_file("gpumd/qnep_train/nep.in"))
    assert params == {"type": [2, "Te", "Pb"], "cutoff": [8, 4], "charge_mode": 2,
                      "generation": 20000}


def test_public_api_names():
    for name in ("read_model", "read_nepfile", "write_nepfile", "Model"):
        assert hasattr(gpunep, name)
    for name in ("write", "write_restart", "read_restart", "training_parameters"):
        assert hasattr(gpunep.Model, name)


@pytest.mark.parametrize("changes, n_parameters", [
    ({}, 2311),
    (dict(n_neuron=40), 2951),                                     # augment(n_neuron=40)
    (dict(model_type="potential_with_charges", charge_mode=1), 2372),  # augment(charge_head=True)
    (dict(types=("Te",)), 1081),                                   # remove_species(['Pb'])
])
def test_parameter_counts_of_the_modifying_walkthrough(changes, n_parameters):
    """The counts the modifying walkthrough prints for nep4_PbTe.txt and its variants."""
    architecture = dict(types=("Te", "Pb"), cutoff=(8.0, 4.0), n_max=(4, 4), basis_size=(8, 8),
                        l_max=(4, 2, 0), n_neuron=30)
    model = random_model(**{**architecture, **changes})
    assert model.n_parameters == n_parameters
    with_5b = random_model(**{**architecture, **changes, "l_max": (4, 2, 1)})
    assert with_5b.n_descriptor_angular - model.n_descriptor_angular == 5  # n_max_angular + 1


def test_a_byte_order_mark_opening_a_file_is_accepted(tmp_path):
    # Some Windows editors open every UTF-8 file with U+FEFF; GPUMD's own files never have one.
    from gpunep.model import make_restart
    from gpunep.model.io import restart_vectors

    model = make_restart(random_model(("Te", "Pb"), seed=4))
    model.write(tmp_path / "nep.txt")
    model.write_restart(tmp_path / "nep.restart")
    write_nepfile({"type": [2, "Te", "Pb"], "n_max": [4, 4]}, tmp_path)
    plain = read_model(tmp_path / "nep.txt", restart_file=tmp_path / "nep.restart")
    for name in ("nep.txt", "nep.restart", "nep.in"):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    marked = read_model(tmp_path / "nep.txt", restart_file=tmp_path / "nep.restart")
    np.testing.assert_array_equal(parameter_vector(marked), parameter_vector(plain))
    for a, b in zip(restart_vectors(marked), restart_vectors(plain)):
        np.testing.assert_array_equal(a, b)
    assert read_nepfile(tmp_path / "nep.in") == {"type": [2, "Te", "Pb"], "n_max": [4, 4]}
