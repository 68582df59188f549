"""Benchmarks (scripts that print figures, not tests).

python -m bench.cold_start
python -m bench.request_overhead
"""
