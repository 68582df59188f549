"""Every DynamoDB key is built here. Tenant data is always prefixed by its project."""

from __future__ import annotations

import zlib

PK = "PK"
SK = "SK"
GSI1PK = "GSI1PK"
GSI1SK = "GSI1SK"


def _n(value: int) -> str:
    # zero-padded so that lexical order is numeric order. Integer ids are either counter-made (below 10**12: twelve
    # digits, a leading 0 in practice) or time-ordered (store/ids.py: always 16 digits, a leading 1 or more), so an
    # old id's key sorts before every new one's and keys already stored keep their spelling.
    return f"{value:012d}"


# --- global (non-tenant) items ------------------------------------------------------------------
def run_slots(project_id: str) -> dict[str, str]:
    """The project's open suite runs (a small number set): per-project admission (store/run_slots.py)."""
    return {PK: f"PROJECT#{project_id}", SK: "RUNSLOTS"}


def id_claim(entity: str, value: int) -> dict[str, str]:
    """An integer id's claim (store/ids.py): one key per id, so allocation has no hot item. Ids are global (not
    per project), which keeps another project's id a 404. (Before issue 17 ids came from one `COUNTER` item per
    entity type; those items are no longer written.)"""
    return {PK: f"IDCLAIM#{entity}#{value}", SK: "IDCLAIM"}


def api_key_lookup(secret_hash: str) -> dict[str, str]:
    """Auth lookup by the hash of the presented secret (the only way in from a raw key)."""
    return {PK: f"KEYHASH#{secret_hash}", SK: "KEYHASH"}


# --- projects ------------------------------------------------------------------------------------
def project(project_id: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}", SK: "PROJECT"}


def project_children_gsi(parent_id: str) -> str:
    return f"PROJECT#{parent_id}#CHILDREN"


def api_key(project_id: str, key_id: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}", SK: f"APIKEY#{key_id}"}


def api_keys_prefix(project_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}", "APIKEY#"


# --- prompts -------------------------------------------------------------------------------------
def prompt(project_id: str, prompt_id: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}", SK: f"PROMPT#{_n(prompt_id)}"}


def prompts_prefix(project_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}", "PROMPT#"


