"""`evalgate.evaluate()` with a model-graded scorer over HTTP: the outputs are scored on the server
(`POST /api/v1/scores`, an `llm-rubric` graded by a scripted stub judge), the uploaded external run carries those
scores, and a case the judge could not grade, or whose task raised, is recorded as errored with its reason."""

from __future__ import annotations

from tests.conftest import Runtime

JUDGE = {
    "provider": "scripted",
    "model": "judge-1",
    "params": {
        "responses": [
            {"match": "(?s)<output>\\nmumble", "output": "I would rather not say"},
            {"match": "(?s)<output>\\nPolite", "output": '{"reason": "kind", "score": 0.9, "pass": true}'},
        ],
        "default": '{"reason": "rude", "score": 0.1, "pass": false}',
    },
}


def test_evaluate_scores_llm_rubric_on_the_server_and_uploads_the_scores(runtime: Runtime) -> None:
    import evalgate

    client = evalgate.Client(runtime.base_url, api_key=runtime.admin_key)

    def task(question: str) -> str:
        n = int(question.split()[1])
        if n == 7:
            raise TimeoutError("the app timed out")
        if n == 5:
            return "mumble"
        return f"Polite answer {n}" if n % 3 else f"Go away {n}"

    data = [{"id": f"q{i}", "input": f"question {i}", "expected": str(i)} for i in range(12)]
    scorers = [{"type": "llm-rubric", "value": "The answer is polite", "metric": "polite"}, "contains"]
    result = evalgate.evaluate(data, task, scorers, client=client, judge=JUDGE, progress=False)
    by_id = {c.id: c for c in result.cases}
    rude = {"q0", "q3", "q6", "q9"}
    assert {c.id for c in result.cases if c.status == "errored"} == {"q5", "q7"}
    assert {c.id for c in result.cases if c.status == "failed"} == rude
    assert by_id["q1"].status == "passed" and by_id["q1"].scorers["polite"]["score"] == 0.9
    assert by_id["q1"].scorers["contains"]["passed"] is True  # the deterministic assertion, graded with it
    assert "not JSON" in (by_id["q5"].error or "") and by_id["q7"].error == "TimeoutError: the app timed out"

    # the external run carries the judge's scores per case, and its statistics count them
    assert result.run_id is not None
    stored = {r["id"]: r for r in client.pages("api", "v1", "evals", result.run_id, "results")}
    assert len(stored) == 12
    assert stored["q1"]["scorerResults"]["polite"] == {"score": 0.9, "passed": True, "reason": "kind"}
    assert stored["q0"]["passed"] is False and stored["q0"]["scorerResults"]["polite"]["score"] == 0.1
    assert "not JSON" in stored["q5"]["error"] and stored["q5"].get("passed") is None
    assert result.stats["count"] == 12 and result.stats["errors"] == 2 and result.stats["passed"] == 6
