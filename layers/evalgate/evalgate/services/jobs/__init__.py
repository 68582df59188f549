"""Auto-eval jobs: enqueue (API and monitors), read, and the three SQS-driven steps.

    POST /api/v1/auto-eval ─► job (queued) ─► jobs queue ─► worker: queued → running, sample the target's
    recent production traces, fan out scoring messages (≤ 20 traces each, SendMessageBatch of ≤ 10)
    ─► scoring queue ─► scorer: one judge call per trace, a result item per sample, counters by ADD;
    the sample that completes the count claims the analysis (conditional SET analyzeQueued) ─► analyze
    queue ─► analyzer: summary, baseline, report, completed, slot released, alerts.

Every step is idempotent under SQS redelivery. A step that fails on its last delivery (the queue's
maxReceiveCount, env AUTOEVAL_MAX_RECEIVES) marks the job failed with the reason, so no job stays
running and no project slot leaks; a scorer's last delivery records the samples it still cannot judge as
failed samples instead, so the job completes with what could be judged.
"""
