"""Developer tooling that is neither the layer nor the local runtime (see tools/rehearsal.py)."""
