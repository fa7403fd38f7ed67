"""gpunep works without Dask installed; asking for a cluster then says what to install."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["dask"] = None          # makes "import dask..." fail as if it were not installed
sys.modules["distributed"] = None
from ase.build import bulk
import gpunep
from gpunep.cli import main

model = gpunep.random_model(("Te", "Pb"), cutoff=(5.0, 4.0), n_max=(4, 3), basis_size=(6, 5),
                            l_max=(4, 2, 0), n_neuron=10, seed=1)
atoms = bulk("PbTe", "rocksalt", a=6.4, cubic=True)
print(gpunep.predict(model, [atoms], backend="host", progress=False).n_structures)
print(gpunep.predict_committee([model, model], [atoms], backend="host", progress=False).n_structures)
model.write(sys.argv[1] + "/nep.txt")
atoms.write(sys.argv[1] + "/data.xyz")
print(main(["predict", sys.argv[1] + "/nep.txt", sys.argv[1] + "/data.xyz", "-o", sys.argv[1],
            "--backend", "host", "--local-cluster", "2"]))
"""


def test_gpunep_runs_without_dask(tmp_path):
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1", "1", "2"]
    assert "pip install 'gpunep[dask]'" in run.stderr
