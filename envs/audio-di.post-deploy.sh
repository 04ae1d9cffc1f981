#!/usr/bin/env bash
# Snakemake runs this inside the new environment from the working directory (the repo root).
set -euo pipefail
python -m pip install --no-deps -e .