def prompt_version(project_id: str, prompt_id: int, version_no: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#PROMPT#{prompt_id}", SK: f"VERSION#{_n(version_no)}"}


def prompt_versions_prefix(project_id: str, prompt_id: int) -> tuple[str, str]:
    return f"PROJECT#{project_id}#PROMPT#{prompt_id}", "VERSION#"


# --- datasets ------------------------------------------------------------------------------------
def dataset(project_id: str, prompt_id: int, dataset_id: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#PROMPT#{prompt_id}", SK: f"DATASET#{_n(dataset_id)}"}


def datasets_prefix(project_id: str, prompt_id: int) -> tuple[str, str]:
    return f"PROJECT#{project_id}#PROMPT#{prompt_id}", "DATASET#"


def dataset_name_guard(project_id: str, prompt_id: int, name: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#PROMPT#{prompt_id}", SK: f"DATASETNAME#{name}"}


def case(project_id: str, dataset_id: int, name: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#DATASET#{dataset_id}", SK: f"CASE#{name}"}


def cases_prefix(project_id: str, dataset_id: int) -> tuple[str, str]:
    return f"PROJECT#{project_id}#DATASET#{dataset_id}", "CASE#"


def dataset_version(project_id: str, dataset_id: int, version: int) -> dict[str, str]:
    """One immutable version of a dataset (its number, content hash, case count and what changed)."""
    return {PK: f"PROJECT#{project_id}#DATASET#{dataset_id}", SK: f"DSVERSION#{_n(version)}"}


def dataset_versions_prefix(project_id: str, dataset_id: int) -> tuple[str, str]:
    return f"PROJECT#{project_id}#DATASET#{dataset_id}", "DSVERSION#"


def case_revision(project_id: str, dataset_id: int, name: str, from_version: int) -> dict[str, str]:
    """A superseded case: its content as it was from version `from_version` until the version that changed it."""
    return {PK: f"PROJECT#{project_id}#DATASET#{dataset_id}", SK: f"CASEREV#{name}#{_n(from_version)}"}


def case_revisions_prefix(project_id: str, dataset_id: int, name: str | None = None) -> tuple[str, str]:
    return f"PROJECT#{project_id}#DATASET#{dataset_id}", "CASEREV#" + (f"{name}#" if name is not None else "")


# --- suites and tests ---------------------------------------------------------------------------
def suite(project_id: str, prompt_id: int, suite_id: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#PROMPT#{prompt_id}", SK: f"SUITE#{_n(suite_id)}"}


def suites_prefix(project_id: str, prompt_id: int) -> tuple[str, str]:
    return f"PROJECT#{project_id}#PROMPT#{prompt_id}", "SUITE#"


def suite_test(project_id: str, suite_id: int, test_id: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#SUITE#{suite_id}", SK: f"TEST#{_n(test_id)}"}


def suite_tests_prefix(project_id: str, suite_id: int) -> tuple[str, str]:
    return f"PROJECT#{project_id}#SUITE#{suite_id}", "TEST#"


# --- runs and their results ------------------------------------------------------------------------
def run(project_id: str, run_id: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}", SK: f"RUN#{_n(run_id)}"}


def runs_prefix(project_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}", "RUN#"


def prompt_runs_gsi(project_id: str, prompt_id: int) -> str:
    return f"PROJECT#{project_id}#PROMPT#{prompt_id}#RUNS"


def run_gsi_sort(run_id: int) -> str:
    return f"RUN#{_n(run_id)}"


def run_result(project_id: str, run_id: int, index: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: f"RESULT#{index:08d}"}


def run_results_prefix(project_id: str, run_id: int) -> tuple[str, str]:
    return f"PROJECT#{project_id}#RUN#{run_id}", "RESULT#"


# --- artifacts (S3 object keys, same tenant prefix) ---------------------------------------------
def artifact(project_id: str, *parts: str) -> str:
    return "/".join(["projects", project_id, *parts])


def dataset_import(project_id: str, import_id: str) -> dict[str, str]:
    """A background dataset import (a job with its progress)."""
    return {PK: f"PROJECT#{project_id}", SK: f"DSIMPORT#{import_id}"}


def dataset_import_spec(project_id: str, import_id: str) -> str:
    """The content and options of a background import, kept until the job ends."""
    return f"imports/{project_id}/{import_id}.json"


def upload(project_id: str, upload_id: str) -> str:
    """Uploads live under one prefix so a lifecycle rule can expire the ones never imported."""
    return f"uploads/{project_id}/{upload_id}"


# --- model response cache (evalgate.providers.gateway) -------------------------------------------
def model_cache(project_id: str, digest: str) -> dict[str, str]:
    """One cached model response (or embedding), by the SHA-256 of its request; expires through `ttl`."""
    return {PK: f"PROJECT#{project_id}#MODELCACHE#{digest}", SK: "MODELCACHE"}


def idempotency(project_id: str, scope: str, key_hash: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#IDEMPOTENCY#{scope}#{key_hash}", SK: "IDEMPOTENCY"}


def run_spec(project_id: str, run_id: int) -> dict[str, str]:
    """What a run without a suite executes: its version, config and tests (one item, or a pointer to S3)."""
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: "SPEC"}


def run_scorers(project_id: str, run_id: int) -> dict[str, str]:
    """Every scorer's aggregates within a run, in one item (count, nulls, errors, passes, sums, histogram)."""
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: "SCORERS"}


def run_batch_marker(project_id: str, run_id: int, batch_hash: str) -> dict[str, str]:
    """One item per counted batch (suite or external): its results' case keys and outcomes, for pairing runs."""
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: f"BATCH#{batch_hash}"}


def run_result_by_id(project_id: str, run_id: int, result_id: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: f"RESULT#{result_id}"}


def run_batch_done(project_id: str, run_id: int, label: str) -> dict[str, str]:
    """Says a batch (a counting unit) was counted; sorts right after its marker (`BATCH#<label>`)."""
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: f"BATCH#{label}#D"}


def paired_result(project_id: str, run_id: int, kind: str, control_id: int, digest: str) -> dict[str, str]:
    """A run's cached paired gate (`gate`) or comparison (`compare`) against a control run (0: none) under one
    configuration's digest; in the run's partition, so deleting the run deletes it."""
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: f"PAIRED#{kind}#{_n(control_id)}#{digest}"}


def run_batches_prefix(project_id: str, run_id: int) -> tuple[str, str]:
    return f"PROJECT#{project_id}#RUN#{run_id}", "BATCH#"


def run_scorer_codes(project_id: str, run_id: int) -> dict[str, str]:
    """A run's scorer codes (name <-> short number): folded scorer figures are stored under the code, not the name."""
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: "SCORERCODES"}


def run_counter(project_id: str, run_id: int, shard: int, part: int) -> dict[str, str]:
    """One of a run's counter items (aggregates of the batches hashed to `shard`; `part` 0 holds the run's figures
    and the scorers hashed to 0): its own partition, so a hot run spreads its writes."""
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}#AGG#{shard}.{part}", SK: "AGG"}


