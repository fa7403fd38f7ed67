"""The built wheel ships the CUDA kernels, and an installed (non-editable) copy finds them.

The executors compile ``kernels/`` at run time, so a wheel without them
would install fine and fail on first use. The wheel is built from a copy of
the project (pip's standard isolated PEP 517 build, as a user's
``pip install .`` does), installed with ``pip install --target`` into a
temporary folder, and imported from there in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KERNEL_SUFFIXES = (".cu", ".cuh", ".h")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")
    for name in ("gpunep", "kernels"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp / "dist")])
    (built,) = (tmp / "dist").glob("gpunep-*.whl")
    return built


def _repo_kernel_files() -> set[str]:
    return {p.name for p in (ROOT / "kernels").iterdir() if p.suffix in KERNEL_SUFFIXES}


def test_wheel_contains_every_kernel_source(wheel):
    expected = _repo_kernel_files()
    assert "cuda_shim.h" in expected
    assert {Path(n).suffix for n in expected} == set(KERNEL_SUFFIXES)
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(n).name for n in archive.namelist() if n.startswith("gpunep/kernels/")}
        for name in expected:
            assert archive.read(f"gpunep/kernels/{name}") == (ROOT / "kernels" / name).read_bytes(), name
    assert expected <= shipped, f"missing from the wheel: {sorted(expected - shipped)}"


def test_installed_copy_finds_its_kernels(wheel, tmp_path):
    site = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site),
          str(wheel)])
    probe = (
        "import json, importlib.resources as r, gpunep\n"
        "from gpunep.executors.kernel_source import load_source\n"
        "folder = r.files('gpunep.kernels')\n"
        "print(json.dumps({'package': gpunep.__file__, 'folder': str(folder),\n"
        "                  'files': sorted(p.name for p in folder.iterdir()),\n"
        "                  'kernels': sorted(load_source().signatures)}))\n"
    )
    # PYTHONPATH puts the installed copy ahead of site-packages, where the
    # editable install's finder would otherwise map gpunep to this checkout.
    env = {**os.environ, "PYTHONPATH": str(site)}
    found = json.loads(_run([sys.executable, "-c", probe], env=env, cwd=tmp_path).stdout)
    assert Path(found["package"]).is_relative_to(site)
    assert Path(found["folder"]) == site / "gpunep" / "kernels"
    assert _repo_kernel_files() <= set(found["files"])

    from gpunep.executors.kernel_source import load_source  # the checkout's kernels, parsed here

    assert found["kernels"] == sorted(load_source().signatures)


def test_wheel_ships_py_typed(wheel):
    # PEP 561: the marker tells type checkers to read gpunep's own annotations
    with zipfile.ZipFile(wheel) as archive:
        assert "gpunep/py.typed" in archive.namelist()
