#!/usr/bin/env bash
# The script action.yml runs: `evalgate run` with the action's inputs (INPUT_* variables), then the report to the job
# summary and the pull request comment (`evalgate github report`), then exit with the gate's verdict.
# Tested locally with a fake GITHUB_* environment and a stub GitHub API (tests/e2e/test_release_gate.py).
set -uo pipefail

out_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/evalgate-${GITHUB_RUN_ID:-local}-${INPUT_PROMPT:?the prompt input is required}"
mkdir -p "$out_dir"
args=(run --prompt "$INPUT_PROMPT" --markdown "$out_dir/report.md" --json "$out_dir/summary.json"
      --junit "$out_dir/junit.xml")
[[ -n "${INPUT_SUITE:-}" ]] && args+=(--suite "$INPUT_SUITE")
[[ -n "${INPUT_DATASET:-}" ]] && args+=(--dataset "$INPUT_DATASET")
[[ -n "${INPUT_VERSION:-}" ]] && args+=(--version "$INPUT_VERSION")
[[ -n "${INPUT_TEMPLATE:-}" ]] && args+=(--template "$INPUT_TEMPLATE")
[[ -n "${INPUT_DATASET_VERSION:-}" ]] && args+=(--dataset-version "$INPUT_DATASET_VERSION")
[[ -n "${INPUT_CONTROL:-}" ]] && args+=(--control "$INPUT_CONTROL")
[[ "${INPUT_ALLOW_INCONCLUSIVE:-false}" == "true" ]] && args+=(--allow-inconclusive)
[[ -n "${INPUT_INTERVAL:-}" ]] && args+=(--interval "$INPUT_INTERVAL")
while IFS= read -r scorer; do
  [[ -n "$scorer" ]] && args+=(--scorer "$scorer")
done <<< "${INPUT_SCORERS:-}"

evalgate "${args[@]}"
code=$?

verdict=error
run_id=""
if [[ -s "$out_dir/summary.json" ]]; then
  verdict=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$out_dir/summary.json")
  run_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["id"])' "$out_dir/summary.json")
fi
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  { echo "verdict=$verdict"; echo "run-id=$run_id"; echo "exit-code=$code"; } >> "$GITHUB_OUTPUT"
fi

if [[ -s "$out_dir/report.md" ]]; then
  if [[ "${INPUT_COMMENT:-true}" != "true" ]]; then
    GITHUB_TOKEN="" evalgate github report --markdown "$out_dir/report.md" || echo "evalgate: could not publish the report" >&2
  else
    evalgate github report --markdown "$out_dir/report.md" || echo "evalgate: could not publish the report" >&2
  fi
fi
exit "$code"
