#!/usr/bin/env bash
# The benchmark from a fresh clone, in one command (installs into .venv first):
#   bash benchmarks/run.sh                     # defaults: d = 2, 3; n = 10 .. 200; beta = 0.05
#   bash benchmarks/run.sh --d 3 --n 40        # any `convexdual bench` options
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/convexdual ] || { python3.11 -m venv .venv && .venv/bin/pip install -q -e .; }
exec .venv/bin/convexdual bench "$@"
