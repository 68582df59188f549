"""The review and agreement screens in a real browser: a reviewer labels with the keyboard only (p/f, Enter,
s), the labels land through the API, and the agreement screen shows the figures (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.browser.conftest import ARTIFACTS, Seeded

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    p = context.new_page()
    p.set_default_timeout(60_000)
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield p
    p.screenshot(path=str(ARTIFACTS / "review-last.png"), full_page=True)
    context.close()
    assert not errors, errors


def test_keyboard_review_and_agreement_screens(page: Any, seeded: Seeded) -> None:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {seeded.admin_key}"
    url = seeded.base_url
    queue = api.post(
        f"{url}/api/v1/annotation-queues",
        json={
            "name": "browser review",
            "instructions": "Is the answer right?",
            "criteria": [
                {"name": "correct", "type": "pass_fail", "judge": "rubric"},
                {"name": "note", "type": "comment", "required": False},
            ],
        },
        timeout=60,
    ).json()
    qid = queue["id"]
    items = [
        {"kind": "manual", "ref": f"b{i}", "input": {"question": f"what is {i}+{i}?"}, "output": str(2 * i),
         "context": "arithmetic", "judge": {"rubric": True}}
        for i in range(3)
    ]  # fmt: skip
    assert api.post(f"{url}/api/v1/annotation-queues/{qid}/items", json={"items": items}, timeout=60).status_code == 201
    reviewer = api.post(
        f"{url}/api/v1/projects/{seeded.project_id}/api-keys", json={"name": "reviewer", "role": "reviewer"}, timeout=60
    ).json()["key"]

    page.goto(f"{url}/console")
    page.get_by_label("API key").fill(reviewer)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
    page.evaluate("f => { location.hash = f; }", f"/review/{qid}/label")
    item = page.get_by_role("group", name="review item")
    item.wait_for()
    assert "what is" in page.get_by_label("input").inner_text() and "arithmetic" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "review-item.png"), full_page=True)

    # keyboard only: f (fail) and Enter on the first item, p and Enter on the second, s skips the third
    def ready_item(previous: str | None) -> str:
        """Wait until the item on screen is a new one and the screen takes keys again; its id."""
        page.wait_for_function(
            "p => { const e = document.querySelector('[data-item]');"
            " return e && e.dataset.item !== p && e.getAttribute('aria-busy') === 'false'; }",
            arg=previous or "",
        )
        page.get_by_role("group", name="review item").focus()
        return str(page.get_attribute("[data-item]", "data-item"))

    first = ready_item(None)
    page.keyboard.press("f")
    assert page.get_by_role("radio", name="fail").get_attribute("aria-checked") == "true"
    page.keyboard.press("Enter")
    second = ready_item(first)
    page.keyboard.press("p")
    page.keyboard.press("Enter")
    ready_item(second)
    page.keyboard.press("s")
    page.locator("#queue-done").wait_for()

    progress = api.get(f"{url}/api/v1/annotation-queues/{qid}", timeout=60).json()["progress"]
    assert progress["labels"] == 2 and progress["reviewers"][0]["skipped"] == 1

    page.evaluate("f => { location.hash = f; }", f"/review/{qid}/agreement")
    page.get_by_role("region", name="criterion correct").wait_for()
    text = page.inner_text("body")
    assert "inconclusive" in text and "2 compared items, at least 10 needed" in text
    page.screenshot(path=str(ARTIFACTS / "review-agreement.png"), full_page=True)
