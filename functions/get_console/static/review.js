// Human review (issue 15): annotation queues, the review screen (keyboard-driven) and the agreement screen.
import { useEffect, useRef, useState } from "preact/hooks";
import { html, api, all, link, fmt } from "./lib.js";
import { useLoad, ErrorBox, Loading, Badge, Card } from "./ui.js";

const Q = "/api/v1/annotation-queues";
const show = (v) => (v === null || v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v, null, 2));
const canReview = (me) => me && me.role !== "viewer";

// -- the queues ---------------------------------------------------------------------------------------------
export function QueuesScreen({ me }) {
  const queues = useLoad(() => all(Q, { max: 200 }), []);
  return html`<main><h1>Human review · annotation queues</h1>
    <${ErrorBox} error=${queues.error} />
    ${queues.loading && !queues.data ? html`<${Loading} what="queues" />` : null}
    ${queues.data && !queues.data.length ? html`<p>No annotation queues yet. Create one with <code>POST ${Q}</code>.</p>` : null}
    ${queues.data && queues.data.length ? html`<table aria-label="annotation queues"><thead><tr><th>Queue</th><th>Criteria</th>
      <th class="num">Reviewers per item</th><th>Created</th><th></th></tr></thead>
      <tbody>${queues.data.map((q) => html`<tr key=${q.id}><td><a href=${link(`/review/${q.id}`)}>${q.name}</a> <span class="note">${q.id}</span></td>
        <td>${q.criteria.map((c) => html`<span class="badge" title=${c.judge ? `judge: ${c.judge}` : "no judge"}>${c.name} · ${c.type}</span> `)}</td>
        <td class="num">${q.reviewers_per_item}</td><td>${fmt.when(q.created_at)}</td>
        <td>${canReview(me) ? html`<a href=${link(`/review/${q.id}/label`)}>Review</a> · ` : null}<a href=${link(`/review/${q.id}/agreement`)}>Agreement</a></td></tr>`)}</tbody></table>` : null}
  </main>`;
}

export function QueueScreen({ me, queueId }) {
  const queue = useLoad(() => api(`${Q}/${queueId}`), [queueId]);
  const q = queue.data;
  const p = q && q.progress;
  return html`<main><h1>Annotation queue ${q ? q.name : queueId}</h1>
    <nav class="toolbar" aria-label="queue"><a href=${link("/review")}>All queues</a> ·
      ${canReview(me) ? html`<a href=${link(`/review/${queueId}/label`)}>Review items</a> ·` : null}
      <a href=${link(`/review/${queueId}/agreement`)}>Agreement</a></nav>
    <${ErrorBox} error=${queue.error} />
    ${queue.loading && !q ? html`<${Loading} what="queue" />` : null}
    ${p ? html`<div class="cards">
      <${Card} k="items complete" v=${`${p.complete} / ${p.items}`} />
      <${Card} k="labels" v=${`${p.labels} / ${p.places}`} />
      <${Card} k="claimed now" v=${p.claimed} />
    </div>
    <div class="bar" role="progressbar" aria-label="labels submitted" aria-valuemin="0" aria-valuemax=${p.places} aria-valuenow=${p.labels}>
      <span style=${`width:${p.places ? (100 * p.labels) / p.places : 0}%`}></span></div>
    <h2>Per reviewer</h2>
    <table aria-label="reviewers"><thead><tr><th>Reviewer (key id)</th><th class="num">Labelled</th><th class="num">Skipped</th><th class="num">Claimed</th></tr></thead>
      <tbody>${p.reviewers.map((r) => html`<tr key=${r.reviewer}><td><code>${r.reviewer}</code></td><td class="num">${r.labelled}</td>
        <td class="num">${r.skipped}</td><td class="num">${r.claimed}</td></tr>`)}</tbody></table>
    <h2>Criteria</h2>
    <ul>${q.criteria.map((c) => html`<li><b>${c.name}</b> (${c.type}${c.type === "score" ? ` ${c.scale_min}–${c.scale_max}` : ""}${c.labels ? `: ${c.labels.join(", ")}` : ""})
      ${c.judge ? html` · compared with judge <code>${c.judge}</code>` : null} ${c.description ? html`<span class="note">${c.description}</span>` : null}</li>`)}</ul>` : null}
  </main>`;
}

