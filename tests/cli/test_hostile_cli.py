"""The command line under hostile input: clear errors naming file and frame, no traceback,
and output sets that appear whole or not at all.

``main`` runs in-process: an exception it does not turn into a message
reaches pytest and fails the test, so "exit 2 with a message" also proves
"no traceback". The full-disk case runs in a subprocess under a file-size
limit (RLIMIT_FSIZE), the way a full disk or a quota looks to a writer.
"""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from gpunep.cli import main
from gpunep.model import make_restart, random_model, read_model

MODEL = random_model(("Si", "C"), cutoff=(5.0, 4.0), n_neuron=6, seed=11)


def silicon_carbide(seed: int) -> Atoms:
    atoms = bulk("SiC", "zincblende", 4.36) * (2, 2, 1)
    atoms.rattle(0.05, seed=seed)
    return atoms


def data_set(path: Path, n_structures: int, coincident: int | None = None) -> Path:
    """An extxyz file of rattled SiC cells; structure ``coincident`` has atoms 0 and 1 on one spot."""
    structures = []
    for s in range(n_structures):
        atoms = silicon_carbide(seed=s)
        if s == coincident:
            atoms.positions[1] = atoms.positions[0]
        atoms.arrays["force"] = np.zeros((len(atoms), 3))
        atoms.info["energy"] = -1.0 * len(atoms)
        structures.append(atoms)
    write(path, structures, format="extxyz")
    return path


@pytest.fixture
def model_file(tmp_path) -> Path:
    path = tmp_path / "nep.txt"
    MODEL.write(str(path))
    return path


def _contents(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (hidden ones included) with its bytes."""
    return {p.name: p.read_bytes() if p.is_file() else b"<dir>" for p in folder.iterdir()}


@pytest.mark.parametrize("backend", ["reference", "host"])
def test_predict_names_file_and_frame_of_two_atoms_at_one_position(model_file, tmp_path, capsys,
                                                                   backend):
    data = data_set(tmp_path / "data.xyz", 3, coincident=1)
    code = main(["predict", str(model_file), str(data), "-o", str(tmp_path / "out"),
                 "--backend", backend, "--no-plots"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"gpunep predict: error: {data}, frame 1 (line " in err
    if backend == "reference":
        assert "atoms 0 and 1" in err and "same position" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_calculator_names_the_two_atoms():
    from gpunep import NEPCalculator

    atoms = silicon_carbide(seed=0)
    atoms.positions[3] = atoms.positions[2]
    atoms.calc = NEPCalculator(MODEL, backend="reference")
    with pytest.raises(ValueError, match=r"atoms 2 and 3 .* same position"):
        atoms.get_potential_energy()


# Beyond this many bytes a write fails: force_train.out of 40 structures (13.5 kB)
# cannot be written, energy_train.out (written first, 0.5 kB) and the rest can.
FILE_SIZE_LIMIT = 8_000


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def test_predict_under_a_file_size_limit_changes_no_output(model_file, tmp_path):
    out = tmp_path / "out"
    assert main(["predict", str(model_file), str(data_set(tmp_path / "small.xyz", 2)), "-o", str(out),
                 "--backend", "reference", "--no-plots"]) == 0
    before = _contents(out)
    # energy, force, virial, stress of the earlier run, and train.xyz and nep.in (a nep run's folder)
    assert len(before) == 6
    large = data_set(tmp_path / "large.xyz", 40)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "gpunep.cli", "predict", str(model_file), str(large), "-o", str(out),
         "--backend", "reference", "--no-plots"],
        preexec_fn=_limit_file_size, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "File too large" in run.stderr and f"'{out / 'force_train.out'}'" in run.stderr
    assert _contents(out) == before   # no new, truncated or leftover (staging) file


def test_a_failing_parity_plot_leaves_the_earlier_outputs(model_file, tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    out = tmp_path / "out"
    data = data_set(tmp_path / "data.xyz", 2)
    assert main(["predict", str(model_file), str(data), "-o", str(out), "--backend", "reference",
                 "--no-plots"]) == 0
    before = _contents(out)

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", disk_full)
    code = main(["predict", str(model_file), str(data), "-o", str(out), "--backend", "reference",
                 "--descriptors"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"No space left on device; no output file was changed: '{out / 'parity_energy.png'}'" in err
    assert _contents(out) == before


def test_edit_writes_model_and_restart_or_neither(tmp_path, capsys):
    original = tmp_path / "nep.txt"
    restart = tmp_path / "nep.restart"
    make_restart(MODEL).write_restart(str(restart))
    MODEL.write(str(original))
    edited = tmp_path / "edited" / "nep.txt"
    edited.parent.mkdir()
    edited.write_text("an earlier edit\n")
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the restart's folder should be\n")
    code = main(["edit", str(original), "--restart", str(restart), "--prune", "n_neuron=4",
                 "-o", str(edited), "--restart-output", str(blocked / "nep.restart")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"no output file was changed: '{blocked / 'nep.restart'}'" in err
    assert edited.read_text() == "an earlier edit\n"
    assert sorted(p.name for p in edited.parent.iterdir()) == ["nep.txt"]
    # and with a writable restart folder both appear, the restart matching the model
    assert main(["edit", str(original), "--restart", str(restart), "--prune", "n_neuron=4",
                 "-o", str(edited)]) == 0
    assert read_model(edited, restart_file=edited.with_suffix(".restart")).n_neuron == 4


@pytest.mark.parametrize("option", ["--prune", "--augment"])
def test_an_unknown_edit_setting_lists_the_valid_ones(model_file, tmp_path, capsys, option):
    code = main(["edit", str(model_file), option, "bogus=3", "-o", str(tmp_path / "e.txt")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{option}: unknown setting 'bogus'; the settings are n_neuron, l_max_4b, l_max_5b" in err
    assert not (tmp_path / "e.txt").exists()
