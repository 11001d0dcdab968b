"""The type checker passes: `python -m mypy` with the pyproject configuration (strict on the
numerical core, mypy's defaults on the rest of the package) reports no error. mypy comes with the
test extras (pip install -e '.[test]')."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mypy_passes() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, f"mypy failed (exit {run.returncode}):\n{run.stdout}{run.stderr}"