// -- the review screen: one item, the criteria as keyboard-driven controls -------------------------------------
// keys: ↑/↓ or j/k pick a criterion · p/f pass/fail · 1-9 a score or the n-th label · Enter submits · s skips
function choiceKeys(c) {
  if (c.type === "pass_fail") return [["pass", "p"], ["fail", "f"]];
  if (c.type === "label") return c.labels.map((l, i) => [l, String(i + 1)]);
  if (c.type === "score") {
    const out = [];
    for (let v = c.scale_min; v <= c.scale_max && out.length < 10; v += 1) out.push([v, String(v)]);
    return out;
  }
  return [];
}

export function ReviewScreen({ me, queueId }) {
  const [claim, setClaim] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(true);
  const [values, setValues] = useState({});
  const [focus, setFocus] = useState(0);
  const [done, setDone] = useState(0);
  const root = useRef(null);
  const next = async () => {
    setBusy(true); setError(null);
    try {
      const c = await api(`${Q}/${queueId}/claims`, { method: "POST" });
      setClaim(c); setValues(c.labels || {}); setFocus(0);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  useEffect(() => { next(); }, [queueId]);
  useEffect(() => { if (root.current && claim && claim.item) root.current.focus(); }, [claim]);
  const criteria = (claim && claim.criteria) || [];
  const missing = criteria.filter((c) => c.required && c.type !== "comment" && (values[c.name] === undefined || values[c.name] === ""));
  const submit = async () => {
    if (!claim || !claim.item || missing.length) return;
    setBusy(true); setError(null);
    const body = { values: Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "" && v !== undefined)) };
    try {
      await api(`${Q}/${queueId}/items/${claim.item.id}/labels`, { method: "PUT", body });
      setDone((n) => n + 1);
      await next();
    } catch (e) { setError(e); setBusy(false); }
  };
  const skip = async () => {
    if (!claim || !claim.item) return;
    setBusy(true); setError(null);
    try { await api(`${Q}/${queueId}/items/${claim.item.id}/skip`, { method: "POST" }); await next(); } catch (e) { setError(e); setBusy(false); }
  };
  const set = (name, v) => setValues((old) => ({ ...old, [name]: v }));
  const onKey = (e) => {
    if (busy || !claim || !claim.item) return;
    const typing = e.target && (e.target.tagName === "TEXTAREA" || e.target.tagName === "INPUT");
    if (typing && !(e.key === "Enter" && (e.ctrlKey || e.metaKey)) && e.key !== "Escape") return;
    if (typing && e.key === "Escape") { e.target.blur(); root.current && root.current.focus(); return; }
    const c = criteria[focus];
    if (e.key === "ArrowDown" || e.key === "j") { e.preventDefault(); setFocus(Math.min(criteria.length - 1, focus + 1)); return; }
    if (e.key === "ArrowUp" || e.key === "k") { e.preventDefault(); setFocus(Math.max(0, focus - 1)); return; }
    if (e.key === "Enter") { e.preventDefault(); submit(); return; }
    if (e.key === "s") { e.preventDefault(); skip(); return; }
    if (!c) return;
    if (c.type === "comment" && e.key === "c") { e.preventDefault(); const t = root.current.querySelector(`#crit-${focus}`); t && t.focus(); return; }
    const hit = choiceKeys(c).find(([, k]) => k === e.key);
    if (hit) {
      e.preventDefault();
      set(c.name, hit[0]);
      if (focus < criteria.length - 1) setFocus(focus + 1);
    }
  };
  const item = claim && claim.item;
  return html`<main><h1>Review · ${queueId}</h1>
    <nav class="toolbar" aria-label="review"><a href=${link(`/review/${queueId}`)}>Queue</a> · <a href=${link(`/review/${queueId}/agreement`)}>Agreement</a>
      <span class="note">labelled in this session: ${done}</span></nav>
    <${ErrorBox} error=${error} />
    ${busy && !claim ? html`<${Loading} what="the next item" />` : null}
    ${claim && !item ? html`<p role="status" id="queue-done">Nothing left for you in this queue right now. Thank you!</p>` : null}
    ${item ? html`<div class="layout review" ref=${root} tabindex="0" onKeyDown=${onKey} aria-label="review item" role="group"
      data-item=${item.id} aria-busy=${busy ? "true" : "false"}>
      <div class="grow">
        ${claim.instructions ? html`<p class="note">${claim.instructions}</p>` : null}
        <h2>Prompt / input</h2><pre aria-label="input">${show(item.input)}</pre>
        <h2>Output</h2><pre aria-label="output">${show(item.output)}</pre>
        ${item.context !== null && item.context !== undefined ? html`<h2>Context</h2><pre aria-label="context">${show(item.context)}</pre>` : null}
        ${item.expected !== null && item.expected !== undefined ? html`<h2>Expected</h2><pre aria-label="expected">${show(item.expected)}</pre>` : null}
        <p class="note">item ${item.id} · claimed until ${fmt.when(claim.claimed_until)}</p>
      </div>
      <aside class="panel" aria-label="criteria">
        <h2>Criteria</h2>
        <p class="note">↑/↓ or j/k choose a criterion · p/f pass/fail · 1–9 a score or label · c edits a comment · Enter submits · s skips</p>
        ${criteria.map((c, i) => html`<fieldset key=${c.name} class=${"criterion" + (i === focus ? " sel" : "")} onClick=${() => setFocus(i)}>
          <legend>${c.name}${c.required && c.type !== "comment" ? " *" : ""} <span class="note">${c.type}</span></legend>
          ${c.description ? html`<p class="note">${c.description}</p>` : null}
          ${c.type === "comment"
            ? html`<textarea id=${`crit-${i}`} rows="3" aria-label=${c.name} value=${values[c.name] || ""} onInput=${(e) => set(c.name, e.target.value)}></textarea>`
            : html`<div class="toolbar" role="radiogroup" aria-label=${c.name}>${choiceKeys(c).map(([v, k]) => html`<button type="button" role="radio"
                aria-checked=${values[c.name] === v} class=${values[c.name] === v ? "primary" : ""} onClick=${() => set(c.name, v)}>${String(v)} <kbd>${k}</kbd></button>`)}</div>`}
        </fieldset>`)}
        <div class="toolbar">
          <button class="primary" disabled=${busy || missing.length > 0} onClick=${submit}>Submit <kbd>Enter</kbd></button>
          <button disabled=${busy} onClick=${skip}>Skip <kbd>s</kbd></button>
        </div>
        ${missing.length ? html`<p class="note">to answer: ${missing.map((c) => c.name).join(", ")}</p>` : null}
      </aside></div>` : null}
  </main>`;
}

