"""Every DynamoDB key is built here. Tenant data is always prefixed by its project."""

from __future__ import annotations

PK = "PK"
SK = "SK"
GSI1PK = "GSI1PK"
GSI1SK = "GSI1SK"


def _n(value: int) -> str:
    # zero-padded so that lexical order is numeric order
    return f"{value:012d}"


# --- global (non-tenant) items ------------------------------------------------------------------
def counter(entity: str) -> dict[str, str]:
    return {PK: "COUNTER", SK: entity}


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


def run_batch_marker(project_id: str, run_id: int, batch_hash: str) -> dict[str, str]:
    """One item per counted batch of external results: the run item does not grow with batches."""
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: f"BATCH#{batch_hash}"}


def run_result_by_id(project_id: str, run_id: int, result_id: str) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#RUN#{run_id}", SK: f"RESULT#{result_id}"}


def gate(project_id: str, prompt_id: int) -> dict[str, str]:
    return {PK: f"PROJECT#{project_id}#PROMPT#{prompt_id}", SK: "GATE"}
