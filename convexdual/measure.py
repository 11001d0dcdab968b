"""Peak memory of each stage of a solve, for the benchmark.

While measuring (:func:`start`), :func:`stage_done` records the process's peak resident memory
since the previous mark (Linux ``VmHWM``) under the stage's name and resets the peak (writing 5 to
``/proc/self/clear_refs``), so each stage gets its own peak, not the run's. Elsewhere, or when not
measuring, it does nothing.
"""

from __future__ import annotations

from pathlib import Path

STAGE_PEAK_MB: dict[str, float] = {}
_measuring = False


def _peak_mb() -> float | None:
    """VmHWM of this process in MB, or None where /proc does not give it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def start() -> bool:
    """Measure from now on (the peak is reset); False where the peak cannot be reset."""
    global _measuring
    STAGE_PEAK_MB.clear()
    _measuring = _reset_peak() and _peak_mb() is not None
    return _measuring


def stage_done(stage: str) -> None:
    """Record the peak since the last mark as ``stage``'s and reset it (nothing when not measuring)."""
    if not _measuring:
        return
    peak = _peak_mb()
    if peak is not None:
        STAGE_PEAK_MB[stage] = peak
    _reset_peak()
