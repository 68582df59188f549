#!/usr/bin/env bash
# The README's quick start, end to end against a running evalgate (`make run`): a prompt, a dataset imported
# from CSV (its `name` column is the template's variable and names each case), a suite, a run, its result
# and the release gate. Offline: the prompt uses the built-in `echo` provider (it answers with the prompt).
#   EVALGATE_URL (default http://127.0.0.1:3000) and EVALGATE_KEY (the admin key `make run` prints).
# Needs curl and python3 (to read the JSON answers). Exits non-zero when any step fails.
set -euo pipefail
URL="${EVALGATE_URL:-http://127.0.0.1:3000}"
KEY="${EVALGATE_KEY:?set EVALGATE_KEY to the admin key make run printed}"
NAME="${QUICKSTART_NAME:-greeting}"

api() {  # METHOD PATH [BODY]: the JSON answer; fails on an HTTP error
  curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
       ${3:+-d "$3"} "$URL$2"
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

PROMPT=$(api POST /api/prompts \
  "{\"name\":\"$NAME\",\"template\":\"Hello {{name}}!\",\"modelConfig\":{\"provider\":\"echo\",\"model\":\"echo\"}}" \
  | field '["id"]')
echo "prompt $PROMPT"
DATASET=$(api POST "/api/prompts/$PROMPT/eval/datasets/import" \
  '{"name":"smoke","format":"csv","content":"name,expected_output\nAda,Hello Ada!\nGrace,Hello Grace!\n"}' \
  | field '["id"]')
echo "dataset $DATASET"
SUITE=$(api POST "/api/prompts/$PROMPT/eval/suites" \
  "{\"name\":\"smoke\",\"tests\":[{\"name\":\"greets\",\"datasetId\":$DATASET,\"assertions\":[{\"type\":\"equals\"}]}]}" \
  | field '["id"]')
echo "suite $SUITE"
RUN=$(api POST "/api/prompts/$PROMPT/eval/run" "{\"suiteId\":$SUITE,\"versionNo\":1}" | field '["id"]')
echo "run $RUN started"
for _ in $(seq 1 300); do
  STATUS=$(api GET "/api/prompts/$PROMPT/eval/runs/$RUN" | field '["status"]')
  case "$STATUS" in completed|failed|cancelled) break ;; esac
  sleep 0.2
done
api GET "/api/prompts/$PROMPT/eval/runs/$RUN" \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print("run", r["id"], r["status"], "verdict", r["verdict"], "score", r["score"], "summary", r["summary"], "error", r["error"])'
api POST "/api/prompts/$PROMPT/eval/gate/check" \
  | python3 -c 'import json,sys; g=json.load(sys.stdin); print("gate", g["verdict"], "-", g["reason"])'
