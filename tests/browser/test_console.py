"""The web console in a real browser: every screen opened with seeded data and its content asserted, no console
errors, the key only in sessionStorage (never in a URL, localStorage, a cookie or the page), screenshots under
test-artifacts/console/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.browser.conftest import ARTIFACTS, Seeded

pytestmark = pytest.mark.e2e


class Console:
    """A browser tab on the console that records console errors and every URL it requests."""

    def __init__(self, browser: Any, seeded: Seeded) -> None:
        self.seeded = seeded
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)  # a cold function of the local runtime can take seconds on a busy machine
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.urls.append(r.url))
        # what each API request answered and when (printed when a test fails: a wait that timed out says why)
        self.answers: list[str] = []
        self.page.on("requestfinished", lambda r: self._answered(r, ""))
        self.page.on("requestfailed", lambda r: self._answered(r, f" failed: {r.failure}"))

    def _answered(self, request: Any, failure: str) -> None:
        if "/console/" in request.url:
            return
        timing = request.timing  # ms from the request's start; -1 when not known
        took = f"{timing['responseEnd']:.0f} ms" if timing.get("responseEnd", -1) >= 0 else "?"
        status = "" if failure else f" {request.response().status}"
        self.answers.append(f"{request.method} {request.url.split('?')[0]}{status} in {took}{failure}")

    def open(self, fragment: str = "") -> None:
        self.page.goto(f"{self.seeded.base_url}/console/{fragment}")

    def sign_in(self, key: str) -> None:
        self.open()
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("button", name="Sign out").wait_for()

    def go(self, fragment: str) -> None:
        self.page.evaluate("f => { location.hash = f; }", fragment)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def text(self) -> str:
        return str(self.page.inner_text("body"))

    def assert_key_kept_safe(self, key: str) -> None:
        assert all(key not in u for u in self.urls), "the key appeared in a requested URL"
        assert key not in self.page.url
        storage = self.page.evaluate(
            "() => ({session: {...sessionStorage}, local: {...localStorage}, cookie: document.cookie})"
        )
        assert key in storage["session"].values()
        assert key not in str(storage["local"]) and key not in storage["cookie"]
        assert not self.context.cookies()
        assert key not in self.page.content()


@pytest.fixture
def tab(browser: Any, seeded: Seeded) -> Iterator[Console]:
    c = Console(browser, seeded)
    try:
        yield c
    finally:
        try:  # the screen a test ended on (kept for a failure); best effort, a crashed page has none
            c.shot(f"last-{c.page.url.rsplit('#', 1)[-1].strip('/').replace('/', '-')[:40] or 'start'}")
        except Exception as exc:
            print(f"no last screenshot: {exc}")
        print("console errors:", c.errors)
        print("API answers:", *c.answers[-40:], sep="\n  ")
        c.context.close()


def test_console_is_served_with_its_headers(seeded: Seeded) -> None:
    root = requests.get(f"{seeded.base_url}/console", allow_redirects=False, timeout=30)
    assert root.status_code == 301 and root.headers["Location"] == "console/"
    # the console's address is /console/ (the greedy route with an empty rest); /console/index.html is the same page
    index = requests.get(f"{seeded.base_url}/console/", timeout=30)
    assert index.status_code == 200 and 'src="app.js"' in index.text
    named = requests.get(f"{seeded.base_url}/console/index.html", timeout=30)
    assert named.status_code == 200 and named.headers["ETag"] == index.headers["ETag"]
    assert index.headers["Content-Type"].startswith("text/html")
    csp = index.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self' 'sha256-" in csp and "unsafe-inline" not in csp
    assert index.headers["Cache-Control"] == "no-cache" and index.headers["X-Content-Type-Options"] == "nosniff"
    js = requests.get(f"{seeded.base_url}/console/app.js", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert js.headers["Content-Type"].startswith("text/javascript") and js.headers["Content-Encoding"] == "gzip"
    again = requests.get(f"{seeded.base_url}/console/app.js", headers={"If-None-Match": js.headers["ETag"]}, timeout=30)
    assert again.status_code == 304 and not again.content
    assert requests.get(f"{seeded.base_url}/console/missing.js", timeout=30).status_code == 404
    assert requests.get(f"{seeded.base_url}/console/..%2Ftemplate.yaml", timeout=30).status_code == 404


def test_every_screen_with_seeded_data(tab: Console, seeded: Seeded) -> None:
    pid, page = seeded.prompt_id, tab.page
    tab.sign_in(seeded.admin_key)
    # Overview: the prompt with its latest run, verdict and a trend
    row = page.get_by_role("row", name=re.compile("console-prompt"))
    row.get_by_role("link", name=f"run {seeded.run_v2}").wait_for()
    assert row.locator("svg.trend").count() == 1
    assert f"project {seeded.project_id}" in tab.text() and "role admin" in tab.text()
    tab.shot("01-overview")

    # Runs: both runs with status, score, counts, config hash and cost; pick both and compare
    tab.go(f"/prompts/{pid}/runs")
    runs = page.get_by_role("table", name="runs")
    runs.get_by_role("link", name=f"run {seeded.run_v1}").wait_for()
    page.get_by_role("cell", name="$0.0000").first.wait_for()
    assert runs.locator("tbody tr").count() == 2
    assert "completed" in runs.inner_text() and re.search(r"[0-9a-f]{16}", runs.inner_text())
    page.get_by_label(f"select run {seeded.run_v1}").check()
    page.get_by_label(f"select run {seeded.run_v2}").check()
    tab.shot("02-runs")
    page.get_by_label("Status").select_option("failed")
    page.get_by_text("No runs match.").wait_for()
    page.get_by_label("Status").select_option("")
    runs.get_by_role("link", name=f"run {seeded.run_v1}").wait_for()
    # the creation-date filter is the API's (since/until query parameters), not the browser's
    with page.expect_request(lambda r: "/eval/runs?" in r.url and "since=2999-01-01T00" in r.url):
        page.get_by_label("Created from").fill("2999-01-01")
    page.get_by_text("No runs match.").wait_for()
    page.get_by_label("Created from").fill("")
    runs.get_by_role("link", name=f"run {seeded.run_v1}").wait_for()

    # Run: per case variables, output, expected output and assertions; filter to failures; side panel
    tab.go(f"/prompts/{pid}/runs/{seeded.run_v1}")
    page.get_by_role("table", name="scorer statistics").get_by_role("cell", name="icontains", exact=True).wait_for()
    cases = page.get_by_role("table", name="case results")
    cases.get_by_role("cell", name=re.compile(r"Confirmation \[mug\]")).wait_for()
    assert cases.locator("tbody tr").count() == 4
    page.get_by_label("show").select_option("failures")
    assert cases.locator("tbody tr").count() == 2  # mug refuses, lamp does not ship today
    cases.get_by_role("cell", name=re.compile(r"Confirmation \[mug\]")).click()
    panel = page.get_by_role("complementary", name="case detail")
    panel.get_by_text('"product": "mug"').wait_for()
    assert "Thanks for buying the mug! Your order ships today." in panel.inner_text()  # expected output
    assert "We cannot help with that." in panel.inner_text()  # output
    assert "The output does not contain" in panel.get_by_role("table", name="assertions").inner_text()
    tab.shot("03-run")
    page.get_by_label("Search").fill("grinder")
    page.get_by_label("show").select_option("all")
    assert cases.locator("tbody tr").count() == 1

    # Compare: the badge and figures from the stats API, regressions first, a word diff
    tab.go(f"/compare?prompt={pid}&runs={seeded.run_v1},{seeded.run_v2}&control={seeded.run_v1}")
    sig = page.get_by_role("table", name="significance")
    sig.get_by_text("no detectable difference").wait_for()
    stats = requests.get(
        f"{seeded.base_url}/api/v1/evals/{seeded.run_v2}/stats",
        params={"controlRunId": seeded.run_v1},
        headers={"Authorization": f"Bearer {seeded.admin_key}"},
        timeout=30,
    ).json()["comparison"]
    assert stats["verdict"] == "no_difference"
    assert f"{stats['passRate']['delta'] * 100:+.1f} pts" in sig.inner_text()
    first = page.get_by_role("table", name="case comparison").locator("tbody tr").first
    assert "regression" in first.inner_text() and "grinder" in first.inner_text()
    assert first.locator("del").count() >= 1 and first.locator("ins").count() >= 1
    tab.shot("04-compare")

    # Gate: the latest check in words and figures, the settings form
    tab.go(f"/prompts/{pid}/gate")
    page.locator("#gate-reason").wait_for()
    assert page.get_by_label("Threshold", exact=True).input_value() == "0.5"
    assert page.get_by_role("button", name="Save gate").is_enabled()
    tab.shot("05-gate")

    # Prompt: versions with a diff, datasets with cases, suites with tests and assertions
    tab.go(f"/prompts/{pid}")
    diff = page.get_by_label("version diff")
    diff.locator("ins", has_text="politely.").wait_for()
    versions = page.get_by_role("table", name="versions")
    assert [c.strip() for c in versions.locator("tbody tr td:first-child").all_inner_texts()] == ["v2", "v1"]
    page.get_by_role("button", name="orders").click()
    page.get_by_role("table", name="cases").get_by_role("cell", name="grinder", exact=True).wait_for()
    page.get_by_role("button", name="console-suite").click()
    page.get_by_role("table", name="tests").get_by_text("ships today").wait_for()
    tab.shot("06-prompt")

    # External runs and Humanloop, through the same run view
    tab.go("/evals")
    page.get_by_role("link", name=f"run {seeded.external_run}").click()
    page.get_by_role("table", name="case results").get_by_role("cell", name="ext-0", exact=True).wait_for()
    assert re.search(r"4 / 2 / 0", tab.text())  # passed / failed / errored, from the stats API
    tab.shot("07-external-run")
    tab.go("/humanloop")
    page.get_by_role("link", name=seeded.evaluation_id).click()
    page.get_by_role("heading", name=f"Humanloop evaluation {seeded.evaluation_id}").wait_for()
    tab.shot("08-humanloop")

    # Production: traces, the monitor, the job and its report
    tab.go("/production")
    page.get_by_role("table", name="traces").get_by_role("cell", name="console-011").wait_for()
    page.get_by_role("table", name="monitors").get_by_text("rate(1 day)").wait_for()
    # the project's auto-eval jobs, listed by the API with their progress
    jobs = page.get_by_role("table", name="auto-eval jobs")
    jobs.get_by_role("link", name=f"{seeded.job_id[:8]}…").wait_for()
    bar = jobs.get_by_role("progressbar", name=f"progress of job {seeded.job_id[:8]}")
    assert bar.get_attribute("aria-valuenow") == "12" and bar.get_attribute("aria-valuemax") == "12"
    tab.shot("09-production")
    page.get_by_label("Status").select_option("failed")
    page.get_by_text("No auto-eval jobs with status failed").wait_for()
    page.get_by_label("Status").select_option("")
    jobs.get_by_role("link", name=f"{seeded.job_id[:8]}…").click()
    page.get_by_text("completed").first.wait_for()
    page.get_by_role("progressbar", name="job progress").wait_for()
    assert "12/12" in tab.text()
    # the report's figures drawn as the API gives them: intervals per metric and score distributions
    page.locator("svg[aria-label^='score distribution of']").first.wait_for()
    chart = page.locator("svg[aria-label='baseline vs current pass rate per metric']")
    assert chart.locator("line[stroke-width='2']").count() >= 1
    tab.shot("10-auto-eval-job")

    assert tab.errors == []
    tab.assert_key_kept_safe(seeded.admin_key)


def test_upload_and_edit_a_case(tab: Console, seeded: Seeded, tmp_path: Any) -> None:
    tab.sign_in(seeded.admin_key)
    page = tab.page
    tab.go(f"/prompts/{seeded.prompt_id}")
    csv = tmp_path / "more.csv"
    csv.write_text("name,product,expected_output\nnew-a,lamp,Thanks!\nnew-b,mug,Thanks!\n")
    page.get_by_label("File (CSV, JSON, JSON Lines)").set_input_files(str(csv))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Imported 2 cases into dataset").wait_for()
    assert page.get_by_role("progressbar", name="upload progress").evaluate("e => e.value") == 1
    page.get_by_role("button", name="edit case new-a").click()
    page.get_by_label("Expected output").fill("Thanks, edited!")
    page.get_by_role("button", name="Save case").click()
    page.get_by_role("table", name="cases").get_by_text("Thanks, edited!").wait_for()
    page.get_by_role("button", name="edit case new-b").click()
    page.get_by_label("Variables (JSON)").fill("not json")
    page.get_by_role("button", name="Save case").click()
    page.get_by_role("alert").get_by_text("Variables must be a JSON object").wait_for()
    tab.shot("11-dataset-upload-edit")
    assert tab.errors == []


def test_viewer_sees_no_write_actions(tab: Console, seeded: Seeded) -> None:
    tab.sign_in(seeded.viewer_key)
    page = tab.page
    assert "role viewer" in tab.text()
    tab.go(f"/prompts/{seeded.prompt_id}/gate")
    page.get_by_text("Your key is a viewer: the gate is read-only.").wait_for()
    assert page.get_by_role("button", name="Save gate").count() == 0
    tab.go(f"/prompts/{seeded.prompt_id}")
    page.get_by_role("table", name="datasets").wait_for()
    assert page.get_by_role("button", name="Upload").count() == 0
    page.get_by_role("button", name="orders").click()
    page.get_by_role("table", name="cases").get_by_role("cell", name="grinder", exact=True).wait_for()
    assert page.get_by_role("button", name=re.compile("^edit case")).count() == 0
    tab.shot("12-viewer")
    assert tab.errors == []
    tab.assert_key_kept_safe(seeded.viewer_key)


def test_errors_are_words_and_sign_out_forgets_the_key(tab: Console, seeded: Seeded) -> None:
    page = tab.page
    tab.open()
    page.get_by_label("API key").fill("eg_not_a_real_key")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "HTTP 401" in alert.inner_text() and "eg_not_a_real_key" not in alert.inner_text()
    tab.shot("13-bad-key")
    tab.sign_in(seeded.admin_key)
    tab.go(f"/prompts/{seeded.prompt_id}/runs/999999")
    page.get_by_role("alert").first.wait_for()
    assert "HTTP 404" in page.get_by_role("alert").first.inner_text()
    tab.go("/no/such/screen")
    page.get_by_role("heading", name="Not found").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.evaluate("() => sessionStorage.length") == 0
    # the browser logs the failed requests themselves (401/404): those are the only console messages
    assert all("Failed to load resource" in e for e in tab.errors), tab.errors


def test_deep_link_opens_after_sign_in_and_keyboard_moves_through_cases(tab: Console, seeded: Seeded) -> None:
    page = tab.page
    tab.sign_in(seeded.admin_key)
    tab.open(f"#/prompts/{seeded.prompt_id}/runs/{seeded.run_v2}")  # a new load: the key comes from the session
    first = page.get_by_role("table", name="case results").locator("tbody tr").first
    first.wait_for()
    first.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary", name="case detail")
    panel.wait_for()
    name = panel.get_by_role("heading").first.inner_text()
    page.keyboard.press("ArrowDown")
    page.wait_for_function("t => document.querySelector('aside h2').innerText !== t", arg=name)
    page.keyboard.press("Escape")
    assert panel.count() == 0
    assert tab.errors == []


def test_a_file_over_5_mb_goes_to_its_upload_url_with_progress(tab: Console, seeded: Seeded, tmp_path: Any) -> None:
    """Over the API's 5 MB inline limit: a presigned upload URL, a PUT of the file with progress (without the key:
    the URL carries its own signature), then the import by uploadId."""
    tab.sign_in(seeded.admin_key)
    page = tab.page
    tab.go(f"/prompts/{seeded.prompt_id}")
    big = tmp_path / "big.csv"
    big.write_text("name,product\n" + "".join(f"big-{i:02d},{'x' * 90_000}\n" for i in range(60)))
    assert big.stat().st_size > 5 * 1024 * 1024
    puts: list[Any] = []
    page.on("request", lambda r: r.method == "PUT" and puts.append(r))
    page.get_by_label("File (CSV, JSON, JSON Lines)").set_input_files(str(big))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Imported 60 cases into dataset").wait_for()
    (put,) = puts
    assert "X-Amz-Signature" in put.url or "Signature=" in put.url
    assert "authorization" not in {k.lower() for k in put.headers} and put.headers["content-type"] == "text/csv"
    assert not put.url.startswith(seeded.base_url)  # the storage's origin, which the CSP names
    page.get_by_role("table", name="cases").get_by_role("cell", name="big-00", exact=True).wait_for()
    page.get_by_label("upload progress").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "12-dataset-upload-over-5mb.png"))  # the viewport: 60 cases of 90 KB
    assert tab.errors == []
    tab.assert_key_kept_safe(seeded.admin_key)
