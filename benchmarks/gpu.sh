#!/usr/bin/env bash
# One GPU device call (fits in 10 minutes): environment, ours vs reference at the paper's Office scale
# (eager, bf16 autocast), ours with torch.compile, the scaling curve, and the feature-extraction throughput.
# Writes everything under $OUT (default benchmarks/results). Run from the repository root:
#     OUT=/some/dir bash benchmarks/gpu.sh
set -uo pipefail
OUT=${OUT:-benchmarks/results}; mkdir -p "$OUT"; export OUT HF_HUB_OFFLINE=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=${PY:-python}
{ nvidia-smi; $PY -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"; git rev-parse --short HEAD; } > "$OUT/env.txt" 2>&1
$PY benchmarks/floor.py --scale 1 > "$OUT/floor.txt" 2>&1
timeout 270 $PY benchmarks/training.py --scale 1 --device cuda --epochs 2 2>&1 | tee "$OUT/training-eager.log"
timeout 120 $PY benchmarks/training.py --scale 1 --device cuda --epochs 2 --impls ours --compile \
    --out "$OUT/training-cuda-compile-x1.json" 2>&1 | tee "$OUT/training-compile.log"
timeout 120 $PY benchmarks/scaling.py --device cuda --scales 0.1 0.3 1 2>&1 | tail -3 | tee "$OUT/scaling.log"
timeout 60 $PY benchmarks/features.py --device cuda --datasets sample 2>&1 | tail -20 | tee "$OUT/features.log"
echo done