def gate(project_id: str, prompt_id: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#PROMPT#{prompt_id}", SK: "GATE"}


# --- auto-eval jobs (J) ---
def autoeval_job(project_id: str, job_id: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}", SK: f"AUTOEVAL#{job_id}"}


def autoeval_jobs_gsi(project_id: str) -> str:
    """GSI1 partition of a project's auto-eval jobs, newest first by GSI1SK (`autoeval_job_gsi_sort`): job ids are
    random, so the base table's order is no listing order."""
    return f"PROJECT#{project_id}#AUTOEVALJOBS"


def autoeval_job_gsi_sort(created_at: str, job_id: str) -> str:
    return f"JOB#{created_at}#{job_id}"


def autoeval_sample(project_id: str, job_id: str, trace_id: str) -> dict[str, str]:
    """One per-sample result of a job: the job's partition is read whole by the analyzer."""
    return {PK: f"PROJECT#{project_id}#AUTOEVAL#{job_id}", SK: f"SAMPLE#{trace_id}"}


def autoeval_samples_prefix(project_id: str, job_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}#AUTOEVAL#{job_id}", "SAMPLE#"


AUTOEVAL_COUNT_SHARDS = 8  # never lowered: a job's progress is read from all of them


def autoeval_counter(project_id: str, job_id: str, shard: int) -> dict[str, str]:
    """One of a job's progress counter shards (issue 17): a sample is counted on the shard its trace id hashes
    to, so the job item is never rewritten per sample and 200 samples/s spread over AUTOEVAL_COUNT_SHARDS keys."""
    return {PK: f"PROJECT#{project_id}#AUTOEVALCOUNT#{job_id}#{shard}", SK: "COUNT"}


def shared_rate_window(name: str, second: int, shard: int) -> dict[str, str]:
    """One shard of a deployment-wide fixed-window rate counter (e.g. judge calls per provider per second)."""
    return {PK: f"RATE#{name}#{second}#{shard}", SK: "WINDOW"}


def autoeval_judged(project_id: str, scope: str, trace_id: str) -> dict[str, str]:
    """A trace judged before by a monitor (scope MONITOR#<id>) or by ad-hoc jobs of a target (TARGET#<key>)."""
    return {PK: f"PROJECT#{project_id}#AUTOEVALJUDGED#{scope}", SK: f"TRACE#{trace_id}"}


def autoeval_active(project_id: str) -> dict[str, str]:
    """The project's count of queued and running jobs (an atomic counter)."""
    return {PK: f"PROJECT#{project_id}", SK: "AUTOEVALACTIVE"}


def autoeval_last_job(project_id: str, target_key: str) -> dict[str, str]:
    """The last completed job of a target: the baseline of the next one."""
    return {PK: f"PROJECT#{project_id}", SK: f"AUTOEVALLAST#{target_key}"}


def autoeval_spend(project_id: str, monitor_id: str, day: str) -> dict[str, str]:
    """A monitor's judge spend of one UTC day (YYYY-MM-DD), by atomic ADD."""
    return {PK: f"PROJECT#{project_id}", SK: f"AUTOEVALSPEND#{monitor_id}#{day}"}


# --- traces/monitors (T) ---
def trace(project_id: str, trace_id: str) -> dict[str, str]:
    """One production trace, keyed by its id: a re-sent trace lands on the same item (idempotent ingest)."""
    return {PK: f"PROJECT#{project_id}#TRACE#{trace_id}", SK: "TRACE"}


TRACE_SHARDS = 16  # write shards of a trace list (issue 17): a hot target or project spreads over 16 partitions


def trace_shard(trace_id: str) -> int:
    """The write shard of a trace: a stable hash of its id (a re-sent trace lands on the same index items)."""
    return zlib.crc32(trace_id.encode()) % TRACE_SHARDS


def trace_target_list(project_id: str, environment: str, model: str, prompt_id: str | int | None) -> str:
    """The logical list of one target's traces (what auto-eval samples from); cursors are bound to it."""
    return f"PROJECT#{project_id}#TRACETGT#{environment}#{model}#{prompt_id if prompt_id is not None else '-'}"


def trace_target_partition(
    project_id: str, environment: str, model: str, prompt_id: str | int | None, shard: int
) -> str:
    """Main-table partition of one shard of a target's small index items (newest first by SK). The shard comes
    right after the project so no environment or model name can make two partitions collide."""
    target = f"{environment}#{model}#{prompt_id if prompt_id is not None else '-'}"
    return f"PROJECT#{project_id}#TRACETGT@{shard}#{target}"


def trace_target(
    project_id: str, environment: str, model: str, prompt_id: str | int | None, timestamp: str, trace_id: str
) -> dict[str, str]:
    partition = trace_target_partition(project_id, environment, model, prompt_id, trace_shard(trace_id))
    return {PK: partition, SK: trace_time_sort(timestamp, trace_id)}


def trace_time_sort(timestamp: str, trace_id: str) -> str:
    """Sort key of a trace in its time-ordered lists: fixed-width UTC time, then the id (ties)."""
    return f"{timestamp}#{trace_id}"


def trace_index_list(project_id: str) -> str:
    """The logical list of every trace of a project by time; cursors are bound to it."""
    return f"PROJECT#{project_id}#TRACES"


def trace_index_partition(project_id: str, shard: int) -> str:
    """Main-table partition of one shard of the small per-trace index items: a project's traces by time."""
    return f"PROJECT#{project_id}#TRACES@{shard}"


def trace_index(project_id: str, timestamp: str, trace_id: str) -> dict[str, str]:
    return {PK: trace_index_partition(project_id, trace_shard(trace_id)), SK: trace_time_sort(timestamp, trace_id)}


def trace_body(project_id: str, trace_id: str) -> str:
    """S3 key of a trace body too large to keep in its item: under `traces/`, where a lifecycle rule expires it
    after the longest retention a trace may ask for (its item expires through the table's TTL)."""
    return f"traces/{project_id}/{trace_id}.json"


def monitor(project_id: str, monitor_id: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}", SK: f"MONITOR#{monitor_id}"}


def monitors_prefix(project_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}", "MONITOR#"


MONITORS_DUE_GSI = "MONITORS#DUE"
"""GSI1 partition of every enabled monitor of every project, sorted by next run time (monitors written before
issue 17; new writes go to a shard, `monitors_due_gsi`). The one cross-tenant read in the service: only the
scheduler function (run_due_monitors) queries it, never an API route."""
MONITOR_DUE_SHARDS = 16


def monitors_due_gsi(project_id: str) -> str:
    """The due-index shard of a project's monitors (a stable hash of the project): the tick works the shards
    in parallel, one thread per shard, so 10,000 monitors due in one minute spread their claims over 16 index
    partitions, while one project's monitors are enqueued one after another (its active-job counter is
    never raced by the tick itself)."""
    return f"{MONITORS_DUE_GSI}#{zlib.crc32(project_id.encode()) % MONITOR_DUE_SHARDS}"


def monitors_due_partitions() -> list[str]:
    """Every partition the tick reads: the shards, and the one partition of monitors written before them."""
    return [MONITORS_DUE_GSI, *(f"{MONITORS_DUE_GSI}#{n}" for n in range(MONITOR_DUE_SHARDS))]


def monitor_due_sort(next_run_at: str, project_id: str, monitor_id: str) -> str:
    return f"{next_run_at}#{project_id}#{monitor_id}"


def monitor_webhook_secret(project_id: str, monitor_id: str) -> dict[str, str]:
    """The raw HMAC secret of a monitor's webhook, apart from the monitor item so no read of a monitor
    (GET, list, the scheduler) ever loads it; only evalgate.services.alerts reads it."""
    return {PK: f"PROJECT#{project_id}#MONITOR#{monitor_id}", SK: "WEBHOOKSECRET"}


# --- humanloop evaluations ---
def evaluation(project_id: str, evaluation_id: str) -> dict[str, str]:
    """A Humanloop-style evaluation (evaluators, control run, run count); its runs are Run items."""
    return {PK: f"PROJECT#{project_id}", SK: f"EVALUATION#{evaluation_id}"}


def evaluations_prefix(project_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}", "EVALUATION#"


def prompt_evaluations_gsi(project_id: str, prompt_id: int) -> str:
    """GSI1 partition of the evaluations of one prompt (Humanloop's list filter `file_id`)."""
    return f"PROJECT#{project_id}#PROMPT#{prompt_id}#EVALUATIONS"


def evaluation_gsi_sort(evaluation_id: str) -> str:
    return f"EVALUATION#{evaluation_id}"


def evaluation_name_guard(project_id: str, prompt_id: int, name: str) -> dict[str, str]:
    """An evaluation's name is unique among the evaluations of its prompt (Humanloop's rule)."""
    return {PK: f"PROJECT#{project_id}#PROMPT#{prompt_id}", SK: f"EVALUATIONNAME#{name}"}


def evaluation_run(project_id: str, evaluation_id: str, run_id: int) -> dict[str, str]:
    """A run's membership of an evaluation (when it was added, orchestrated or not, its dataset)."""
    return {PK: f"PROJECT#{project_id}#EVALUATION#{evaluation_id}", SK: f"RUN#{_n(run_id)}"}


def evaluation_runs_prefix(project_id: str, evaluation_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}#EVALUATION#{evaluation_id}", "RUN#"


# --- annotation queues (human review, issue 15) -------------------------------------------------
def annotation_queue(project_id: str, queue_id: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}", SK: f"AQUEUE#{queue_id}"}


def annotation_queues_prefix(project_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}", "AQUEUE#"


def annotation_partition(project_id: str, queue_id: str) -> str:
    """A queue's items and labels share one partition (ITEM#..., LABEL#...)."""
    return f"PROJECT#{project_id}#AQUEUE#{queue_id}"


def annotation_item(project_id: str, queue_id: str, item_id: str) -> dict[str, str]:
    return {PK: annotation_partition(project_id, queue_id), SK: f"ITEM#{item_id}"}


def annotation_label(project_id: str, queue_id: str, item_id: str, reviewer: str) -> dict[str, str]:
    return {PK: annotation_partition(project_id, queue_id), SK: f"LABEL#{item_id}#{reviewer}"}


def annotation_open_gsi(project_id: str, queue_id: str) -> str:
    """GSI1 partition of a queue's items that still need a reviewer (sparse: removed once complete)."""
    return f"PROJECT#{project_id}#AQUEUE#{queue_id}#OPEN"


# --- Humanloop (/v5) files and logs --------------------------------------------------------------
def hl_file(project_id: str, file_id: str) -> dict[str, str]:
    """A /v5 dataset or evaluator file (prompts are evalgate's own prompts); the id derives from the path."""
    return {PK: f"PROJECT#{project_id}#HLFILE", SK: f"FILE#{file_id}"}


def hl_dataset_version(project_id: str, file_id: str, version_id: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#HLFILE", SK: f"VERSION#{file_id}#{version_id}"}


def hl_log(project_id: str, log_id: str) -> dict[str, str]:
    """A /v5 log (prompts/log, evaluators/log), with the judgments posted on it."""
    return {PK: f"PROJECT#{project_id}#HLLOG", SK: f"LOG#{log_id}"}
