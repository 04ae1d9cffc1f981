#!/usr/bin/env bash
# GPU smoke test: a tiny study end to end on the GPU, then attack throughput on a
# MusicGen-small-sized and a Stable-Audio-Open-sized random model (benchmarks/real_models.py).
# Its stdout is Markdown for benchmarks/RESULTS.md, with the device named.
#
# Usage: benchmarks/gpu_smoke.sh            (needs CUDA)
#        benchmarks/gpu_smoke.sh --quick    (or GPU_SMOKE_QUICK=1: on CPU if there is no GPU,
#                                            tiny random models and few short clips; checks
#                                            that the script works, its figures are not GPU ones)
# PYTHON picks the interpreter (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
quick=${GPU_SMOKE_QUICK:-0}
[[ ${1:-} == --quick ]] && quick=1

if "$python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    device=cuda
    dtype=bfloat16
else
    device=cpu
    dtype=float32
    if [[ $quick != 1 ]]; then
        echo "gpu_smoke.sh: no CUDA device; run with --quick to check the script on CPU" >&2
        exit 1
    fi
fi
if [[ $quick == 1 ]]; then
    size=tiny clips=4 seconds=1 batch=4
else
    size=full clips=16 seconds=10 batch=8
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

echo "## GPU smoke, $(date -u +%Y-%m-%d)"
echo
"$python" - <<'EOF'
import platform, torch
name = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({platform.processor() or platform.machine()})"
print(f"Device: {name}; torch {torch.__version__}, CUDA {torch.version.cuda}")
EOF
echo

# 1. The smoke study end to end, its models on `device: auto` (the GPU where there is one).
sed 's/device: cpu/device: auto/' tests/config/smoke.yaml >"$workdir/smoke.yaml"
start=$(date +%s)
"$python" -m snakemake --snakefile "$PWD/Snakefile" --directory "$workdir/smoke" \
    --configfile "$workdir/smoke.yaml" --cores all --quiet rules \
    >"$workdir/smoke.log" 2>&1 || {
    tail -n 40 "$workdir/smoke.log" >&2
    exit 1
}
echo "- tests/config/smoke.yaml end to end: $(($(date +%s) - start)) s wall"
echo

# 2. Attack throughput on random models of the published sizes (tiny with --quick).
"$python" benchmarks/real_models.py --size "$size" --device "$device" --dtype "$dtype" \
    --kinds musicgen stable_audio --clips "$clips" --seconds "$seconds" --batch-size "$batch" \
    2>"$workdir/throughput.log" || {
    tail -n 40 "$workdir/throughput.log" >&2
    exit 1
}
