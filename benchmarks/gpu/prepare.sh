#!/usr/bin/env bash
# Prepare, on a machine WITH internet access, the folder benchmarks/gpu/run.sh reads on a
# GPU machine without it: wheels for the GPU machine's Python (3.12, x86-64 manylinux)
# and the models from ../shared/models. Usage: bash benchmarks/gpu/prepare.sh [FOLDER]
# (default .gpu, which .gitignore keeps out of commits; the models are never committed).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CARRY="${1:-$ROOT/.gpu}"
SHARED="${GPUNEP_SHARED_MODELS:-$ROOT/../shared/models}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$CARRY/wheels" "$CARRY/models"

# ase (pure Python; its own needs numpy, scipy, matplotlib are on the GPU machine) and
# nep-adapters, whose prebuilt wheel holds the CUDA backend the benchmark compares with.
# --no-deps: name every missing package; one version of each.
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d "$CARRY/wheels" "ase==3.29.0" "nep-adapters==1.0.3"

# the models and reference outputs the GPU tests and the benchmark read (relative paths kept)
MODELS=(
  gpumd/potentials/C_2024_NEP4.txt
  gpumd/potentials/Si_2022_NEP4_5body.txt
  gpumd/potentials/Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt
  gpumd/nep_prediction/nep.txt gpumd/nep_prediction/train.xyz
  gpumd/nep_prediction/energy_train.out gpumd/nep_prediction/force_train.out
  gpumd/nep_prediction/virial_train.out
  gpumd/qnep_train/nep.txt
  nep89/nep89.txt pbte_nep4/nep.txt
  nep_cpu_reference/nep/nep.txt nep_cpu_reference/qnep/nep.txt
  tnep/dipole/nep.txt tnep/polarizability/nep.txt
)
for relative in "${MODELS[@]}"; do
  mkdir -p "$CARRY/models/$(dirname "$relative")"
  cp "$SHARED/$relative" "$CARRY/models/$relative"
done
du -sh "$CARRY"
echo "prepared $CARRY: $(ls "$CARRY/wheels" | tr '\n' ' ')"
