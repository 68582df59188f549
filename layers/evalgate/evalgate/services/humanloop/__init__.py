"""Humanloop-compatible Evaluations (/v5/evaluations): evaluations, their evaluators and runs, logs, stats.

An evaluation belongs to a prompt (Humanloop's `file`) and lists evaluators; its runs are ordinary Run items
(one entity behind all three API families: docs/architecture.md), linked to it by membership items.
`orchestrated=true` runs execute a dataset against a prompt version through the suite-run workflow, scored
by the evaluators evalgate can run itself (its assertions); `orchestrated=false` runs take logs sent by the
caller, with the judgments of every other evaluator inline.
"""
