"""hydra-ray-launcher's launcher that leaves the sweep's SIGTERM handler in place (``--launcher ray``).

``ray.init`` replaces the process's SIGTERM handler with its own, which exits at once (exit code 15),
and ``ray.get`` turns whatever a signal handler raises into a bare ``KeyboardInterrupt``: a sweep
terminated while Ray runs its points would neither say where it stands (nor give its resume command)
nor stop the Ray it started. :class:`SweepRayLauncher` is the plugin's launcher in every respect (same
settings, same job folders, one Ray task per job) except that it connects to Ray itself, with the same
``ray.init`` settings, puts back the SIGTERM handler that was there before, and re-raises that
handler's own exception when a SIGTERM interrupts the wait for the jobs.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Sequence

from hydra.core.utils import JobReturn

try:
    from hydra_plugins.hydra_ray_launcher.ray_launcher import RayLauncher
except ImportError:  # the plugin is an optional dependency
    RayLauncher = None

if RayLauncher is not None:

    class SweepRayLauncher(RayLauncher):  # type: ignore[misc, valid-type]
        """Start (or join) Ray keeping this process's SIGTERM handler, then launch as the plugin does."""

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            import ray  # (on first use, as the parent class does)
            from omegaconf import OmegaConf

            main = threading.current_thread() is threading.main_thread()  # (signal handlers are set there)
            handler = signal.getsignal(signal.SIGTERM) if main else None
            if not ray.is_initialized():  # the parent class then says "Ray is already running" and uses it
                ray.init(**OmegaConf.to_container(self.ray_cfg.init, resolve=True))  # type: ignore[arg-type]
            if handler is None:  # (not set from Python: Ray's stays)
                return super().launch(job_overrides, initial_job_idx)
            received = threading.Event()

            def on_sigterm(signum: int, frame: Any) -> None:
                received.set()
                if callable(handler):
                    handler(signum, frame)

            signal.signal(signal.SIGTERM, on_sigterm if callable(handler) else handler)
            try:
                return super().launch(job_overrides, initial_job_idx)
            except KeyboardInterrupt:
                if received.is_set() and callable(handler):
                    handler(signal.SIGTERM, None)  # its own exception, not ray.get's bare KeyboardInterrupt
                raise
            finally:
                signal.signal(signal.SIGTERM, handler)
