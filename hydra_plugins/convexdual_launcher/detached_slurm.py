"""A SLURM launcher that submits the job array and returns at once (``convexdual sweep --detach``).

It is hydra-submitit-launcher's SLURM launcher in every respect (same settings, same job folders,
each job runs through the parent class on its node) except :meth:`DetachedSlurmLauncher.launch`,
which returns when ``sbatch`` has accepted the array instead of waiting for its jobs. The jobs' return
values are then the SLURM ids of the array's tasks (``<array id>_<task>``); the results are read
from the files the jobs write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus

try:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher  # type: ignore[import-untyped]
except ImportError:  # the plugin is an optional dependency: without it there is nothing to detach
    SlurmLauncher = None

if SlurmLauncher is not None:

    class DetachedSlurmLauncher(SlurmLauncher):
        """Submit one job array per batch of jobs and return without waiting for them."""

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            import submitit  # (on first use, as the parent class does)
            from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf  # type: ignore[import-untyped]
            from omegaconf import OmegaConf

            assert self.config is not None and job_overrides
            settings = dict(self.params)
            folder = settings.pop("submitit_folder")
            max_num_timeout = settings.pop("max_num_timeout", 0)
            executor = submitit.AutoExecutor(folder=folder, cluster="slurm", slurm_max_num_timeout=max_num_timeout)
            shared = set(OmegaConf.structured(BaseQueueConf).keys())  # keys without the "slurm_" prefix
            executor.update_parameters(**{k if k in shared else f"slurm_{k}": v for k, v in settings.items()})
            Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
            numbers = range(initial_job_idx, initial_job_idx + len(job_overrides))
            columns: Any = zip(*[(list(ov), "hydra.sweep.dir", num, f"job_id_for_{num}", Singleton.get_state())
                                 for ov, num in zip(job_overrides, numbers)])
            jobs = executor.map_array(self, *columns)
            return [JobReturn(overrides=list(ov), status=JobStatus.COMPLETED, _return_value=job.job_id)
                    for ov, job in zip(job_overrides, jobs)]
