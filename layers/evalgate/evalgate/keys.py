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


# --- artifacts (S3 object keys, same tenant prefix) ---------------------------------------------
def artifact(project_id: str, *parts: str) -> str:
    return "/".join(["projects", project_id, *parts])


def upload(project_id: str, upload_id: str) -> str:
    """Uploads live under one prefix so a lifecycle rule can expire the ones never imported."""
    return f"uploads/{project_id}/{upload_id}"
