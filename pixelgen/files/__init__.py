"""Files pixelgen writes atomically or reads without trusting them: atomic writes, confinement, limits."""
