"""Auto-eval: pure logic of the production-trace monitoring pipeline (no AWS here).

- sampling: which traces a job judges (a salted hash rank; a monitor never judges a trace twice).
- judge: one structured judge request per sample for all criteria, and the parsing of its reply;
  deterministic scorers through evalgate.scoring.
- report: per-sample results summarised per metric, and the drift report against a baseline.

Stdlib only at import time (evalgate.stats is pure Python): safe in any Lambda.
"""
