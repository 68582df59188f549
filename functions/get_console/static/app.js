// The evalgate console: screens over the public JSON API, with the key pasted at sign-in.
import { render } from "preact";
import { useEffect, useMemo, useRef, useState, useCallback } from "preact/hooks";
import { html, api, all, prefetch, session, describe, parseHash, link, fmt, Diff, Sparkline, IntervalChart, BoxPlot, Bars } from "./lib.js";
import { useLoad, ErrorBox, Loading, Badge, canWrite, Card } from "./ui.js";
import { PromptScreen } from "./prompt.js";
import { ProductionScreen, JobScreen } from "./production.js";
import { QueuesScreen, QueueScreen, ReviewScreen, AgreementScreen } from "./review.js";


// -- sign-in --------------------------------------------------------------------------------------------
function SignIn({ onSignedIn }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api("/api/v1/me", { key: key.trim() });
      session.set(key.trim());
      setKey("");
      onSignedIn(me);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main><form class="signin" onSubmit=${submit} aria-labelledby="signin-title">
    <h1 id="signin-title">Sign in to evalgate</h1>
    <p class="note">Paste an API key. It stays in this tab's session storage, is sent only as a request header
      to this API, and is forgotten when the tab closes or you sign out.</p>
    <label for="apikey" style="display:block">API key</label>
    <input id="apikey" name="apikey" type="password" autocomplete="off" spellcheck="false" required
      value=${key} onInput=${(e) => setKey(e.target.value)} />
    <${ErrorBox} error=${error} />
    <button class="primary" type="submit" disabled=${busy || !key.trim()}>${busy ? "Checking…" : "Sign in"}</button>
  </form></main>`;
}

// -- overview ---------------------------------------------------------------------------------------------
function Overview({ me }) {
  const prompts = useLoad(() => all("/api/prompts", { query: { limit: 100 }, max: 200 }), []);
  return html`<main><h1>Overview · project ${me.projectId}</h1>
    <${ErrorBox} error=${prompts.error} />
    ${prompts.loading && !prompts.data ? html`<${Loading} what="prompts" />` : null}
    ${prompts.data && !prompts.data.length ? html`<p>No prompts yet. Create one through <code>POST /api/prompts</code>.</p>` : null}
    ${prompts.data && prompts.data.length ? html`<table aria-label="prompts">
      <thead><tr><th>Prompt</th><th class="num">Versions</th><th>Latest run</th><th class="num">Score</th><th>Verdict</th><th>Trend (recent runs)</th><th>Gate</th></tr></thead>
      <tbody>${prompts.data.map((p) => html`<${OverviewRow} key=${p.id} p=${p} />`)}</tbody></table>` : null}
    <h2>Elsewhere</h2>
    <ul><li><a href=${link("/evals")}>External runs (EvalGuard)</a></li><li><a href=${link("/humanloop")}>Humanloop evaluations</a></li>
      <li><a href=${link("/production")}>Production: traces, auto-eval jobs, monitors</a></li></ul>
  </main>`;
}

function OverviewRow({ p }) {
  const runs = useLoad(() => api(`/api/prompts/${p.id}/eval/runs`, { query: { limit: 20 } }), [p.id]);
  const items = (runs.data && runs.data.items) || [];
  const latest = items[0];
  const scores = items.filter((r) => r.score !== null).map((r) => r.score).reverse();
  return html`<tr>
    <td><a href=${link(`/prompts/${p.id}`)}>${p.name}</a> <span class="note">#${p.id}</span></td>
    <td class="num">${p.latestVersion ?? "–"}</td>
    <td>${runs.error ? html`<span class="note">${describe(runs.error)}</span>` : latest
      ? html`<a href=${link(`/prompts/${p.id}/runs/${latest.id}`)}>run ${latest.id}</a> <${Badge} v=${latest.status} />`
      : runs.loading ? "…" : html`<span class="note">no runs</span>`}</td>
    <td class="num">${latest ? fmt.num(latest.score, 1) : "–"}</td>
    <td>${latest ? html`<${Badge} v=${latest.verdict} />` : "–"}</td>
    <td><${Sparkline} values=${scores} label=${`score trend of prompt ${p.name}`} /></td>
    <td><a href=${link(`/prompts/${p.id}/runs`)}>runs</a> · <a href=${link(`/prompts/${p.id}/gate`)}>gate</a></td>
  </tr>`;
}

// -- runs -------------------------------------------------------------------------------------------------
const ACTIVE = new Set(["pending", "queued", "running"]);
const runFilters = (q) => ({ status: q.status || "", suiteId: q.suiteId || "", versionNo: q.versionNo || "", since: q.since || "", until: q.until || "" });
const dayStart = (day, plus) => new Date(Date.parse(`${day}T00:00:00Z`) + plus * 86400000).toISOString().replace(".000Z", "Z");
const dayBefore = (iso) => new Date(Date.parse(iso) - 86400000).toISOString().slice(0, 10);

function Runs({ me, promptId, query }) {
  const [filters, setFilters] = useState(runFilters(query));
  const [cursors, setCursors] = useState([null]);
  const [picked, setPicked] = useState([]);
  const [progress, setProgress] = useState({});
  const [actionError, setActionError] = useState(null);
  const cursor = cursors[cursors.length - 1];
  // every filter is a query parameter of the list (the API filters; a cursor belongs to its filters)
  const runs = useLoad(() => api(`/api/prompts/${promptId}/eval/runs`, { query: { limit: 50, cursor, ...filters } }), [promptId, cursor, filters.status, filters.suiteId, filters.versionNo, filters.since, filters.until]);
  const items = (runs.data && runs.data.items) || [];
  // live progress of running runs: poll their status while any is active
  useEffect(() => {
    const active = items.filter((r) => ACTIVE.has((progress[r.id] || r).status));
    if (!active.length) return undefined;
    const t = setTimeout(async () => {
      const next = { ...progress };
      await Promise.all(active.map(async (r) => {
        try { next[r.id] = await api(`/api/prompts/${promptId}/eval/runs/${r.id}/status`); } catch (e) { /* shown on the next reload */ }
      }));
      setProgress(next);
      if (active.every((r) => !ACTIVE.has((next[r.id] || r).status))) runs.reload();
    }, 1000);
    return () => clearTimeout(t);
  }, [items, progress]);
  const cancel = async (r) => {
    setActionError(null);
    try { await api(`/api/prompts/${promptId}/eval/runs/${r.id}/cancel`, { method: "POST" }); runs.reload(); } catch (e) { setActionError(e); }
  };
  const toggle = (id) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id]));
  const setF = (k) => (e) => { setCursors([null]); setFilters({ ...filters, [k]: e.target.value }); };
  // a day picked "from" is its start, a day picked "to" is included: until = the next day's start (UTC)
  const setDay = (k, plus) => (e) => setF(k)({ target: { value: e.target.value ? dayStart(e.target.value, plus) : "" } });
  return html`<main><h1>Runs · prompt ${promptId}</h1>
    <nav class="toolbar" aria-label="prompt"><a href=${link(`/prompts/${promptId}`)}>Prompt</a> · <a href=${link(`/prompts/${promptId}/gate`)}>Gate</a></nav>
    <form class="toolbar" onSubmit=${(e) => e.preventDefault()} aria-label="filters">
      <label>Status <select value=${filters.status} onChange=${setF("status")}>
        ${["", "pending", "running", "completed", "failed", "cancelled"].map((s) => html`<option value=${s}>${s || "any"}</option>`)}</select></label>
      <label>Suite id <input type="number" min="1" size="6" value=${filters.suiteId} onChange=${setF("suiteId")} /></label>
      <label>Version <input type="number" min="1" size="6" value=${filters.versionNo} onChange=${setF("versionNo")} /></label>
      <label>Created from <input type="date" value=${filters.since.slice(0, 10)} onChange=${setDay("since", 0)} /></label>
      <label>to <input type="date" value=${filters.until ? dayBefore(filters.until) : ""} onChange=${setDay("until", 1)} /></label>
      <a class=${picked.length < 2 ? "disabled" : ""} aria-disabled=${picked.length < 2}
        href=${picked.length >= 2 ? link("/compare", { prompt: promptId, runs: picked.join(","), control: picked[picked.length - 1] }) : undefined}
        id="compare-link">Compare ${picked.length} selected${picked.length < 2 ? " (pick 2 or more)" : ""}</a>
    </form>
    <${ErrorBox} error=${runs.error || actionError} />
    ${runs.loading && !runs.data ? html`<${Loading} what="runs" />` : null}
    <table aria-label="runs"><thead><tr><th><span class="sr-only">select</span></th><th>Run</th><th>Status</th><th class="num">Score</th>
      <th class="num">Passed</th><th class="num">Failed</th><th class="num">Errored</th><th>Progress</th><th class="num">Duration</th>
      <th class="num">Cost</th><th>Config hash</th><th>Suite · version</th><th>Created</th><th></th></tr></thead>
    <tbody>${items.map((r0) => {
      const r = { ...r0, ...(progress[r0.id] || {}) };
      const pr = r.progress || { done: 0, total: 0 };
      return html`<tr key=${r.id} class=${picked.includes(r.id) ? "sel" : ""}>
        <td><input type="checkbox" aria-label=${`select run ${r.id}`} checked=${picked.includes(r.id)} onChange=${() => toggle(r.id)} /></td>
        <td><a href=${link(`/prompts/${promptId}/runs/${r.id}`)}>run ${r.id}</a></td>
        <td><${Badge} v=${r.status} /> ${r.verdict ? html`<${Badge} v=${r.verdict} />` : null}</td>
        <td class="num">${fmt.num(r.score, 1)}</td>
        <td class="num">${r.summary ? r.summary.passed : "–"}</td><td class="num">${r.summary ? r.summary.failed : "–"}</td><td class="num">${r.summary ? r.summary.errored : "–"}</td>
        <td><div class="bar" role="progressbar" aria-label=${`progress of run ${r.id}`} aria-valuemin="0" aria-valuemax=${pr.total || 0} aria-valuenow=${pr.done}>
          <span style=${`width:${pr.total ? (100 * pr.done) / pr.total : 0}%`}></span></div><span class="note">${pr.done}/${pr.total || "?"}</span></td>
        <td class="num">${fmt.ms(r.durationMs)}</td>
        <td class="num">${fmt.usd(r.costUsd)}</td>
        <td><code>${r.configHash}</code></td>
        <td>${r.suiteId ? `suite ${r.suiteId}` : "–"} · v${r.versionNo ?? "–"}</td>
        <td>${fmt.when(r.createdAt)}</td>
        <td>${ACTIVE.has(r.status) && canWrite(me) ? html`<button class="danger" onClick=${() => cancel(r)}>Cancel</button>` : null}</td></tr>`;
    })}</tbody></table>
    ${runs.data && !items.length ? html`<p>No runs match.</p>` : null}
    <div class="toolbar">
      <button disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>
      <button disabled=${!(runs.data && runs.data.nextCursor)} onClick=${() => setCursors([...cursors, runs.data.nextCursor])}>Next page</button>
    </div></main>`;
}

// -- run --------------------------------------------------------------------------------------------------
const PAGE = 100;

// Results of a run, page by page (suite runs: the run endpoint; external runs: /results mapped to one shape)
export async function resultsPage(source, cursor) {
  if (source.promptId) {
    const r = await api(`/api/prompts/${source.promptId}/eval/runs/${source.runId}`, { query: { limit: PAGE, cursor } });
    return { run: r, items: r.results, next: r.nextCursor };
  }
  const r = await api(`/api/v1/evals/${source.runId}/results`, { query: { limit: PAGE, cursor } });
  const items = r.items.map((x, i) => ({
    name: x.id || String(i), status: x.passed === true ? "passed" : x.passed === false ? "failed" : "errored",
    score: x.score, output: typeof x.actualOutput === "string" ? x.actualOutput : JSON.stringify(x.actualOutput ?? null),
    expectedOutput: typeof x.expectedOutput === "string" ? x.expectedOutput : x.expectedOutput == null ? null : JSON.stringify(x.expectedOutput),
    variables: typeof x.input === "object" && x.input !== null ? x.input : { input: x.input },
    durationMs: x.latency, inputTokens: (x.tokenUsage || {}).input ?? (x.tokenUsage || {}).prompt, outputTokens: (x.tokenUsage || {}).output ?? (x.tokenUsage || {}).completion,
    costUsd: x.cost, repeat: 0,
    assertions: Object.entries(x.scorerResults || {}).map(([k, v]) => (typeof v === "object" && v !== null
      ? { operator: k, status: v.passed === false ? "failed" : v.passed === true ? "passed" : "–", expected: v.expected, actual: v.actual ?? v.score, score: v.score, reason: v.reason }
      : { operator: k, status: "–", actual: v, score: typeof v === "number" ? v : null })),
  }));
  return { run: null, items, next: r.nextCursor };
}

function RunScreen({ me, promptId, runId, external }) {
  const source = external ? { runId } : { promptId, runId };
  const stats = useLoad(() => api(`/api/v1/evals/${runId}/stats`), [runId]);
  const head = useLoad(() => (external ? api(`/api/v1/evals/${runId}`) : api(`/api/prompts/${promptId}/eval/runs/${runId}/status`)), [runId]);
  const [pages, setPages] = useState([null]);
  const [pageNo, setPageNo] = useState(0);
  const page = useLoad(() => resultsPage(source, pages[pageNo]), [runId, pageNo, pages[pageNo]]);
  const [show, setShow] = useState("all");
  const [search, setSearch] = useState("");
  const [open, setOpen] = useState(null);
  const tableRef = useRef(null);
  useEffect(() => {
    if (page.data && page.data.next && pages.length === pageNo + 1) setPages([...pages, page.data.next]);
  }, [page.data]);
  const rows = useMemo(() => {
    const items = (page.data && page.data.items) || [];
    const s = search.trim().toLowerCase();
    return items.filter((r) => (show === "all" || (show === "failures" ? r.status === "failed" : show === "errors" ? r.status === "errored" : r.status !== "passed"))
      && (!s || [r.name, r.output, r.expectedOutput, JSON.stringify(r.variables || {})].some((t) => (t || "").toLowerCase().includes(s))));
  }, [page.data, show, search]);
  const onKey = (e) => {
    const i = rows.indexOf(open);
    if (e.key === "ArrowDown" || e.key === "j") { e.preventDefault(); setOpen(rows[Math.min(rows.length - 1, i + 1)] || null); }
    else if (e.key === "ArrowUp" || e.key === "k") { e.preventDefault(); setOpen(rows[Math.max(0, i - 1)] || null); }
    else if (e.key === "Escape") setOpen(null);
  };
  useEffect(() => {
    const el = tableRef.current && tableRef.current.querySelector("tr.sel");
    if (el) el.scrollIntoView({ block: "nearest" });
  }, [open]);
  const st = stats.data;
  const h = head.data || {};
  const status = h.status;
  return html`<main><h1>${external ? "External run" : "Run"} ${runId}${!external ? html` <span class="note">· prompt ${promptId}</span>` : null} <${Badge} v=${status} />
      ${h.verdict ? html` <${Badge} v=${h.verdict} />` : null}</h1>
    <nav class="toolbar" aria-label="run">${!external ? html`<a href=${link(`/prompts/${promptId}/runs`)}>All runs</a> ·` : html`<a href=${link("/evals")}>All external runs</a> ·`}
      <a href=${link("/compare", { prompt: promptId, runs: runId, control: "" })}>Compare with…</a></nav>
    <${ErrorBox} error=${stats.error || head.error} />
    ${st ? html`<div class="cards">
      <${Card} k="pass rate (95% Wilson)" v=${html`${fmt.pct(st.passRate && st.passRate.value)} <span class="note">${fmt.ci(st.passRate && st.passRate.ci95, (v) => fmt.pct(v, 0))}</span>`} />
      <${Card} k="passed / failed / errored" v=${`${st.passed} / ${st.failed} / ${st.errors}`} />
      <${Card} k="mean score" v=${fmt.num(st.score && st.score.mean)} />
      <${Card} k="latency mean · total" v=${html`${fmt.ms(st.latency && st.latency.meanMs)} <span class="note">· ${fmt.ms(st.latency && st.latency.totalMs)}</span>`} />
      <${Card} k="tokens in · out" v=${`${fmt.int(st.tokens && st.tokens.input)} · ${fmt.int(st.tokens && st.tokens.output)}`} />
      <${Card} k="cost" v=${fmt.usd(st.costUsd)} />
      ${h.durationMs !== undefined ? html`<${Card} k="duration" v=${fmt.ms(h.durationMs)} />` : null}
    </div>
    <h2>Per scorer</h2>
    <table aria-label="scorer statistics"><thead><tr><th>Scorer</th><th class="num">Count</th><th class="num">Errors</th><th class="num">Mean</th><th class="num">Std</th>
      <th class="num">Pass rate</th><th>95% interval</th><th>Distribution (p0 · p25–p75 · p50 · p100)</th></tr></thead>
    <tbody>${Object.entries(st.scorers || {}).map(([name, s]) => html`<tr key=${name}><td>${name}</td><td class="num">${s.count}</td><td class="num">${s.errors}</td>
      <td class="num">${fmt.num(s.score && s.score.mean)}</td><td class="num">${fmt.num(s.score && s.score.std)}</td>
      <td class="num">${fmt.pct(s.passRate && s.passRate.value)}</td><td>${fmt.ci(s.passRate && s.passRate.ci95, (v) => fmt.pct(v, 0))}</td>
      <td><${BoxPlot} p=${s.score && s.score.percentiles} label=${`score distribution of ${name}`} /></td></tr>`)}</tbody></table>` : stats.loading ? html`<${Loading} what="statistics" />` : null}
    <h2>Cases</h2>
    <div class="toolbar" role="group" aria-label="result filters">
      <label>Show <select value=${show} onChange=${(e) => setShow(e.target.value)} aria-label="show">
        <option value="all">all</option><option value="notpassed">failures and errors</option><option value="failures">failures</option><option value="errors">errors</option></select></label>
      <label>Search <input type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} placeholder="name, output, variables" /></label>
      <span class="note">page ${pageNo + 1} (${PAGE} cases a page; filters and search apply to this page) · ↑/↓ or j/k move, Esc closes</span>
      <button disabled=${pageNo === 0} onClick=${() => { setPageNo(pageNo - 1); setOpen(null); }}>Previous page</button>
      <button disabled=${!(page.data && page.data.next)} onClick=${() => { setPageNo(pageNo + 1); setOpen(null); }}>Next page</button>
    </div>
    <${ErrorBox} error=${page.error} />
    <div class="layout"><div class="grow" ref=${tableRef} onKeyDown=${onKey}>
      <table aria-label="case results"><thead><tr><th>Case</th><th>Status</th><th class="num">Score</th><th>Output</th><th>Assertions</th><th class="num">Latency</th><th class="num">Tokens</th><th class="num">Cost</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.name + "#" + r.repeat} class=${"clickable" + (open === r ? " sel" : "")} tabindex="0"
          onClick=${() => setOpen(r)} onKeyDown=${(e) => e.key === "Enter" && setOpen(r)} aria-selected=${open === r}>
        <td>${r.name}${r.repeat ? html` <span class="note">repeat ${r.repeat}</span>` : null}</td><td><${Badge} v=${r.status} /></td>
        <td class="num">${fmt.num(r.score)}</td><td class="clip">${r.error ? html`<span class="note">${r.error}</span>` : r.output}</td>
        <td>${(r.assertions || []).map((a) => html`<span class="badge ${a.status}" title=${a.reason || ""}>${a.operator}</span> `)}</td>
        <td class="num">${fmt.ms(r.durationMs)}</td><td class="num">${(r.inputTokens ?? "–")}/${(r.outputTokens ?? "–")}</td><td class="num">${fmt.usd(r.costUsd)}</td></tr>`)}</tbody></table>
      ${page.loading ? html`<${Loading} what="cases" />` : !rows.length ? html`<p>No case matches.</p>` : null}
    </div>
    ${open ? html`<aside class="panel" aria-label="case detail"><h2>${open.name} <${Badge} v=${open.status} /></h2>
      <button onClick=${() => setOpen(null)}>Close</button>
      <h3>Variables</h3><pre>${JSON.stringify(open.variables || {}, null, 2)}</pre>
      <h3>Expected output</h3><pre>${open.expectedOutput ?? "(none)"}</pre>
      <h3>Output</h3><pre>${open.error ? "error: " + open.error : open.output}</pre>
      <h3>Assertions</h3>
      <table aria-label="assertions"><thead><tr><th>Assertion</th><th>Status</th><th>Expected</th><th>Actual</th><th>Reason</th></tr></thead>
      <tbody>${(open.assertions || []).map((a) => html`<tr><td>${a.operator}</td><td><${Badge} v=${a.status} /></td>
        <td>${typeof a.expected === "string" ? a.expected : JSON.stringify(a.expected ?? null)}</td>
        <td>${typeof a.actual === "string" ? a.actual : JSON.stringify(a.actual ?? null)}</td><td>${a.reason || ""}</td></tr>`)}</tbody></table>
      <p class="note">latency ${fmt.ms(open.durationMs)} · tokens ${open.inputTokens ?? "–"} in, ${open.outputTokens ?? "–"} out · cost ${fmt.usd(open.costUsd)}${open.cached ? " · from cache" : ""}</p>
    </aside>` : null}</div></main>`;
}

