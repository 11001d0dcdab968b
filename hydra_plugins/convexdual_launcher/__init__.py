"""convexdual's Hydra launcher plugin (see :mod:`.detached_slurm`)."""
