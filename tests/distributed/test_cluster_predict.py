"""predict / predict_committee on a Dask LocalCluster equal the single-process results, bit for bit.

Two worker processes (one Dask thread each, host backend). The host
kernels give the same bits whatever the batch a structure is packed into,
so any difference here is a structure lost, duplicated or out of order, or
a chunk read from the wrong place in a file. A worker is killed mid-run
(by a structure that ends its worker process the first time a worker
evaluates it), and the client must not parse a single frame of a file.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from distributed import Client, LocalCluster

from gpunep import predict, predict_committee, random_model
from gpunep.distributed import write_on_cluster
from gpunep.io.gpumd_files import write_prediction

BACKEND = "host"


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def model():
    return random_model(("Te", "Pb"), cutoff=(5.0, 4.0), n_max=(4, 3), basis_size=(6, 5),
                        l_max=(4, 2, 0), n_neuron=10, seed=5)


def structures() -> list[Atoms]:
    """14 structures of 8 to 24 atoms; some carry reference values and a config_type."""
    rng = np.random.default_rng(1)
    out = []
    for s in range(14):
        atoms = bulk("PbTe", "rocksalt", a=6.4, cubic=True) * (1 + s % 3, 1, 1)
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        atoms.info["config_type"] = f"group{s % 4}"
        if s % 2:
            atoms.calc = SinglePointCalculator(atoms, energy=-3.0 * len(atoms),
                                               forces=rng.normal(size=(len(atoms), 3)))
        out.append(atoms)
    return out


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.xyz"
    ase.io.write(path, structures(), format="extxyz")
    return path


@pytest.fixture(scope="module")
def expected(model, data_file):
    return predict(model, data_file, backend=BACKEND, progress=False)


def assert_same_prediction(actual, expected) -> None:
    for name in ("types", "offsets", "volumes", "energy", "virial", "energies", "forces"):
        assert np.array_equal(getattr(actual, name), getattr(expected, name)), name
    for name in ("energy", "forces", "virial"):
        assert np.array_equal(getattr(actual.reference, name), getattr(expected.reference, name),
                              equal_nan=True), f"reference {name}"
    assert actual.config_types == expected.config_types
    assert (actual.backend, actual.precision) == (expected.backend, expected.precision)


@pytest.mark.parametrize("source", ["list", "path", "iterable"])
@pytest.mark.parametrize("chunk_size", [3, "auto"])
def test_cluster_equals_single_process(client, model, data_file, expected, source, chunk_size):
    given = {"list": lambda: ase.io.read(data_file, ":"), "path": lambda: data_file,
             "iterable": lambda: iter(ase.io.read(data_file, ":"))}[source]()
    result = predict(model, given, backend=BACKEND, client=client, chunk_size=chunk_size, progress=False)
    assert_same_prediction(result, expected)


def test_client_parses_no_frame_of_a_file(client, model, data_file, expected, monkeypatch):
    # The workers are other processes: only the client's ASE readers are disabled here.
    def refuse(*args, **kwargs):
        raise AssertionError("the client parsed a frame")

    monkeypatch.setattr(ase.io, "read", refuse)
    monkeypatch.setattr(ase.io, "iread", refuse)
    result = predict(model, data_file, backend=BACKEND, client=client, chunk_size=2, progress=False)
    assert_same_prediction(result, expected)


class _KillsItsWorker(Atoms):
    """A structure that ends the worker process evaluating it, once (a marker file says so)."""

    def get_positions(self, wrap: bool = False, **kwargs):
        marker = Path(self.info["kill_marker"])
        if os.getpid() != self.info["client_pid"] and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().get_positions(wrap, **kwargs)


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(client, model, data_file, expected, tmp_path):
    data = ase.io.read(data_file, ":")
    victim = _KillsItsWorker(data[7])
    victim.calc = data[7].calc
    victim.info.update(kill_marker=str(tmp_path / "killed"), client_pid=os.getpid())
    data[7] = victim
    pids_before = set(client.run(os.getpid).values())
    result = predict(model, data, backend=BACKEND, client=client, chunk_size=2, progress=False)
    assert (tmp_path / "killed").exists()
    assert set(client.run(os.getpid).values()) != pids_before  # a worker really died and was replaced
    assert_same_prediction(result, expected)


def test_streamed_files_equal_the_whole_result_written(client, model, data_file, expected, tmp_path):
    streamed, n_structures, n_atoms = write_on_cluster(client, model, data_file, tmp_path / "streamed",
                                                       backend=BACKEND, chunk_size=4, progress=False)
    whole = write_prediction(expected, tmp_path / "whole")
    assert [p.name for p in streamed] == [p.name for p in whole]
    for a, b in zip(streamed, whole):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert (n_structures, n_atoms) == (expected.n_structures, expected.n_atoms)
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == sorted(p.name for p in whole)


def test_committee_on_cluster_equals_single_process(client, model, data_file):
    members = [model, random_model(("Te", "Pb"), cutoff=(5.0, 4.0), n_max=(4, 3), basis_size=(6, 5),
                                   l_max=(4, 2, 0), n_neuron=10, seed=6)]
    local = predict_committee(members, data_file, backend=BACKEND, progress=False)
    spread = predict_committee(members, data_file, backend=BACKEND, client=client, chunk_size=3, progress=False)
    for name in ("numbers", "positions", "cells", "pbc", "offsets", "indices", "energy", "energy_std",
                 "force_std", "max_force_std"):
        assert np.array_equal(getattr(spread, name), getattr(local, name)), name
    assert spread.config_types == local.config_types


def test_an_error_in_a_chunk_names_the_structure(client, model, data_file):
    data = ase.io.read(data_file, ":")
    data[5].numbers[2] = 14  # Si: not a species of the model
    with pytest.raises(ValueError, match=r"structure 5: atom 2 is Si"):
        predict(model, data, backend=BACKEND, client=client, chunk_size=2, progress=False)


def test_progress_counts_structures_across_workers(client, model, data_file, capsys):
    data = ase.io.read(data_file, ":")
    predict(model, data, backend=BACKEND, client=client, chunk_size=3, progress=True)
    assert f"{len(data)}/{len(data)}" in capsys.readouterr().err