// -- agreement ----------------------------------------------------------------------------------------------------
function Kappa({ f, title }) {
  if (!f) return null;
  if (f.status !== "ok") return html`<p><${Badge} v="inconclusive" /> ${title}: ${f.reason} <span class="note">(n = ${f.n})</span></p>`;
  if (f.kind === "score") {
    return html`<div class="cards" aria-label=${title}>
      <${Card} k=${`${title}: Spearman ρ`} v=${html`${fmt.num(f.spearman, 2)} <span class="note">${fmt.ci(f.spearman_interval, (v) => fmt.num(v, 2))}</span>`} />
      <${Card} k="mean |judge − humans| (0–1)" v=${html`${fmt.num(f.mean_abs_diff, 3)} <span class="note">${fmt.ci(f.mean_abs_diff_interval, (v) => fmt.num(v, 3))}</span>`} />
      <${Card} k="items" v=${f.n} />
    </div>`;
  }
  return html`<div class="cards" aria-label=${title}>
    <${Card} k=${`${title}: Cohen's κ`} v=${html`${fmt.num(f.kappa, 2)} <span class="note">${fmt.ci(f.kappa_interval, (v) => fmt.num(v, 2))}</span>`} />
    <${Card} k="raw agreement · base rate" v=${html`${fmt.pct(f.observed_agreement)} <span class="note">· ${fmt.pct(f.base_rate)} (always “${f.base_label}”)</span>`} />
    ${f.precision ? html`<${Card} k=${`precision of “${f.positive}”`} v=${html`${fmt.pct(f.precision.value)} <span class="note">${fmt.ci(f.precision.interval, (v) => fmt.pct(v, 0))}</span>`} />` : null}
    ${f.recall ? html`<${Card} k=${`recall of “${f.positive}”`} v=${html`${fmt.pct(f.recall.value)} <span class="note">${fmt.ci(f.recall.interval, (v) => fmt.pct(v, 0))}</span>`} />` : null}
    <${Card} k="items" v=${f.n} />
  </div>`;
}

function Confusion({ f }) {
  if (!f || f.kind !== "categorical" || !f.confusion_matrix) return null;
  return html`<table aria-label="confusion matrix" style="width:auto"><thead><tr><th>humans ↓ · judge →</th>${f.labels.map((l) => html`<th class="num">${l}</th>`)}</tr></thead>
    <tbody>${f.confusion_matrix.map((row, i) => html`<tr><th>${f.labels[i]}</th>${row.map((n, j) => html`<td class=${"num" + (i === j ? " agree" : "")}>${n}</td>`)}</tr>`)}</tbody></table>`;
}

export function AgreementScreen({ queueId, query }) {
  const [runText, setRunText] = useState(query.run || "");
  const figures = useLoad(() => api(`${Q}/${queueId}/agreement`, { query: query.run ? { run_id: query.run } : {} }), [queueId, query.run]);
  const d = figures.data;
  const go = (e) => { e.preventDefault(); location.hash = link(`/review/${queueId}/agreement`, runText.trim() ? { run: runText.trim() } : undefined); };
  return html`<main><h1>Judge agreement · ${queueId}</h1>
    <nav class="toolbar" aria-label="queue"><a href=${link(`/review/${queueId}`)}>Queue</a> · <a href=${link("/review")}>All queues</a></nav>
    <form class="toolbar" onSubmit=${go} aria-label="judge re-run">
      <label>Compare a judge re-run (run id) <input value=${runText} onInput=${(e) => setRunText(e.target.value)} size="8" /></label>
      <button type="submit">Compare</button></form>
    <${ErrorBox} error=${figures.error} />
    ${figures.loading && !d ? html`<${Loading} what="agreement" />` : null}
    ${d ? html`<p class="note">${d.labelled_items} of ${d.items} items labelled · ${Math.round(d.confidence * 100)}% intervals ·
      fewer than ${d.min_items} compared items is inconclusive</p>
      ${d.criteria.map((c) => html`<section key=${c.name} aria-label=${`criterion ${c.name}`}><h2>${c.name} <span class="note">${c.type}${c.judge ? ` · judge ${c.judge}` : " · no judge"}</span></h2>
        ${c.judge_vs_humans ? html`<${Kappa} f=${c.judge_vs_humans} title="judge vs humans" /><${Confusion} f=${c.judge_vs_humans} />` : null}
        ${c.rerun_vs_humans ? html`<${Kappa} f=${c.rerun_vs_humans} title=${`re-run ${d.run_id} vs humans`} /><${Confusion} f=${c.rerun_vs_humans} />` : null}
        ${c.reviewers.status === "ok"
          ? html`<p>Reviewers among themselves: Krippendorff's α ${fmt.num(c.reviewers.krippendorff_alpha, 2)} <span class="note">(${c.reviewers.items} items with 2+ reviewers)</span></p>`
          : html`<p class="note">Reviewers among themselves: ${c.reviewers.reason}</p>`}
      </section>`)}` : null}
  </main>`;
}
