"""Model editing: counts, shapes, sigma rules, reproducibility, files, bad input.

The walkthrough numbers ("modifying models", calorine's documentation of the
same operations) are checked on ../shared/models/pbte_nep4/nep.txt; every
rule is also checked on random models of each flavour, so a user's clone
tests the logic without the shared data.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from editing_cases import FLAVOURS, TYPES, assert_round_trip, flavour_model, pbte_model

from gpunep.model import (
    ELEMENTS,
    make_restart,
    neuron_importance,
    random_model,
    read_nepfile,
    write_nepfile,
)
from gpunep.model.io import parameter_vector, restart_vectors

FACTOR, FLOOR, NEW = 0.1, 1e-3, 0.1  # the documented defaults of the sigma rules


def expected_sigma(mu):
    """The re-opened sigma, written out: max(floor, factor |mu|) per element."""
    return np.array([max(FLOOR, FACTOR * abs(m)) for m in np.ravel(mu)]).reshape(np.shape(mu))


# ----------------------------------------------------------- the walkthrough
class TestWalkthrough:
    """Each number printed in the walkthrough, on the same model architecture."""

    def test_counts(self):
        model = pbte_model()
        assert (model.types, model.n_neuron, model.n_parameters) == (("Te", "Pb"), 30, 2311)
        assert (model.n_descriptor_parameters, model.n_ann_parameters) == (360, 1921)
        before = parameter_vector(model).copy()
        assert model.augment(n_neuron=40).n_parameters == 2951
        five = model.augment(l_max_5b=1)
        assert (five.l_max_5b, five.n_descriptor_angular) == (1, 30)
        charge = model.augment(charge_head=True)
        assert (charge.model_type, charge.n_parameters) == ("potential_with_charges", 2372)
        te_only = model.remove_species(["Pb"])
        assert (te_only.types, te_only.n_parameters) == (("Te",), 1081)
        kept = model.keep_species(["Te"])
        assert (kept.types, kept.n_parameters) == (("Te",), 1081)
        assert model.prune(n_neuron=20).n_parameters == 1671
        fewer = model.prune(l_max_4b=0)
        assert (fewer.l_max_4b, fewer.n_descriptor_angular) == (0, 20)
        final = model.augment(n_neuron=40).add_species(["Bi"])
        assert (final.types, final.n_neuron, final.n_parameters) == (("Te", "Pb", "Bi"), 40, 4681)
        compact = model.prune(n_neuron=20, l_max_4b=0).add_species(["Bi"])
        assert (compact.types, compact.n_neuron, compact.n_parameters) == (("Te", "Pb", "Bi"), 20, 2456)
        assert model.remove_species(["Pb"]).add_species(["Bi"]).types == ("Te", "Bi")
        # "the source model is never modified"
        assert (model.n_neuron, model.types, model.model_type) == (30, ("Te", "Pb"), "potential")
        np.testing.assert_array_equal(parameter_vector(model), before)

    def test_add_species(self):
        model = pbte_model().make_restart()
        extended = model.add_species(["Bi"])
        assert extended.types == ("Te", "Pb", "Bi")
        assert extended.n_parameters == 3721
        bi_w0 = extended.ann_parameters["Bi"]["w0"]
        assert bi_w0.shape == (30, 30)
        assert -1.0 <= bi_w0.min() < -0.9 and 0.9 < bi_w0.max() <= 1.0  # U(-1, 1), 900 draws
        new_pairs = {(a, b) for a in extended.types for b in extended.types if "Bi" in (a, b)}
        assert new_pairs == {("Te", "Bi"), ("Pb", "Bi"), ("Bi", "Te"), ("Bi", "Pb"), ("Bi", "Bi")}
        for pair in new_pairs:
            assert extended.radial_descriptor_weights[pair].shape == (5, 9)
            assert extended.angular_descriptor_weights[pair].shape == (5, 9)
        sigma = extended.restart_parameters["ann_sigma"]
        np.testing.assert_array_equal(sigma["Bi"]["w0"], np.full((30, 30), NEW))
        te_mu = model.restart_parameters["ann_mu"]["Te"]["w0"]
        np.testing.assert_array_equal(extended.restart_parameters["ann_mu"]["Te"]["w0"], te_mu)
        np.testing.assert_array_equal(sigma["Te"]["w0"], expected_sigma(te_mu))

    def test_training_parameters_and_nep_in(self, tmp_path):
        aug = pbte_model().augment(n_neuron=40, l_max_5b=1)
        assert aug.training_parameters == {
            "version": 4, "type": [2, "Te", "Pb"], "cutoff": [8.0, 4.0], "n_max": [4, 4],
            "basis_size": [8, 8], "l_max": [4, 2, 1], "neuron": 40}
        old = tmp_path / "old.in"
        old.write_text("version 4\ntype 2 Te Pb\ncutoff 8 4\nn_max 4 4\nbasis_size 8 8\n"
                       "l_max 4 2 0\nneuron 30\ngeneration 100000\nbatch 1000\n"
                       "lambda_e 1.0\nlambda_f 1.0\nlambda_v 0.1\n")
        params = read_nepfile(old)
        params.update(aug.training_parameters)
        write_nepfile(params, tmp_path)
        # The nep.in the walkthrough prints at step [9].
        assert (tmp_path / "nep.in").read_text() == textwrap.dedent("""\
            version  4
            type  2 Te Pb
            cutoff  8.0 4.0
            n_max  4 4
            basis_size  8 8
            l_max  4 2 1
            neuron  40
            generation  100000
            batch  1000
            lambda_e  1.0
            lambda_f  1.0
            lambda_v  0.1
            """)

    def test_edited_models_write_and_read_back(self, tmp_path):
        model = pbte_model().make_restart()
        edits = {
            "augment": model.augment(n_neuron=40, l_max_5b=1),
            "charge": model.augment(charge_head=True),
            "remove": model.remove_species(["Pb"]),
            "add": model.add_species(["Bi"], seed=5),
            "prune": model.prune(n_neuron=20, l_max_4b=0),
            "chain": model.augment(n_neuron=40).add_species(["Bi"], seed=1),
        }
        for name, edited in edits.items():
            back = assert_round_trip(edited, tmp_path / name)
            assert back.restart_parameters is not None


# --------------------------------------------------------------- augment
class TestAugment:
    def test_neurons(self):
        model = make_restart(flavour_model("nep4"))
        grown = model.augment(n_neuron=12)
        for s in TYPES:
            old, new = model.ann_parameters[s], grown.ann_parameters[s]
            assert new["w0"].shape == (12, model.n_descriptor)
            np.testing.assert_array_equal(new["w0"][:8], old["w0"])
            np.testing.assert_array_equal(new["b0"][:8], old["b0"])
            np.testing.assert_array_equal(new["w1"][:, :8], old["w1"])
            assert not new["w0"][8:].any() and not new["b0"][8:].any() and not new["w1"][:, 8:].any()
            mu = grown.restart_parameters["ann_mu"][s]
            sigma = grown.restart_parameters["ann_sigma"][s]
            assert not mu["w0"][8:].any()
            np.testing.assert_array_equal(sigma["w0"][8:], NEW)
            np.testing.assert_array_equal(sigma["w0"][:8], expected_sigma(mu["w0"][:8]))
            np.testing.assert_array_equal(sigma["w1"][:, 8:], NEW)
        # descriptor weights: mu kept, sigma re-opened
        pair = ("Te", "Pb")
        mu = grown.restart_parameters["radial_descriptor_mu"][pair]
        np.testing.assert_array_equal(mu, model.restart_parameters["radial_descriptor_mu"][pair])
        np.testing.assert_array_equal(grown.restart_parameters["radial_descriptor_sigma"][pair],
                                      expected_sigma(mu))
        assert grown.restart_parameters["ann_sigma"]["b1"] == max(FLOOR, FACTOR * abs(model.ann_parameters["b1"]))
        np.testing.assert_array_equal(grown.q_scaler, model.q_scaler)

    def test_descriptor_blocks_go_to_canonical_positions(self):
        # l_max 4 2 0: radial (5), l=1..4 (4 x 5), 222 (5) = 30 columns.
        model = flavour_model("nep4")
        grown = model.augment(l_max_5b=1, has_q_123=True)
        assert (grown.l_max_5b, grown.has_q_123, grown.n_descriptor) == (1, 1, 40)
        # docs/descriptors.md#descriptor-vector: ... 222 at 25..29, then 1111 at 30..34, 112 (off),
        # 123 at 35..39.
        new_columns = list(range(30, 40))
        for s in TYPES:
            w0 = grown.ann_parameters[s]["w0"]
            np.testing.assert_array_equal(w0[:, :30], model.ann_parameters[s]["w0"])
            assert not w0[:, new_columns].any()
        np.testing.assert_array_equal(grown.q_scaler[:30], model.q_scaler)
        np.testing.assert_array_equal(grown.q_scaler[30:], 1.0)
        # A block between existing ones: 112 goes after 1111 and before 123.
        more = grown.augment(has_q_112=1)
        w0_old, w0_new = grown.ann_parameters["Te"]["w0"], more.ann_parameters["Te"]["w0"]
        np.testing.assert_array_equal(w0_new[:, :35], w0_old[:, :35])
        assert not w0_new[:, 35:40].any()
        np.testing.assert_array_equal(w0_new[:, 40:45], w0_old[:, 35:40])
        np.testing.assert_array_equal(more.q_scaler[35:40], 1.0)
        np.testing.assert_array_equal(more.q_scaler[40:45], grown.q_scaler[35:40])

    def test_temperature_column_stays_last(self):
        model = flavour_model("temperature")
        grown = model.augment(l_max_5b=1)
        assert grown.n_descriptor == model.n_descriptor + 5
        w0_old, w0_new = model.ann_parameters["Pb"]["w0"], grown.ann_parameters["Pb"]["w0"]
        np.testing.assert_array_equal(w0_new[:, -1], w0_old[:, -1])
        np.testing.assert_array_equal(w0_new[:, :-6], w0_old[:, :-1])
        assert not w0_new[:, -6:-1].any()
        assert grown.q_scaler[-1] == model.q_scaler[-1]

    def test_polarizability_edits_both_networks(self):
        model = flavour_model("polarizability")
        grown = model.augment(n_neuron=10, l_max_5b=1)
        for key in ("w0", "w0_polar"):
            w0 = grown.ann_parameters["Se"][key]
            assert w0.shape == (10, model.n_descriptor + 5)
            np.testing.assert_array_equal(w0[:8, :model.n_descriptor], model.ann_parameters["Se"][key])
        assert grown.ann_parameters["b1_polar"] == model.ann_parameters["b1_polar"]

    def test_nep3_and_nep5(self):
        nep3 = flavour_model("nep3").augment(n_neuron=9)
        assert list(nep3.ann_parameters) == ["all_species", "b1"]
        assert nep3.ann_parameters["all_species"]["w0"].shape == (9, nep3.n_descriptor)
        nep5 = make_restart(flavour_model("nep5"))
        grown = nep5.augment(n_neuron=9)
        assert grown.ann_parameters["Te"]["b1_species"] == nep5.ann_parameters["Te"]["b1_species"]
        mu = nep5.restart_parameters["ann_mu"]["Te"]["b1_species"]
        assert grown.restart_parameters["ann_sigma"]["Te"]["b1_species"] == max(FLOOR, FACTOR * abs(mu))

    def test_charge_head(self):
        model = make_restart(flavour_model("nep4"))
        charged = model.augment(charge_head=True, n_neuron=10, sigma_new=0.05)
        assert (charged.model_type, charged.charge_mode, charged.sqrt_epsilon_infinity) == (
            "potential_with_charges", 2, 1.0)
        assert model.augment(charge_head=True, charge_mode=1).charge_mode == 1
        for s in TYPES:
            np.testing.assert_array_equal(charged.ann_parameters[s]["w1_charge"], np.zeros((1, 10)))
            np.testing.assert_array_equal(charged.restart_parameters["ann_sigma"][s]["w1_charge"], 0.05)
        assert charged.restart_parameters["ann_mu"]["sqrt_epsilon_infinity"] == 1.0
        assert charged.restart_parameters["ann_sigma"]["sqrt_epsilon_infinity"] == 0.05
        # growing a charge model grows its charge head too
        again = charged.augment(n_neuron=11)
        np.testing.assert_array_equal(again.ann_parameters["Te"]["w1_charge"], np.zeros((1, 11)))

    def test_header_only_change_and_no_op(self):
        model = flavour_model("nep4")
        same = model.augment(l_max_4b=3)
        assert same.l_max_4b == 3 and same.n_descriptor == model.n_descriptor
        np.testing.assert_array_equal(parameter_vector(model.augment()), parameter_vector(model))


# ------------------------------------------------------------------ prune
class TestPrune:
    def test_neurons_by_importance(self):
        model = make_restart(flavour_model("charge1", n_neuron=10))
        # importance[n] = mean over species of ||w0_s[n, :]|| (|w1_s[n]| + |w1_charge_s[n]|)
        importance = []
        for n in range(10):
            per_species = [np.sqrt(np.sum(model.ann_parameters[s]["w0"][n] ** 2))
                           * (abs(model.ann_parameters[s]["w1"][0, n])
                              + abs(model.ann_parameters[s]["w1_charge"][0, n])) for s in TYPES]
            importance.append(sum(per_species) / len(TYPES))
        np.testing.assert_allclose(neuron_importance(model), importance, rtol=1e-14)  # round-off only
        keep = sorted(np.argsort(importance)[::-1][:6])
        pruned = model.prune(n_neuron=6)
        for s in TYPES:
            for key in ("w0", "b0"):
                np.testing.assert_array_equal(pruned.ann_parameters[s][key], model.ann_parameters[s][key][keep])
            for key in ("w1", "w1_charge"):
                np.testing.assert_array_equal(pruned.ann_parameters[s][key],
                                              model.ann_parameters[s][key][:, keep])
            mu = pruned.restart_parameters["ann_mu"][s]["w0"]
            np.testing.assert_array_equal(mu, model.restart_parameters["ann_mu"][s]["w0"][keep])
            np.testing.assert_array_equal(pruned.restart_parameters["ann_sigma"][s]["w0"], expected_sigma(mu))

    def test_polarizability_ranks_each_network(self):
        model = flavour_model("polarizability", n_neuron=10)
        pruned = model.prune(n_neuron=4)
        for key, second in (("w0", False), ("w0_polar", True)):
            keep = sorted(np.argsort(neuron_importance(model, second_network=second))[::-1][:4])
            np.testing.assert_array_equal(pruned.ann_parameters["Te"][key],
                                          model.ann_parameters["Te"][key][keep])
        first = np.argsort(neuron_importance(model))[::-1][:4]
        second = np.argsort(neuron_importance(model, second_network=True))[::-1][:4]
        assert set(first) != set(second)  # this seed ranks them differently, so both paths are tested

    def test_descriptor_blocks(self):
        model = flavour_model("nep4", l_max=(4, 2, 1, 1))
        pruned = model.prune(l_max_5b=0)
        # radial 5 + l1..l4 20 + 222 5 (kept, 25..29) + 1111 (30..34, dropped) + 112 (35..39, kept)
        keep = list(range(30)) + list(range(35, 40))
        np.testing.assert_array_equal(pruned.ann_parameters["Pb"]["w0"], model.ann_parameters["Pb"]["w0"][:, keep])
        np.testing.assert_array_equal(pruned.q_scaler, model.q_scaler[keep])
        header_only = model.prune(l_max_4b=1)
        assert header_only.l_max_4b == 1 and header_only.n_descriptor == model.n_descriptor

    def test_charge_head_removed(self):
        model = make_restart(flavour_model("charge1"))
        plain = model.prune(charge_head=True)
        assert (plain.model_type, plain.charge_mode, plain.sqrt_epsilon_infinity) == ("potential", None, None)
        assert "w1_charge" not in plain.ann_parameters["Te"]
        assert "sqrt_epsilon_infinity" not in plain.restart_parameters["ann_mu"]
        np.testing.assert_array_equal(plain.ann_parameters["Te"]["w1"], model.ann_parameters["Te"]["w1"])
        assert plain.n_parameters == model.n_parameters - 3 * 8 - 1

    def test_charge_head_on_then_off_restores_the_model(self):
        # The reference does not evaluate charge models, so this is the charge head's check:
        # the energy network of the promoted model is the original one, untouched.
        model = make_restart(flavour_model("nep4"))
        back = model.augment(charge_head=True).prune(charge_head=True)
        np.testing.assert_array_equal(parameter_vector(back), parameter_vector(model))
        np.testing.assert_array_equal(restart_vectors(back)[0], restart_vectors(model)[0])

    def test_augment_then_prune_restores_the_model(self):
        # The zero neurons of an augment have zero importance, so pruning back removes exactly them.
        model = flavour_model("nep5")
        back = model.augment(n_neuron=12, has_q_112=1).prune(n_neuron=8, has_q_112=0)
        np.testing.assert_array_equal(parameter_vector(back), parameter_vector(model))


# ---------------------------------------------------------------- species
class TestSpecies:
    def test_remove_and_keep(self):
        model = make_restart(flavour_model("nep4"))
        kept = model.keep_species(["Se", "Te"])
        assert kept.types == ("Te", "Se")  # the original order
        removed = model.remove_species(["Pb"])
        np.testing.assert_array_equal(parameter_vector(kept), parameter_vector(removed))
        assert set(kept.ann_parameters) == {"Te", "Se", "b1"}
        assert set(kept.radial_descriptor_weights) == {("Te", "Te"), ("Te", "Se"), ("Se", "Te"), ("Se", "Se")}
        for pair in kept.radial_descriptor_weights:
            np.testing.assert_array_equal(kept.angular_descriptor_weights[pair],
                                          model.angular_descriptor_weights[pair])
        mu = kept.restart_parameters["angular_descriptor_mu"][("Se", "Te")]
        np.testing.assert_array_equal(mu, model.restart_parameters["angular_descriptor_mu"][("Se", "Te")])
        np.testing.assert_array_equal(kept.restart_parameters["angular_descriptor_sigma"][("Se", "Te")],
                                      expected_sigma(mu))

    def test_nep3_keeps_its_shared_network(self):
        model = flavour_model("nep3")
        one = model.keep_species(["Pb"])
        np.testing.assert_array_equal(one.ann_parameters["all_species"]["w0"],
                                      model.ann_parameters["all_species"]["w0"])
        two = one.add_species(["Bi"], seed=0)
        assert two.n_ann_parameters == one.n_ann_parameters
        assert two.n_descriptor_parameters == 4 * one.n_descriptor_parameters

    def test_per_type_cutoffs_follow_species(self):
        model = flavour_model("nep4_typewise_cutoff")
        assert model.keep_species(["Te", "Se"]).radial_cutoff == [6.0, 5.0]
        single = model.keep_species(["Pb"])
        assert (single.radial_cutoff, single.angular_cutoff) == (5.5, 3.5)  # uniform form for one species
        swapped = model.reorder(["Se", "Te", "Pb"])
        assert (swapped.radial_cutoff, swapped.angular_cutoff) == ([5.0, 6.0, 5.5], [3.8, 4.0, 3.5])
        grown = model.add_species(["Bi"], cutoffs={"Bi": (5.2, 3.9)})
        assert (grown.radial_cutoff[-1], grown.angular_cutoff[-1]) == (5.2, 3.9)

    def test_flexible_zbl_rows_follow_species(self):
        model = flavour_model("nep4_zbl_flexible")
        swapped = model.reorder(["Se", "Te", "Pb"])
        assert list(swapped.zbl_parameters) == [("Se", "Se"), ("Se", "Te"), ("Se", "Pb"), ("Te", "Te"),
                                                ("Te", "Pb"), ("Pb", "Pb")]
        np.testing.assert_array_equal(swapped.zbl_parameters[("Se", "Te")], model.zbl_parameters[("Te", "Se")])
        rows = {pair: np.full(10, float(i)) for i, pair in enumerate(
            [("Bi", "Te"), ("Pb", "Bi"), ("Bi", "Se"), ("Bi", "Bi")])}
        grown = model.add_species(["Bi"], zbl_parameters=rows)
        np.testing.assert_array_equal(grown.zbl_parameters[("Te", "Bi")], rows[("Bi", "Te")])
        np.testing.assert_array_equal(grown.zbl_parameters[("Bi", "Bi")], rows[("Bi", "Bi")])
        np.testing.assert_array_equal(grown.zbl_parameters[("Te", "Pb")], model.zbl_parameters[("Te", "Pb")])
        assert len(grown.zbl_parameters) == 10

    def test_reorder_keeps_restart(self):
        model = make_restart(flavour_model("nep5"), sigma=0.02)
        swapped = model.reorder(["Pb", "Se", "Te"])
        assert swapped.types == ("Pb", "Se", "Te")
        np.testing.assert_array_equal(restart_vectors(swapped)[1], 0.02)
        np.testing.assert_array_equal(swapped.ann_parameters["Te"]["w0"], model.ann_parameters["Te"]["w0"])
        back = swapped.reorder(list(TYPES))
        np.testing.assert_array_equal(parameter_vector(back), parameter_vector(model))

    def test_add_species_parts(self):
        model = make_restart(flavour_model("charge1"))
        grown = model.add_species(["Bi", "Sn"], seed=7, sigma_new=0.2)
        assert grown.types == (*TYPES, "Bi", "Sn")
        for s in ("Bi", "Sn"):
            net, mu = grown.ann_parameters[s], grown.restart_parameters["ann_mu"][s]
            assert set(net) == {"w0", "b0", "w1", "w1_charge"}
            for key, value in net.items():
                assert np.all(np.abs(value) <= 1.0) and np.std(value) > 0.3  # U(-1, 1): std 0.577
                np.testing.assert_array_equal(mu[key], value)  # values = the new mu
                np.testing.assert_array_equal(grown.restart_parameters["ann_sigma"][s][key], 0.2)
        for pair in (("Te", "Bi"), ("Sn", "Pb"), ("Bi", "Sn")):
            np.testing.assert_array_equal(grown.restart_parameters["radial_descriptor_mu"][pair],
                                          grown.radial_descriptor_weights[pair])
            np.testing.assert_array_equal(grown.restart_parameters["radial_descriptor_sigma"][pair], 0.2)
        # old parts keep their values and get the re-opened sigma
        np.testing.assert_array_equal(grown.ann_parameters["Pb"]["w0"], model.ann_parameters["Pb"]["w0"])
        mu = grown.restart_parameters["ann_mu"]["Pb"]["w1"]
        np.testing.assert_array_equal(grown.restart_parameters["ann_sigma"]["Pb"]["w1"], expected_sigma(mu))
        assert grown.sqrt_epsilon_infinity == model.sqrt_epsilon_infinity

    def test_add_species_nep5_draws_the_species_bias(self):
        grown = flavour_model("nep5").add_species(["Bi"], seed=2)
        bias = grown.ann_parameters["Bi"]["b1_species"]
        assert isinstance(bias, float) and -1.0 <= bias <= 1.0

    def test_seed_reproducible_across_processes(self):
        script = textwrap.dedent("""
            import hashlib
            from gpunep.model import random_model
            from gpunep.model.io import parameter_vector
            model = random_model(('Te', 'Pb'), seed=4).add_species(['Se', 'Bi'], seed=123)
            print(hashlib.sha256(parameter_vector(model).tobytes()).hexdigest())
        """)
        digests = set()
        for hash_seed in ("1", "2"):  # different str hashing: no order may come from a set
            run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                 env={**os.environ, "PYTHONHASHSEED": hash_seed})
            digests.add(run.stdout.strip())
        assert len(digests) == 1
        here = random_model(("Te", "Pb"), seed=4).add_species(["Se", "Bi"], seed=123)
        assert hashlib.sha256(parameter_vector(here).tobytes()).hexdigest() in digests
        other = random_model(("Te", "Pb"), seed=4).add_species(["Se", "Bi"], seed=124)
        assert not np.array_equal(parameter_vector(other), parameter_vector(here))


# ----------------------------------------------------------- make_restart
class TestMakeRestart:
    def test_magnitude_and_constant(self):
        model = flavour_model("charge1")
        assert model.restart_parameters is None
        made = make_restart(model)
        assert model.restart_parameters is None  # the source is untouched
        mu, sigma = restart_vectors(made)
        n_fitted = model.n_ann_parameters + model.n_descriptor_parameters
        np.testing.assert_array_equal(mu, parameter_vector(model)[:n_fitted])
        np.testing.assert_array_equal(sigma, expected_sigma(mu))
        assert made.restart_parameters["ann_mu"]["sqrt_epsilon_infinity"] == model.sqrt_epsilon_infinity
        custom = model.make_restart(sigma_factor=0.5, sigma_floor=0.01)
        np.testing.assert_array_equal(restart_vectors(custom)[1], np.maximum(0.01, 0.5 * np.abs(mu)))
        np.testing.assert_array_equal(restart_vectors(model.make_restart(sigma=0.03))[1], 0.03)

    @pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan"), "large"])
    def test_bad_sigma(self, sigma):
        with pytest.raises(ValueError, match="sigma"):
            make_restart(flavour_model("nep4"), sigma=sigma)


# ------------------------------------------------- every flavour, to files
def _edits(name: str):
    model = flavour_model(name)
    extra = {}
    if name == "nep4_typewise_cutoff":
        extra["cutoffs"] = {"Bi": (5.0, 4.0)}
    if name == "nep4_zbl_flexible":
        extra["zbl_parameters"] = {pair: [0.9, 1.9, 0.2, 3.0, 0.3, 1.0, 0.3, 0.5, 0.2, 0.2]
                                   for pair in (("Te", "Bi"), ("Pb", "Bi"), ("Se", "Bi"), ("Bi", "Bi"))}
    edits = {
        "augment": lambda m: m.augment(n_neuron=11, l_max_5b=1, has_q_123=1),
        "prune": lambda m: m.prune(n_neuron=5, l_max_4b=0),
        "remove": lambda m: m.remove_species(["Pb"]),
        "keep": lambda m: m.keep_species(["Se"]),
        "add": lambda m: m.add_species(["Bi"], seed=3, **extra),
        "reorder": lambda m: m.reorder(["Se", "Pb", "Te"]),
    }
    if name == "nep4":
        edits["charge_head"] = lambda m: m.augment(charge_head=True)
    if name == "charge1":
        edits["no_charge_head"] = lambda m: m.prune(charge_head=True)
    return model, edits


@pytest.mark.parametrize("name", list(FLAVOURS))
def test_every_flavour_edits_write_and_read_back(name, tmp_path):
    model, edits = _edits(name)
    with_restart = make_restart(model)
    for label, edit in edits.items():
        plain = edit(model)
        assert plain.restart_parameters is None
        assert_round_trip(plain, tmp_path / label / "plain")
        edited = edit(with_restart)
        assert_round_trip(edited, tmp_path / label / "restart")
        np.testing.assert_array_equal(parameter_vector(edited), parameter_vector(plain))
    np.testing.assert_array_equal(parameter_vector(model), parameter_vector(flavour_model(name)))


# -------------------------------------------------------------- bad input
def _raises(call, *fragments):
    with pytest.raises(ValueError) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


class TestBadInput:
    def test_unknown_species(self):
        model = flavour_model("nep4")
        _raises(lambda: model.remove_species(["Bi"]), "'Bi' is not a species", "Te, Pb, Se")
        _raises(lambda: model.keep_species(["Te", "Bi"]), "'Bi' is not a species")
        _raises(lambda: model.reorder(["Te", "Pb", "Bi"]), "permutation")
        _raises(lambda: model.remove_species(list(TYPES)), "every species", "keep_species")
        _raises(lambda: model.remove_species("Pb"), "list", "['Pb']")

    def test_species_already_present_and_invalid_symbols(self):
        model = flavour_model("nep4")
        _raises(lambda: model.add_species(["Pb"]), "'Pb' is already a species")
        _raises(lambda: model.add_species(["Xx"]), "'Xx' is not an element symbol", "H .. Pu")
        _raises(lambda: model.add_species(["bi"]), "case-sensitive")
        _raises(lambda: model.add_species(["Bi", "Bi"]), "more than once")
        _raises(lambda: model.add_species([]), "at least one")
        _raises(lambda: model.add_species(["Bi"], seed=1.5), "seed")

    def test_more_species_than_the_element_table(self):
        full = random_model(ELEMENTS, n_max=(1, 1), basis_size=(1, 1), l_max=(1,), n_neuron=1)
        _raises(lambda: full.remove_species(["Pu"]).add_species(["Pu", "Bi"]), "95 species", "94")

    def test_neurons_in_the_wrong_method(self):
        model = flavour_model("nep4")
        _raises(lambda: model.augment(n_neuron=4), "use prune(n_neuron=4)")
        _raises(lambda: model.prune(n_neuron=12), "use augment(n_neuron=12)")
        _raises(lambda: model.augment(n_neuron=121), "120")
        _raises(lambda: model.prune(n_neuron=0), "positive integer")

    def test_terms_in_the_wrong_method(self):
        model = flavour_model("nep4")
        _raises(lambda: model.augment(l_max_4b=0), "turn l_max_4b off", "prune(l_max_4b=0)")
        _raises(lambda: model.prune(l_max_5b=1), "turn l_max_5b on", "augment(l_max_5b=1)")
        _raises(lambda: model.prune(has_q_112=True), "augment(has_q_112=1)")
        _raises(lambda: model.augment(has_q_112=-1), "non-negative")
        small = flavour_model("nep4", l_max=(2, 0, 0))
        _raises(lambda: small.augment(has_q_134=1), "l_max_3b >= 4")

    def test_descriptor_limits(self):
        model = flavour_model("nep4", n_max=(8, 8), l_max=(8, 0, 0))
        model.augment(l_max_4b=2, l_max_5b=1)  # 90 angular components: GPUMD's limit, allowed
        _raises(lambda: model.augment(l_max_4b=2, l_max_5b=1, has_q_112=1), "at most 103 (90 angular)")

    def test_charge_head(self):
        for name in ("dipole", "polarizability", "temperature"):
            _raises(lambda: flavour_model(name).augment(charge_head=True), "only be added to a potential")
        _raises(lambda: flavour_model("nep3").augment(charge_head=True), "only for NEP4")
        _raises(lambda: flavour_model("nep5").augment(charge_head=True), "only for NEP4")
        _raises(lambda: flavour_model("nep4_typewise_cutoff").augment(charge_head=True), "per-type cutoffs")
        _raises(lambda: flavour_model("charge1").augment(charge_head=True), "already has a charge head")
        _raises(lambda: flavour_model("nep4").augment(charge_head=True, charge_mode=3), "charge_mode")
        _raises(lambda: flavour_model("nep4").prune(charge_head=True), "without one")

    def test_missing_cutoffs_and_zbl_rows(self):
        typewise = flavour_model("nep4_typewise_cutoff")
        _raises(lambda: typewise.add_species(["Bi"]), "cutoffs={'Bi': (radial, angular)}")
        _raises(lambda: typewise.add_species(["Bi"], cutoffs={"Bi": (3.0, 4.0)}), "0 < angular <= radial")
        _raises(lambda: flavour_model("nep4").add_species(["Bi"], cutoffs={"Bi": (5.0, 4.0)}), "per-type cutoffs")
        flexible = flavour_model("nep4_zbl_flexible")
        _raises(lambda: flexible.add_species(["Bi"]), "flexible ZBL", "('Te', 'Bi')")
        _raises(lambda: flexible.add_species(["Bi"], zbl_parameters={("Te", "Pb"): np.ones(10)}),
                "not a new type pair")
        _raises(lambda: flavour_model("nep4").add_species(["Bi"], zbl_parameters={}), "flexible ZBL")

    def test_sigma_settings(self):
        model = make_restart(flavour_model("nep4"))
        _raises(lambda: model.augment(n_neuron=9, sigma_new=-0.1), "sigma_new")
        _raises(lambda: model.prune(n_neuron=5, sigma_floor=float("nan")), "sigma_floor")
