"""HTTP edge: resolver wiring, error mapping, API schemas."""
