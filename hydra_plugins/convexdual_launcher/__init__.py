"""convexdual's Hydra launcher plugins (see :mod:`.detached_slurm` and :mod:`.sweep_ray`)."""
