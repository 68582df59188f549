"""Dataset versions: items stored against versions x cases, and the cost of reading an old version.

A dataset of N cases gets E single-case edits (a mix of changes, additions and removals): E + 1 versions. The
benchmark counts the items of the dataset's partition (what versions share) against what full copies per version
would store, and times reading the latest version, the first one, and a run's batch of cases at the first version.
In-process moto (no network); figures are counts, the timings are only indicative.

    .venv/bin/python -m bench.dataset_versions [--cases 2000] [--edits 200]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from typing import Any

import boto3
from moto import mock_aws

from bench._common import table, write_results
from evalgate import keys
from evalgate.models.domain import DatasetCase, Principal, Role
from evalgate.services import container as container_module
from evalgate.services import datasets, projects, prompts
from local import cfn, model, resources


def _setup() -> None:
    # in-process moto only: fake credentials, no endpoint, quiet logs
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    app = model.read()
    names = cfn.Names()
    resources.declare_names(app, names)
    resources.create(app, names, lambda service: boto3.client(service, region_name="us-east-1"))
    for fid in app.functions:
        os.environ.update(resources.function_environment(app, names, fid))
    container_module.reset_container()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=200)
    args = parser.parse_args(argv)
    rng = random.Random(16)
    from local import moto_speed  # lazy: moto's PartiQL INSERTs as DynamoDB answers them (result claims)

    moto_speed.install()
    with mock_aws():
        _setup()
        project, _, _ = projects.create_project(None, "bench")
        principal = Principal(project_id=project.id, key_id="bench", role=Role.admin)
        prompt, _ = prompts.create_prompt(principal, "bench", "", "Hello {{name}}", None)
        now = container_module.utcnow()
        body = {"text": "x" * 200}
        cases = [
            DatasetCase(name=f"c{i:05d}", variables={"name": f"n{i}", **body}, created_at=now, updated_at=now)
            for i in range(args.cases)
        ]
        started = time.perf_counter()
        ds = datasets.create_dataset(principal, prompt.id, "bench", "", cases)
        create_s = time.perf_counter() - started
        names = [c.name for c in cases]
        started = time.perf_counter()
        for e in range(args.edits):
            kind = e % 4
            if kind == 3 and len(names) > 1:
                datasets.delete_case(principal, prompt.id, ds.id, names.pop(rng.randrange(len(names))))
            elif kind == 2:
                new = DatasetCase(name=f"added{e:05d}", variables={"name": "new"}, created_at=now, updated_at=now)
                datasets.add_case(principal, prompt.id, ds.id, new)
                names.append(new.name)
            else:
                name = names[rng.randrange(len(names))]
                datasets.update_case(principal, prompt.id, ds.id, name, {"variables": {"name": f"edit{e}"}})
        edit_ms = (time.perf_counter() - started) * 1000 / max(1, args.edits)
        latest = container_module.container().datasets.get_dataset(project.id, prompt.id, ds.id)
        pk, _ = keys.cases_prefix(project.id, ds.id)
        kinds: dict[str, int] = {}
        for item in container_module.container().table.query_all(pk, ""):
            kind = item[keys.SK].split("#")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
        stored = sum(kinds.values())
        # full copies: every version would hold its own cases
        copies = sum(
            container_module.container().datasets.get_version(project.id, ds.id, v).case_count
            for v in range(1, latest.version + 1)
        )

        def timed(fn: Any) -> float:
            started = time.perf_counter()
            fn()
            return (time.perf_counter() - started) * 1000

        store = container_module.container().datasets
        read_latest = timed(lambda: store.list_cases(project.id, ds.id, limit=1000, cursor=None))
        read_first = timed(lambda: store.list_cases(project.id, ds.id, limit=1000, cursor=None, version=1))
        batch = [f"c{i:05d}" for i in range(0, min(args.cases, 250))]
        batch_latest = timed(lambda: store.get_cases(project.id, ds.id, batch))
        batch_first = timed(lambda: store.get_cases(project.id, ds.id, batch, 1))
    rows = [
        ["cases at v1 / edits / versions", f"{args.cases} / {args.edits} / {latest.version}"],
        ["items stored (current cases + revisions + version items)", f"{stored} ({kinds})"],
        ["items with a full copy per version", copies],
        ["ratio", f"{copies / stored:.1f}x"],
        ["create (s), edit (ms each)", f"{create_s:.2f}, {edit_ms:.1f}"],
        ["read 1,000 cases of the latest / first version (ms)", f"{read_latest:.0f} / {read_first:.0f}"],
        ["a run batch of 250 cases at the latest / first version (ms)", f"{batch_latest:.0f} / {batch_first:.0f}"],
    ]
    print(table(["figure", "value"], rows))
    figures = {
        "cases": args.cases,
        "edits": args.edits,
        "versions": latest.version,
        "stored_items": stored,
        "kinds": kinds,
        "full_copy_items": copies,
        "read_latest_ms": read_latest,
        "read_first_ms": read_first,
        "batch_latest_ms": batch_latest,
        "batch_first_ms": batch_first,
    }
    write_results("dataset_versions", figures)
    print(
        f"SUMMARY dataset_versions: {latest.version} versions of ~{args.cases} cases in {stored} items "
        f"(full copies: {copies}, {copies / stored:.0f}x)"
    )
    return figures


if __name__ == "__main__":
    main()
