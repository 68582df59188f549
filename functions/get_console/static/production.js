// Production: traces with filters, monitors with their schedule and last result, auto-eval jobs with their
// progress and the drift report (baseline vs current per metric, hallucinations, alerts).
import { useEffect, useState } from "preact/hooks";
import { html, api, link, fmt, IntervalChart, Bars, DistChart } from "./lib.js";
import { useLoad, ErrorBox, Loading, Badge, Card } from "./ui.js";

function Traces({ query }) {
  const [f, setF] = useState({ model: query.model || "", prompt_id: query.prompt_id || "", environment: query.environment || "" });
  const [cursors, setCursors] = useState([null]);
  const page = useLoad(() => api("/api/v1/traces", { query: { limit: 25, cursor: cursors[cursors.length - 1], ...f } }), [f, cursors]);
  const [open, setOpen] = useState(null);
  const set = (k) => (e) => { setCursors([null]); setF({ ...f, [k]: e.target.value }); };
  const items = (page.data && page.data.items) || [];
  return html`<section aria-labelledby="traces-h"><h2 id="traces-h">Traces</h2>
    <form class="toolbar" onSubmit=${(e) => e.preventDefault()} aria-label="trace filters">
      <label>Model <input value=${f.model} onChange=${set("model")} size="14" /></label>
      <label>Prompt id <input value=${f.prompt_id} onChange=${set("prompt_id")} size="6" /></label>
      <label>Environment <select value=${f.environment} onChange=${set("environment")}>${["", "production", "staging", "development"].map((x) => html`<option value=${x}>${x || "any"}</option>`)}</select></label></form>
    <${ErrorBox} error=${page.error} />${page.loading && !page.data ? html`<${Loading} what="traces" />` : null}
    <table aria-label="traces"><thead><tr><th>Trace</th><th>Time</th><th>Model</th><th>Prompt</th><th>Input</th><th>Output</th><th class="num">Latency</th></tr></thead>
    <tbody>${items.map((t) => html`<tr key=${t.id} class=${"clickable" + (open === t ? " sel" : "")} tabindex="0" onClick=${() => setOpen(open === t ? null : t)} onKeyDown=${(e) => e.key === "Enter" && setOpen(open === t ? null : t)}>
      <td>${t.id}</td><td>${fmt.when(t.timestamp)}</td><td>${t.model}</td><td>${t.prompt_id ? `${t.prompt_id} v${t.prompt_version ?? "–"}` : "–"}</td>
      <td class="clip">${JSON.stringify(t.input)}</td><td class="clip">${t.output}</td><td class="num">${fmt.ms(t.latency_ms)}</td></tr>`)}</tbody></table>
    ${open ? html`<div aria-label="trace detail"><h3>Trace ${open.id}</h3><pre>${JSON.stringify(open, null, 2)}</pre></div>` : null}
    <div class="toolbar"><button disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>Newer traces</button>
      <button disabled=${!(page.data && page.data.nextCursor)} onClick=${() => setCursors([...cursors, page.data.nextCursor])}>Older traces</button></div></section>`;
}

function Monitors() {
  const list = useLoad(() => api("/api/v1/auto-eval/monitors", { query: { limit: 100 } }), []);
  const items = (list.data && list.data.items) || [];
  return html`<section aria-labelledby="monitors-h"><h2 id="monitors-h">Monitors</h2><${ErrorBox} error=${list.error} />
    ${list.data && !items.length ? html`<p class="note">No monitors (<code>POST /api/v1/auto-eval/monitors</code>, admin).</p>` : null}
    ${items.length ? html`<table aria-label="monitors"><thead><tr><th>Monitor</th><th>Target</th><th>Schedule</th><th>Enabled</th><th>Next run</th><th>Last run</th><th>Last job</th><th>Last error</th></tr></thead>
    <tbody>${items.map((m) => html`<tr key=${m.id}><td>${m.name} <span class="note">${m.id}</span></td><td>${m.target.model}${m.target.prompt_id ? ` · prompt ${m.target.prompt_id}` : ""}</td>
      <td><code>${m.schedule}</code></td><td>${m.enabled ? "yes" : "no"}</td><td>${fmt.when(m.next_run_at)}</td><td>${fmt.when(m.last_run_at)}</td>
      <td>${m.last_job_id ? html`<a href=${link(`/production/jobs/${m.last_job_id}`)}>${m.last_job_id.slice(0, 8)}…</a>` : "–"}</td><td>${m.last_error || ""}</td></tr>`)}</tbody></table>` : null}</section>`;
}

const OPEN_JOB = new Set(["queued", "running"]);