// -- compare ----------------------------------------------------------------------------------------------
const MAX_COMPARE_CASES = 2000;

async function allResults(source) {
  const out = [];
  let cursor = null;
  do {
    const p = await resultsPage(source, cursor);
    out.push(...p.items);
    cursor = p.next;
  } while (cursor && out.length < MAX_COMPARE_CASES);
  return { items: out, truncated: Boolean(cursor) };
}

const VERDICT_WORDS = { better: "significantly better", worse: "significantly worse", no_difference: "no detectable difference" };

function Compare({ query }) {
  const promptId = query.prompt || "";
  const [runsText, setRunsText] = useState(query.runs || "");
  const ids = (query.runs || "").split(",").map((s) => s.trim()).filter(Boolean);
  const control = query.control || ids[0];
  const others = ids.filter((i) => i !== control);
  const data = useLoad(async () => {
    if (ids.length < 2) return null;
    const src = (id) => (promptId ? { promptId, runId: id } : { runId: id });
    const [results, stats] = await Promise.all([
      Promise.all(ids.map((id) => allResults(src(id)))),
      Promise.all(others.map((id) => api(`/api/v1/evals/${id}/stats`, { query: { controlRunId: control } }))),
    ]);
    return { results: Object.fromEntries(ids.map((id, i) => [id, results[i]])), stats: Object.fromEntries(others.map((id, i) => [id, stats[i]])) };
  }, [query.runs, control, promptId]);
  const [only, setOnly] = useState("changed");
  const go = (e) => { e.preventDefault(); location.hash = link("/compare", { prompt: promptId, runs: runsText.replace(/\s+/g, ""), control: runsText.split(",")[0].trim() }); };
  const rows = useMemo(() => {
    if (!data.data) return [];
    const keyOf = (r) => `${r.name}#${r.repeat || 0}`;
    const by = Object.fromEntries(ids.map((id) => [id, new Map(data.data.results[id].items.map((r) => [keyOf(r), r]))]));
    const keys = [...by[control].keys()];
    for (const id of others) for (const k of by[id].keys()) if (!by[control].has(k)) keys.push(k);
    const rank = (k) => {
      const c = by[control].get(k);
      const changes = others.map((id) => by[id].get(k)).filter(Boolean);
      if (c && changes.some((r) => c.status === "passed" && r.status !== "passed")) return 0; // regression
      if (c && changes.some((r) => c.status !== "passed" && r.status === "passed")) return 1; // improvement
      if (c && changes.some((r) => r.output !== c.output)) return 2;
      return 3;
    };
    return [...new Set(keys)].map((k) => ({ key: k, rank: rank(k) })).sort((a, b) => a.rank - b.rank)
      .map(({ key, rank }) => ({ key, rank, control: by[control].get(key), runs: others.map((id) => by[id].get(key)) }));
  }, [data.data]);
  const shown = rows.filter((r) => only === "all" || (only === "changed" ? r.rank < 3 : r.rank === Number(only)));
  return html`<main><h1>Compare runs</h1>
    <form class="toolbar" onSubmit=${go} aria-label="runs to compare">
      <label>Runs (comma separated, control first) <input value=${runsText} onInput=${(e) => setRunsText(e.target.value)} size="24" /></label>
      <button type="submit">Compare</button>
      ${ids.length ? html`<label>Control <select value=${control} onChange=${(e) => { location.hash = link("/compare", { prompt: promptId, runs: ids.join(","), control: e.target.value }); }}>
        ${ids.map((id) => html`<option value=${id}>run ${id}</option>`)}</select></label>` : null}
    </form>
    ${ids.length < 2 ? html`<p>Pick two or more runs (on a prompt's Runs screen, or type their ids above).</p>` : null}
    <${ErrorBox} error=${data.error} />
    ${data.loading && ids.length >= 2 ? html`<${Loading} what="both runs" />` : null}
    ${data.data ? html`
      <h2>Against control run ${control}</h2>
      <table aria-label="significance"><thead><tr><th>Run</th><th>Verdict</th><th class="num">Shared cases</th><th class="num">Pass rate (control → run)</th>
        <th class="num">Δ pass rate</th><th>95% interval</th><th class="num">McNemar p</th><th class="num">Δ mean score</th><th>Bootstrap 95% interval</th></tr></thead>
      <tbody>${others.map((id) => { const c = data.data.stats[id].comparison || {}; const pr = c.passRate || {}; const sc = c.score || {};
        return html`<tr key=${id}><td><a href=${promptId ? link(`/prompts/${promptId}/runs/${id}`) : link(`/evals/${id}`)}>run ${id}</a></td>
          <td><span class="badge ${c.verdict}" data-verdict=${c.verdict}>${VERDICT_WORDS[c.verdict] || "–"}</span><div class="note">${c.verdictReason || ""}</div></td>
          <td class="num">${c.sharedCases ?? "–"}</td><td class="num">${fmt.pct(pr.control)} → ${fmt.pct(pr.current)}</td>
          <td class="num">${fmt.signedPct(pr.delta)}</td><td>${fmt.ci(pr.ci, (v) => fmt.signedPct(v))}</td>
          <td class="num">${fmt.p(c.mcnemar && c.mcnemar.pValue)}</td><td class="num">${fmt.signed(sc.meanDelta)}</td><td>${fmt.ci(sc.ci, (v) => fmt.signed(v))}</td></tr>`; })}</tbody></table>
      <p class="note">Figures from <code>GET /api/v1/evals/{runId}/stats?controlRunId=${control}</code>; the console computes none of them.
        ${ids.some((id) => data.data.results[id].truncated) ? ` Case lists show the first ${MAX_COMPARE_CASES} cases of each run.` : ""}</p>
      <h2>Cases</h2>
      <div class="toolbar"><label>Show <select value=${only} onChange=${(e) => setOnly(e.target.value)}>
        <option value="changed">regressions, improvements, changed outputs</option><option value="0">regressions</option><option value="1">improvements</option><option value="all">all cases</option></select></label>
        <span class="note">${rows.filter((r) => r.rank === 0).length} regressions · ${rows.filter((r) => r.rank === 1).length} improvements · ${rows.length} cases</span></div>
      <table aria-label="case comparison"><thead><tr><th>Case</th><th>Control ${control}</th>${others.map((id) => html`<th>Run ${id} (word diff against the control)</th>`)}</tr></thead>
      <tbody>${shown.map((r) => html`<tr key=${r.key} class=${r.rank === 0 ? "regression" : r.rank === 1 ? "improvement" : ""}>
        <td>${r.key.replace(/#0$/, "")}<div>${r.rank === 0 ? html`<span class="badge worse">regression</span>` : r.rank === 1 ? html`<span class="badge better">improvement</span>` : null}</div></td>
        <td>${r.control ? html`<${Badge} v=${r.control.status} /> <span class="note">${fmt.num(r.control.score)}</span><div>${r.control.output}</div>` : html`<span class="note">not in this run</span>`}</td>
        ${r.runs.map((x) => html`<td>${x ? html`<${Badge} v=${x.status} /> <span class="note">${fmt.num(x.score)}</span><div><${Diff} a=${r.control ? r.control.output : ""} b=${x.output} /></div>` : html`<span class="note">not in this run</span>`}</td>`)}
      </tr>`)}</tbody></table>` : null}
  </main>`;
}

// -- gate -------------------------------------------------------------------------------------------------
function Gate({ me, promptId }) {
  const gate = useLoad(() => api(`/api/prompts/${promptId}/eval/gate`).catch((e) => (e.status === 404 ? null : Promise.reject(e))), [promptId]);
  const [form, setForm] = useState(null);
  const [saved, setSaved] = useState(null);
  const [check, setCheck] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { if (gate.data !== undefined) setForm(gate.data ? { ...gate.data } : { metric: "pass_rate", threshold: 0.9, mode: "threshold", margin: 0.05, minSamples: 10, allowInconclusive: false, confidence: 0.95, controlRunId: null }); }, [gate.data]);
  const runCheck = async () => { setError(null); try { setCheck(await api(`/api/prompts/${promptId}/eval/gate/check`, { method: "POST", body: {} })); } catch (e) { setError(e); } };
  useEffect(() => { runCheck(); }, [promptId]);
  const save = async (e) => {
    e.preventDefault(); setError(null); setSaved(null);
    const body = { metric: form.metric, threshold: Number(form.threshold), mode: form.mode, margin: Number(form.margin), minSamples: Number(form.minSamples),
      allowInconclusive: Boolean(form.allowInconclusive), confidence: Number(form.confidence), controlRunId: form.controlRunId ? Number(form.controlRunId) : null };
    if (form.kOfN && form.kOfN.k) body.kOfN = { k: Number(form.kOfN.k), n: Number(form.kOfN.n) };
    try { setSaved(await api(`/api/prompts/${promptId}/eval/gate`, { method: "PUT", body })); runCheck(); } catch (err) { setError(err); }
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.type === "checkbox" ? e.target.checked : e.target.value });
  const ro = !canWrite(me);
  return html`<main><h1>Gate · prompt ${promptId}</h1>
    <nav class="toolbar"><a href=${link(`/prompts/${promptId}/runs`)}>Runs</a> · <a href=${link(`/prompts/${promptId}`)}>Prompt</a></nav>
    <${ErrorBox} error=${gate.error || error} />
    <h2>Latest check</h2>
    ${check ? html`<div class="cards"><${Card} k="verdict" v=${html`<${Badge} v=${check.verdict} />`} /><${Card} k="run" v=${html`<a href=${link(`/prompts/${promptId}/runs/${check.runId}`)}>run ${check.runId}</a>`} /></div>
      <p id="gate-reason">${check.reason}</p>
      <table aria-label="gate figures"><tbody>${Object.entries(check.figures || {}).map(([k, v]) => html`<tr><th>${k}</th><td>${typeof v === "object" ? JSON.stringify(v) : String(v)}</td></tr>`)}</tbody></table>` : html`<p class="note">No check yet.</p>`}
    <button onClick=${runCheck}>Check now</button>
    <h2>Settings${gate.data === null ? " (no gate saved yet: defaults shown)" : ""}</h2>
    ${form ? html`<form onSubmit=${save} aria-label="gate settings"><fieldset disabled=${ro}>
      <p><label>Metric <select value=${form.metric} onChange=${set("metric")}><option value="pass_rate">pass rate</option><option value="score">mean score</option></select></label>
      <label>Threshold <input type="number" step="0.01" min="0" max="1" value=${form.threshold} onInput=${set("threshold")} /></label>
      <label>Mode <select value=${form.mode} onChange=${set("mode")}><option value="threshold">threshold</option><option value="significance">significance</option><option value="non-inferiority">non-inferiority</option></select></label></p>
      <p><label>Margin <input type="number" step="0.01" min="0" max="0.99" value=${form.margin} onInput=${set("margin")} /></label>
      <label>Minimum samples <input type="number" min="1" value=${form.minSamples} onInput=${set("minSamples")} /></label>
      <label>Confidence <input type="number" step="0.01" min="0.51" max="0.99" value=${form.confidence} onInput=${set("confidence")} /></label>
      <label>Control run <input type="number" min="1" value=${form.controlRunId ?? ""} onInput=${set("controlRunId")} /></label>
      <label><input type="checkbox" checked=${form.allowInconclusive} onChange=${set("allowInconclusive")} /> inconclusive passes</label></p>
      ${ro ? html`<p class="note">Your key is a viewer: the gate is read-only.</p>` : html`<button class="primary" type="submit">Save gate</button>`}
      ${saved ? html`<span role="status"> Saved.</span>` : null}</fieldset></form>` : null}
  </main>`;
}

// -- external runs and Humanloop ----------------------------------------------------------------------------
function Evals() {
  const [cursors, setCursors] = useState([null]);
  const page = useLoad(() => api("/api/v1/evals", { query: { limit: 50, cursor: cursors[cursors.length - 1] } }), [cursors]);
  const items = (page.data && page.data.items) || [];
  return html`<main><h1>External and orchestrated runs (EvalGuard)</h1><${ErrorBox} error=${page.error} />
    ${page.loading && !page.data ? html`<${Loading} what="runs" />` : null}
    <table aria-label="external runs"><thead><tr><th>Run</th><th>Name</th><th>Model</th><th>Status</th><th class="num">Score</th><th class="num">Pass rate</th>
      <th class="num">Passed / failed / errored</th><th>Prompt</th><th>Created</th></tr></thead>
    <tbody>${items.map((r) => html`<tr key=${r.id}><td><a href=${link(`/evals/${r.id}`)}>run ${r.id}</a></td><td>${r.name}</td><td>${r.model || "–"}</td>
      <td><${Badge} v=${r.status} /></td><td class="num">${fmt.num(r.summary.score, 1)}</td><td class="num">${fmt.pct(r.summary.passRate)}</td>
      <td class="num">${r.summary.passed} / ${r.summary.failed} / ${r.summary.errored}</td>
      <td>${r.promptId ? html`<a href=${link(`/prompts/${r.promptId}`)}>prompt ${r.promptId}</a> v${r.promptVersion ?? "–"}` : "–"}</td><td>${fmt.when(r.createdAt)}</td></tr>`)}</tbody></table>
    <div class="toolbar"><button disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>
      <button disabled=${!(page.data && page.data.nextCursor)} onClick=${() => setCursors([...cursors, page.data.nextCursor])}>Next page</button></div></main>`;
}

function Humanloop({ id }) {
  const list = useLoad(() => (id ? Promise.resolve(null) : api("/v5/evaluations", { query: { size: 50 } })), [id]);
  const ev = useLoad(() => (id ? Promise.all([api(`/v5/evaluations/${id}`), api(`/v5/evaluations/${id}/stats`)]) : Promise.resolve(null)), [id]);
  if (!id) {
    const recs = (list.data && list.data.records) || [];
    return html`<main><h1>Humanloop evaluations</h1><${ErrorBox} error=${list.error} />
      ${list.loading ? html`<${Loading} what="evaluations" />` : !recs.length ? html`<p>No evaluations yet (<code>POST /v5/evaluations</code>).</p>` : null}
      <table aria-label="evaluations"><thead><tr><th>Evaluation</th><th>Name</th><th>File</th><th>Created</th></tr></thead>
      <tbody>${recs.map((e) => html`<tr key=${e.id}><td><a href=${link(`/humanloop/${e.id}`)}>${e.id}</a></td><td>${e.name || "–"}</td>
        <td>${e.file ? e.file.path || e.file.id || JSON.stringify(e.file) : "–"}</td><td>${fmt.when(e.created_at)}</td></tr>`)}</tbody></table></main>`;
  }
  const [e, stats] = ev.data || [];
  const runs = (stats && stats.run_stats) || [];
  return html`<main><h1>Humanloop evaluation ${id}</h1><${ErrorBox} error=${ev.error} />${ev.loading ? html`<${Loading} what="evaluation" />` : null}
    ${e ? html`<p>${e.name || ""} · evaluators: ${(e.evaluators || []).map((x) => x.version_id || x.path || x.id).join(", ") || "none"}</p>` : null}
    <table aria-label="evaluation runs"><thead><tr><th>Run</th><th>Status</th><th class="num">Logs</th><th>Evaluators</th><th>Against the control</th></tr></thead>
    <tbody>${runs.map((r) => html`<tr key=${r.run_id}><td><a href=${link(`/evals/${String(r.run_id).replace(/^run_/, "")}`)}>${r.run_id}</a></td><td><${Badge} v=${r.status} /></td>
      <td class="num">${r.num_logs ?? "–"}</td><td>${(r.evaluator_stats || []).map((s) => html`<div>${s.evaluator_version_id}: ${s.mean !== undefined ? fmt.num(s.mean) : ""} ${s.pass_rate !== undefined ? fmt.pct(s.pass_rate) : ""}</div>`)}</td>
      <td>${r.comparison ? html`<span class="badge ${r.comparison.verdict}">${VERDICT_WORDS[r.comparison.verdict] || "–"}</span>` : html`<span class="note">control or none</span>`}</td></tr>`)}</tbody></table>
    <p class="note">Each run opens in the same run view as every other run.</p></main>`;
}

// -- shell ------------------------------------------------------------------------------------------------
function Nav({ route, me, signOut }) {
  const at = route.parts[0] || "";
  const item = (href, label, key) => html`<a href=${href} aria-current=${at === key ? "page" : undefined}>${label}</a>`;
  return html`<header class="top"><span class="brand">evalgate</span><nav aria-label="main">
    ${item(link("/"), "Overview", "")} ${item(link("/evals"), "External runs", "evals")} ${item(link("/humanloop"), "Humanloop", "humanloop")}
    ${item(link("/compare"), "Compare", "compare")} ${item(link("/production"), "Production", "production")}
    ${item(link("/review"), "Review", "review")}</nav>
    <span class="who">project ${me.projectId} · role ${me.role}</span><button onClick=${signOut}>Sign out</button></header>`;
}

function Screen({ route, me }) {
  const [a, b, c, d] = route.parts;
  const q = route.query;
  if (!a) return html`<${Overview} me=${me} />`;
  if (a === "prompts" && b && c === "runs" && d) return html`<${RunScreen} me=${me} promptId=${b} runId=${d} key=${b + "/" + d} />`;
  if (a === "prompts" && b && c === "runs") return html`<${Runs} me=${me} promptId=${b} query=${q} key=${b} />`;
  if (a === "prompts" && b && c === "gate") return html`<${Gate} me=${me} promptId=${b} key=${b} />`;
  if (a === "prompts" && b) return html`<${PromptScreen} me=${me} promptId=${b} key=${b} />`;
  if (a === "compare") return html`<${Compare} query=${q} key=${JSON.stringify(q)} />`;
  if (a === "evals" && b) return html`<${RunScreen} me=${me} runId=${b} external=${true} key=${"e" + b} />`;
  if (a === "evals") return html`<${Evals} />`;
  if (a === "humanloop") return html`<${Humanloop} id=${b} key=${b || ""} />`;
  if (a === "production" && b === "jobs" && c) return html`<${JobScreen} me=${me} jobId=${c} key=${c} />`;
  if (a === "production") return html`<${ProductionScreen} me=${me} query=${q} />`;
  if (a === "review" && b && c === "label") return html`<${ReviewScreen} me=${me} queueId=${b} key=${"l" + b} />`;
  if (a === "review" && b && c === "agreement") return html`<${AgreementScreen} queueId=${b} query=${q} key=${"a" + b + (q.run || "")} />`;
  if (a === "review" && b) return html`<${QueueScreen} me=${me} queueId=${b} key=${b} />`;
  if (a === "review") return html`<${QueuesScreen} me=${me} />`;
  return html`<main><h1>Not found</h1><p>No screen at this address. <a href=${link("/")}>Overview</a></p></main>`;
}

// The reads of the screen a page load opens, started with the sign-in check (the same URLs the screen asks for)
function prefetchScreen(route) {
  const [a, b, c, d] = route.parts;
  if (!a) prefetch("/api/prompts", { limit: 100 });
  else if (a === "prompts" && b && c === "runs" && !d) prefetch(`/api/prompts/${b}/eval/runs`, { limit: 50, cursor: null, ...runFilters(route.query) });
  else if ((a === "prompts" && b && c === "runs" && d) || (a === "evals" && b)) {
    const runId = a === "evals" ? b : d;
    prefetch(`/api/v1/evals/${runId}/stats`);
    if (a === "evals") {
      prefetch(`/api/v1/evals/${runId}`);
      prefetch(`/api/v1/evals/${runId}/results`, { limit: PAGE, cursor: null });
    } else {
      prefetch(`/api/prompts/${b}/eval/runs/${runId}/status`);
      prefetch(`/api/prompts/${b}/eval/runs/${runId}`, { limit: PAGE, cursor: null });
    }
  }
}

function App() {
  const [route, setRoute] = useState(parseHash());
  const [me, setMe] = useState(null);
  const [boot, setBoot] = useState(Boolean(session.key()));
  const [bootError, setBootError] = useState(null);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  useEffect(() => {
    if (!session.key()) return;
    prefetchScreen(parseHash());
    api("/api/v1/me").then(setMe, (e) => { if (e.status === 401) session.clear(); else setBootError(e); }).finally(() => setBoot(false));
  }, []);
  const signOut = () => { session.clear(); setMe(null); };
  if (boot) return html`<p class="boot" role="status">Signing in…</p>`;
  if (!me) return html`${bootError ? html`<main><${ErrorBox} error=${bootError} /></main>` : null}<${SignIn} onSignedIn=${setMe} />`;
  return html`<${Nav} route=${route} me=${me} signOut=${signOut} /><${Screen} route=${route} me=${me} />`;
}

window.addEventListener("unhandledrejection", (e) => { console.warn("unhandled:", describe(e.reason)); });
const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
