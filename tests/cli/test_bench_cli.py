"""`gpunep bench`: the synthetic default has NEP89's architecture; real inputs work too."""

from __future__ import annotations

from gpunep import bench
from gpunep.cli import main

from conftest import shared_file


def test_synthetic_model_has_nep89s_header(tmp_path):
    # NEP89's own file (neptrainkit 3.1.5) is the independent source of the architecture
    nep89 = shared_file("nep89/nep89.txt")
    with open(nep89) as handle:
        header = [next(handle).split() for _ in range(7)]
    path = tmp_path / "synthetic.txt"
    bench.nep89_like_model().write(str(path))
    with open(path) as handle:
        ours = [next(handle).split() for _ in range(7)]
    assert ours == header  # nep4_zbl 89 H..Pu / zbl 1 2 / cutoff 6 5 274 158 / ... / ANN 80 0


def test_default_bench_prints_the_synthetic_label_and_rates(capsys):
    assert main(["bench", "--backend", "host", "--seconds", "0.05"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SYNTHETIC model: NEP89's architecture")
    rows = [line.split() for line in out.splitlines() if line.startswith("host ")]
    atoms = [int(r[-4]) for r in rows]
    assert atoms == [4 * c**3 * n for n, c in bench.DEFAULT_CASES]  # 32, 256, 1024, 2048, 2048
    assert all(float(r[-1]) > 0 for r in rows)


def test_bench_with_a_real_model_and_structures(capsys):
    folder = shared_file("gpumd/nep_prediction/nep.txt").parent
    assert main(["bench", str(folder / "nep.txt"), str(folder / "train.xyz"), "--backend", "host",
                 "--seconds", "0.05"]) == 0
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if "given structures" in line)
    assert row[:2] == ["host", "float32"] and row[2:5] == ["25", "given", "structures"]
    assert int(row[5]) == 25 * 250