// The project's auto-eval jobs (GET /api/v1/auto-eval, newest first), with progress; refreshed while any is open
function Jobs({ query }) {
  const [status, setStatus] = useState(query.jobStatus || "");
  const [cursors, setCursors] = useState([null]);
  const [jobId, setJobId] = useState("");
  const list = useLoad(() => api("/api/v1/auto-eval", { query: { limit: 10, cursor: cursors[cursors.length - 1], status } }), [status, cursors]);
  const items = (list.data && list.data.items) || [];
  useEffect(() => {
    if (!items.some((j) => OPEN_JOB.has(j.status))) return undefined;
    const t = setTimeout(list.reload, 2000);
    return () => clearTimeout(t);
  }, [list.data]);
  const pct = (j) => (j.progress.total ? (100 * j.progress.scored) / j.progress.total : j.status === "completed" ? 100 : 0);
  return html`<section aria-labelledby="jobs-h"><h2 id="jobs-h">Auto-eval jobs</h2>
    <form class="toolbar" onSubmit=${(e) => { e.preventDefault(); if (jobId.trim()) location.hash = link(`/production/jobs/${jobId.trim()}`); }} aria-label="job filters">
      <label>Status <select value=${status} onChange=${(e) => { setCursors([null]); setStatus(e.target.value); }}>
        ${["", "queued", "running", "completed", "failed"].map((x) => html`<option value=${x}>${x || "any"}</option>`)}</select></label>
      <label>Job id <input value=${jobId} onInput=${(e) => setJobId(e.target.value)} size="38" /></label><button type="submit">Open job</button></form>
    <${ErrorBox} error=${list.error} />${list.loading && !list.data ? html`<${Loading} what="auto-eval jobs" />` : null}
    ${list.data && !items.length ? html`<p class="note">No auto-eval jobs${status ? ` with status ${status}` : ""} (<code>POST /api/v1/auto-eval</code> or a monitor starts one).</p>` : null}
    ${items.length ? html`<table aria-label="auto-eval jobs"><thead><tr><th>Job</th><th>Status</th><th>Target</th><th>Progress (scored / total)</th><th class="num">Skipped</th><th class="num">Failed</th><th>Monitor</th><th>Created</th><th>Finished</th></tr></thead>
    <tbody>${items.map((j) => html`<tr key=${j.job_id}><td><a href=${link(`/production/jobs/${j.job_id}`)}><code>${j.job_id.slice(0, 8)}…</code></a></td>
      <td><${Badge} v=${j.status} />${j.spend_capped ? html` <span class="note">spend cap</span>` : null}</td>
      <td>${j.target.model}${j.target.prompt_id ? ` · prompt ${j.target.prompt_id}` : ""}</td>
      <td><div class="bar" role="progressbar" aria-label=${`progress of job ${j.job_id.slice(0, 8)}`} aria-valuemin="0" aria-valuemax=${j.progress.total || 0} aria-valuenow=${j.progress.scored}>
        <span style=${`width:${pct(j)}%`}></span></div><span class="note">${j.progress.scored}/${j.progress.total ?? "?"}</span></td>
      <td class="num">${j.progress.skipped}</td><td class="num">${j.progress.failed}</td><td>${j.monitor_id || "–"}</td>
      <td>${fmt.when(j.created_at)}</td><td>${fmt.when(j.finished_at)}</td></tr>`)}</tbody></table>` : null}
    <div class="toolbar"><button disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>Newer jobs</button>
      <button disabled=${!(list.data && list.data.nextCursor)} onClick=${() => setCursors([...cursors, list.data.nextCursor])}>Older jobs</button></div></section>`;
}

export function ProductionScreen({ query }) {
  return html`<main><h1>Production</h1>
    <${Jobs} query=${query} /><${Monitors} /><${Traces} query=${query} /></main>`;
}

