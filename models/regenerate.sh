#!/usr/bin/env bash
# Regenerate the trained and compressed models this repository ships, and the compression reports
# made with them (same seeds, same bytes on any machine: see README, "Reproducibility").
# Run from the repository root: bash models/regenerate.sh   (about 10 minutes on one core)
set -euo pipefail
cd "$(dirname "$0")/.."
python -m sim train models/lenet300.yaml             # dense LeNet-300-100 -> models/lenet300.npz
python -m sim train models/lenet5-digits.yaml        # LeNet-5 for 8x8 digits -> models/lenet5-digits.npz
python -m sim compress models/lenet300-deepcomp.yaml     --out reports/examples/compression/lenet300-deepcomp -q
python -m sim compress models/lenet300-sonic-recipe.yaml --out reports/examples/compression/lenet300-sonic -q
python -m sim compress models/lenet300-lth.yaml          --out reports/examples/compression/lenet300-lth -q
