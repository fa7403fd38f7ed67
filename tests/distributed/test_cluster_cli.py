"""`gpunep predict` and `gpunep active` on a Dask cluster write what they write in one process."""

from __future__ import annotations

import ase.io
import pytest
from ase.build import bulk
import numpy as np
from distributed import LocalCluster

from gpunep import random_model
from gpunep.cli import main


@pytest.fixture(scope="module")
def scheduler():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(2)
    data = []
    for s in range(7):
        atoms = bulk("PbTe", "rocksalt", a=6.4, cubic=True) * (1 + s % 2, 1, 1)
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        data.append(atoms)
    ase.io.write(folder / "data.xyz", data, format="extxyz")
    models = []
    for seed in (1, 2):
        models.append(str(folder / f"nep{seed}.txt"))
        random_model(("Te", "Pb"), cutoff=(5.0, 4.0), n_max=(4, 3), basis_size=(6, 5), l_max=(4, 2, 0),
                     n_neuron=10, seed=seed).write(models[-1])
    return models, str(folder / "data.xyz")


def outputs(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.out"))}


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")  # --local-cluster: the user's default port
@pytest.mark.parametrize("where", [["--stream", "--chunk-size", "3"], ["--local-cluster", "2"]])
def test_predict_on_a_cluster_writes_the_same_files(scheduler, inputs, tmp_path, where):
    (model, _), data = inputs
    cluster = ["--scheduler", scheduler] if "--local-cluster" not in where else []
    common = ["predict", model, data, "--backend", "host", "--no-plots"]
    assert main(common + ["-o", str(tmp_path / "here")]) == 0
    assert main(common + ["-o", str(tmp_path / "there")] + cluster + where) == 0
    assert outputs(tmp_path / "there") == outputs(tmp_path / "here")
    assert len(outputs(tmp_path / "here")) == 4


def test_active_on_a_cluster_selects_the_same_structures(scheduler, inputs, tmp_path):
    models, data = inputs
    common = ["active", *models, data, "--threshold", "0", "--backend", "host"]
    assert main(common + ["-o", str(tmp_path / "here.xyz")]) == 0
    assert main(common + ["-o", str(tmp_path / "there.xyz"), "--scheduler", scheduler, "--chunk-size", "2"]) == 0
    assert (tmp_path / "there.xyz").read_bytes() == (tmp_path / "here.xyz").read_bytes()
    assert len(ase.io.read(tmp_path / "here.xyz", ":")) == 7


def test_stream_needs_a_cluster(inputs, tmp_path, capsys):
    (model, _), data = inputs
    assert main(["predict", model, data, "-o", str(tmp_path), "--backend", "host", "--stream"]) == 2
    assert "--stream writes chunks as Dask workers finish them" in capsys.readouterr().err
