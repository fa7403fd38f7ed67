"""Serving i-PI: a real i-PI server runs the documented recipe; ASE's server reads a slab's stress.

Oracles: NEPCalculator called directly on the positions the client
received (the numbers the socket must deliver, in i-PI's units and back),
and i-PI's own output files of what it received. i-PI comes from the
package index (the test extra); the stress test uses ASE's socket server.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.socketio import SocketIOCalculator, actualunixsocketname
from ase.io import read, write

from gpunep import NEPCalculator, random_model
from gpunep.cli import main
from gpunep.ipi import serve

MODEL = random_model(("Si", "C"), cutoff=(5.0, 4.0), n_neuron=6, seed=41, weight_scale=0.2)
STEPS = 4

RECIPE = Path(__file__).resolve().parents[1] / "docs" / "md-drivers.md"


def recipe_input(address: str, steps: int) -> str:
    """The input.xml of docs/md-drivers.md#the-recipe, with its address and number of steps."""
    text = RECIPE.read_text()
    block = text[text.index("```xml\n") + len("```xml\n"):]
    block = block[:block.index("```")]
    assert "<address>gpunep</address>" in block and "<total_steps>1000</total_steps>" in block
    return (block.replace("<address>gpunep</address>", f"<address>{address}</address>")
            .replace("<total_steps>1000</total_steps>", f"<total_steps>{steps}</total_steps>"))


class RecordingCalculator(NEPCalculator):
    """A NEPCalculator that keeps the positions it was asked about, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[np.ndarray] = []

    def calculate(self, atoms=None, properties=None, system_changes=()):
        super().calculate(atoms, properties, system_changes)
        self.asked.append(self.atoms.positions.copy())


def silicon_carbide() -> Atoms:
    atoms = bulk("SiC", "zincblende", 4.36, cubic=True) * (2, 1, 1)
    atoms.rattle(0.05, seed=1)
    return atoms


@pytest.fixture
def socket_name():
    name = f"gpunep_test_{uuid.uuid4().hex[:12]}"
    yield name
    Path(actualunixsocketname(name)).unlink(missing_ok=True)   # a crashed server leaves it


def i_pi_command() -> list[str]:
    pytest.importorskip("ipi", reason="i-PI not installed (the test extra)")
    script = Path(sys.executable).with_name("i-pi")
    script = script if script.is_file() else Path(shutil.which("i-pi") or "")
    if not script.is_file():
        pytest.skip("the i-pi script is not installed beside this Python")
    return [sys.executable, str(script)]


def test_a_real_i_pi_server_gets_the_calculators_energies_and_forces(tmp_path, socket_name):
    command = i_pi_command()
    start = silicon_carbide()
    write(tmp_path / "init.extxyz", start, format="extxyz")
    (tmp_path / "input.xml").write_text(recipe_input(socket_name, STEPS))
    with open(tmp_path / "i-pi.log", "w") as log:
        server = subprocess.Popen(command + ["input.xml"], cwd=tmp_path, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            calc = RecordingCalculator(MODEL, backend="host", precision="float64")
            # the client starts while i-PI still imports: serve waits for its socket
            served = serve(calc, start, address=socket_name, unix=True, wait=120)
            assert server.wait(timeout=120) == 0, (tmp_path / "i-pi.log").read_text()
        finally:
            server.kill()
    assert served == STEPS + 1 == len(calc.asked)
    potentials = np.loadtxt(tmp_path / "sim.out")[:, 1]
    positions = read(tmp_path / "sim.pos_0.extxyz", ":")
    forces = read(tmp_path / "sim.for_0.extxyz", ":")
    fresh = NEPCalculator(MODEL, backend="reference")
    for step, received in enumerate(calc.asked):
        # i-PI's files in its 'ase' units (ASE's constants): extxyz keeps 8 decimals (Å, eV/Å),
        # its properties 9 digits
        assert np.abs(positions[step].positions - received).max() <= 1e-8
        atoms = start.copy()
        atoms.positions = received
        atoms.calc = fresh
        assert potentials[step] == pytest.approx(atoms.get_potential_energy(), rel=1e-8)
        assert np.abs(forces[step].get_forces() - atoms.get_forces()).max() <= 1e-8
    assert np.ptp(potentials) > 1e-6   # the atoms moved


def slab() -> Atoms:
    atoms = bulk("Si", "diamond", 5.43, cubic=True) * (1, 1, 2)
    atoms.symbols[::3] = "C"
    atoms.pbc = (True, True, False)
    atoms.center(vacuum=4.0, axis=2)
    atoms.rattle(0.05, seed=3)
    return atoms


def _ask_through_the_socket(server_calc: SocketIOCalculator, structure: Atoms, client) -> list:
    """Energy, forces and stress of ``structure`` and of a moved copy, through ``server_calc``."""
    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    answers = []
    with server_calc:
        for shift in (0.0, 0.05):
            atoms = structure.copy()
            atoms.positions[0, 0] += shift
            atoms.calc = server_calc
            answers.append((atoms, atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    thread.join(timeout=60)
    assert not thread.is_alive()
    return answers


def assert_calculators_numbers(answers, model=MODEL) -> None:
    direct = NEPCalculator(model, backend="reference")
    for atoms, energy, forces, stress in answers:
        copy = atoms.copy()
        copy.calc = direct
        # Hartree and Bohr on the wire and back: a few units in the last place
        assert energy == pytest.approx(copy.get_potential_energy(), rel=1e-14)
        assert np.allclose(forces, copy.get_forces(), rtol=1e-14, atol=1e-15)
        assert np.allclose(stress, copy.get_stress(), rtol=1e-13, atol=1e-17)


def test_ase_socket_server_gets_a_slabs_stress(socket_name):
    structure = slab()
    served = []

    def client():
        served.append(serve(NEPCalculator(MODEL, backend="reference"), structure, address=socket_name,
                            unix=True, wait=60))

    answers = _ask_through_the_socket(SocketIOCalculator(unixsocket=socket_name), structure, client)
    assert served == [2]
    assert np.abs(answers[0][3]).max() > 0   # a real stress, not the zeros of an unasked virial
    assert_calculators_numbers(answers)


def test_gpunep_ipi_serves_over_tcp(tmp_path):
    structure = slab()
    write(tmp_path / "start.extxyz", structure, format="extxyz")
    MODEL.write(str(tmp_path / "nep.txt"))
    with socket.socket() as probe:   # a free port
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    codes = []

    def client():
        codes.append(main(["ipi", str(tmp_path / "nep.txt"), "--structure", str(tmp_path / "start.extxyz"),
                           "--port", str(port), "--backend", "reference"]))

    answers = _ask_through_the_socket(SocketIOCalculator(port=port), structure, client)
    assert codes == [0]
    assert_calculators_numbers(answers, tmp_path / "nep.txt")   # nep.txt keeps 8 digits of MODEL


def test_no_server_is_a_clear_error(tmp_path, socket_name, capsys):
    MODEL.write(str(tmp_path / "nep.txt"))
    write(tmp_path / "start.extxyz", slab(), format="extxyz")
    code = main(["ipi", str(tmp_path / "nep.txt"), "--structure", str(tmp_path / "start.extxyz"),
                 "--unix", "--address", socket_name, "--wait", "0.3", "--backend", "reference"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"no i-PI server at UNIX socket /tmp/ipi_{socket_name} after 0.3 s" in err
