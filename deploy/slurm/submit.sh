#!/bin/bash
# Submits sweep.sbatch after making the folder its --output names.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p logs
exec sbatch "$@" sweep.sbatch