export function JobScreen({ jobId }) {
  const job = useLoad(() => api(`/api/v1/auto-eval/${jobId}`), [jobId]);
  const j = job.data;
  useEffect(() => {
    if (!j || !["queued", "running", "pending"].includes(j.status)) return undefined;
    const t = setTimeout(job.reload, 1000);
    return () => clearTimeout(t);
  }, [j]);
  const r = j && j.report;
  const deltas = (r && r.metric_deltas) || [];
  const rates = deltas.filter((m) => m.kind === "pass_rate");
  const means = deltas.filter((m) => m.kind === "score_distribution");
  const dists = rates.filter((m) => m.current_histogram);
  return html`<main><h1>Auto-eval job <code>${jobId}</code> ${j ? html`<${Badge} v=${j.status} />` : null}</h1>
    <nav class="toolbar"><a href=${link("/production")}>Production</a>${j && j.baseline_job_id ? html` · <a href=${link(`/production/jobs/${j.baseline_job_id}`)}>baseline job</a>` : null}</nav>
    <${ErrorBox} error=${job.error} />${job.loading && !j ? html`<${Loading} what="the job" />` : null}
    ${j ? html`<div class="cards">
      <${Card} k="target" v=${`${j.target.model || "every model"}${j.target.prompt_id ? " · prompt " + j.target.prompt_id : ""}`} />
      <${Card} k="progress (scored / total)" v=${html`${j.progress.scored}/${j.progress.total ?? "?"} <div class="bar" role="progressbar" aria-label="job progress" aria-valuemin="0" aria-valuemax=${j.progress.total || 0} aria-valuenow=${j.progress.scored}><span style=${`width:${j.progress.total ? (100 * j.progress.scored) / j.progress.total : 0}%`}></span></div>`} />
      <${Card} k="judge calls · cost" v=${`${j.judge_calls} · ${fmt.usd(j.judge_cost_usd)}`} />
      ${r ? html`<${Card} k="verdict" v=${html`<${Badge} v=${r.verdict} />`} /><${Card} k="overall delta" v=${fmt.signedPct(r.overall_delta)} />
        <${Card} k="hallucinations" v=${`${r.hallucination_count} (${fmt.pct(r.hallucination_rate)})`} />` : null}</div>
      ${j.note ? html`<p class="note">${j.note}</p>` : null}` : null}
    ${r ? html`<h2>Drift report</h2><p id="drift-reason">${r.reason} <span class="note">(baseline n=${r.baseline_n}, current n=${r.current_n}, α=${r.alpha})</span></p>
      ${rates.length ? html`<h3>Pass rate per metric</h3><${IntervalChart} title="baseline vs current pass rate per metric" rows=${rates.map((m) => ({ label: `${m.metric}`, a: { value: m.baseline, ci: m.baseline_ci }, b: { value: m.current, ci: m.current_ci }, color: m.significant ? "#cf222e" : "#0969da" }))} />` : null}
      <table aria-label="metric deltas"><thead><tr><th>Metric</th><th>Kind</th><th class="num">Baseline</th><th class="num">Current</th><th class="num">Delta</th><th>Test</th><th class="num">p</th><th class="num">p (Holm)</th><th>Significant</th></tr></thead>
      <tbody>${deltas.map((m) => html`<tr key=${m.metric + m.kind}><td>${m.metric}</td><td>${m.kind}</td><td class="num">${fmt.num(m.baseline)}</td><td class="num">${fmt.num(m.current)}</td>
        <td class="num">${fmt.signed(m.delta)}</td><td>${m.test}</td><td class="num">${fmt.p(m.p_value)}</td><td class="num">${fmt.p(m.p_adjusted)}</td><td>${m.significant ? html`<span class="badge worse">yes</span>` : "no"}</td></tr>`)}</tbody></table>
      ${means.length ? html`<h3>Mean score per metric</h3><${IntervalChart} title="baseline vs current mean score per metric" rows=${means.map((m) => ({ label: `${m.metric}`, a: { value: m.baseline, ci: m.baseline_ci }, b: { value: m.current, ci: m.current_ci }, color: m.significant ? "#cf222e" : "#0969da" }))} />` : null}
      ${dists.length ? html`<h3>Score distributions</h3><div class="cards">${dists.map((m) => html`<figure class="card" key=${m.metric}>
        <figcaption class="k">${m.metric} <span class="note">(baseline n=${m.baseline_n ?? 0}, current n=${m.current_n})</span></figcaption>
        <${DistChart} a=${m.baseline_histogram} b=${m.current_histogram} label=${`score distribution of ${m.metric}, baseline vs current`} /></figure>`)}</div>
        <p class="note">Share of each side's scores per bin of 0.1 (grey: baseline, blue: current), as counted by the API.</p>` : null}
      ${deltas.length ? html`<h3>Current pass rate per metric</h3><${Bars} label="current pass rate per metric" items=${rates.map((m) => ({ label: m.metric, value: m.current ?? 0, text: fmt.pct(m.current), color: m.significant ? "#cf222e" : "#2da44e" }))} />` : null}
      <h2>Alerts</h2>${r.alerts.length ? html`<ul>${r.alerts.map((a) => html`<li>${typeof a === "string" ? a : JSON.stringify(a)}</li>`)}</ul>` : html`<p class="note">None.</p>`}
      <h2>Hallucinations</h2>${r.hallucinations.length ? html`<table aria-label="hallucinations"><thead><tr><th>Trace</th><th>Reason</th></tr></thead>
        <tbody>${r.hallucinations.map((h) => html`<tr><td>${h.trace_id}</td><td>${h.reason}</td></tr>`)}</tbody></table>` : html`<p class="note">None.</p>`}` : null}
  </main>`;
}
