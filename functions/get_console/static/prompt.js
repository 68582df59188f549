// The Prompt screen: versions (with a diff of two), datasets (cases paged, upload with progress, edit a case),
// suites with their tests and assertions.
import { useEffect, useState } from "preact/hooks";
import { html, api, all, link, fmt, Diff, session, ApiError } from "./lib.js";
import { useLoad, ErrorBox, Loading, Badge, canWrite } from "./ui.js";

const pretty = (v) => JSON.stringify(v ?? null, null, 2);

function Versions({ promptId }) {
  const versions = useLoad(() => all(`/api/prompts/${promptId}/versions`, { max: 500 }), [promptId]);
  const list = versions.data || [];
  const [a, setA] = useState("");
  const [b, setB] = useState("");
  useEffect(() => {
    if (list.length) { setB(String(list[0].versionNo)); setA(String((list[1] || list[0]).versionNo)); }
  }, [versions.data]);
  const pair = useLoad(() => (a && b
    ? Promise.all([api(`/api/prompts/${promptId}/versions/${a}`), api(`/api/prompts/${promptId}/versions/${b}`)])
    : Promise.resolve(null)), [promptId, a, b]);
  const [va, vb] = pair.data || [];
  return html`<section aria-labelledby="versions-h"><h2 id="versions-h">Versions</h2><${ErrorBox} error=${versions.error || pair.error} />
    ${versions.loading && !versions.data ? html`<${Loading} what="versions" />` : null}
    ${list.length ? html`<table aria-label="versions"><thead><tr><th>Version</th><th>Message</th><th>Variables</th><th>Created</th><th>Runs</th></tr></thead>
    <tbody>${list.map((v) => html`<tr><td>v${v.versionNo}</td><td>${v.message || ""}</td><td>${(v.variables || []).join(", ")}</td>
      <td>${fmt.when(v.createdAt)}</td><td><a href=${link(`/prompts/${promptId}/runs`, { versionNo: v.versionNo })}>runs of v${v.versionNo}</a></td></tr>`)}</tbody></table>` : null}
    ${list.length > 1 ? html`<div class="toolbar"><label>Diff from <select value=${a} onChange=${(e) => setA(e.target.value)}>${list.map((v) => html`<option value=${v.versionNo}>v${v.versionNo}</option>`)}</select></label>
      <label>to <select value=${b} onChange=${(e) => setB(e.target.value)}>${list.map((v) => html`<option value=${v.versionNo}>v${v.versionNo}</option>`)}</select></label></div>` : null}
    ${va && vb ? html`<div aria-label="version diff"><h3>Template (v${va.versionNo} → v${vb.versionNo})</h3><pre><${Diff} a=${va.template} b=${vb.template} /></pre>
      <h3>Model config</h3><pre><${Diff} a=${pretty(va.modelConfig)} b=${pretty(vb.modelConfig)} /></pre></div>` : null}
  </section>`;
}

// A request body sent with XMLHttpRequest, which reports upload progress (fetch does not). `auth`: send the key
// (the API) or not (a presigned upload URL carries its own signature; the key never goes to storage).
function send(method, url, { body, headers = {}, auth = true, onProgress }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    if (auth) xhr.setRequestHeader("Authorization", `Bearer ${session.key()}`);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    if (onProgress) xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError(0, "network", auth ? "The upload could not reach the API" : "The file could not be uploaded to storage"));
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, data });
      else reject(new ApiError(xhr.status, (data && data.error && data.error.code) || "", (data && data.error && data.error.message) || `HTTP ${xhr.status}`));
    };
    xhr.send(body);
  });
}

const MAX_INLINE = 5 * 1024 * 1024; // the API's limit for a file sent inline; bigger files go through an upload URL
const CONTENT_TYPES = { csv: "text/csv", json: "application/json", jsonl: "application/x-ndjson" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Import a file: inline up to 5 MB, else PUT to a presigned upload URL and import it by uploadId. A big import
// answers 202 with an importId: poll it until the dataset exists. `on(phase, fraction)` reports progress.
export async function importDataset(promptId, file, name, on) {
  const lower = file.name.toLowerCase();
  const format = lower.endsWith(".csv") ? "csv" : lower.endsWith(".jsonl") || lower.endsWith(".ndjson") ? "jsonl" : "json";
  const base = `/api/prompts/${promptId}/eval/datasets`;
  const meta = { name: name || file.name.replace(/\.[^.]+$/, ""), format };
  let reply;
  if (file.size > MAX_INLINE) {
    on("preparing the upload", 0);
    const up = await api(`${base}/uploads`, { method: "POST", body: { contentType: CONTENT_TYPES[format] } });
    if (file.size > up.maxBytes) throw new ApiError(413, "too_large", `${file.name} is over the ${Math.floor(up.maxBytes / 1048576)} MB an upload may hold`);
    await send(up.method || "PUT", up.uploadUrl, { body: file, headers: up.headers || {}, auth: false, onProgress: (f) => on("uploading", f) });
    on("importing", 0);
    reply = { data: await api(`${base}/import`, { method: "POST", body: { ...meta, uploadId: up.uploadId } }) };
  } else {
    const content = await file.text();
    reply = await send("POST", `${base}/import`, { body: JSON.stringify({ ...meta, content }), headers: { "Content-Type": "application/json" }, onProgress: (f) => on("uploading", f) });
  }
  let job = reply.data;
  if (!job || !job.importId) return { datasetId: job.id, cases: job.caseCount };
  // a background import: its progress is the API's done / total
  while (job.status === "queued" || job.status === "running") {
    on("importing", job.total ? job.done / job.total : 0);
    await sleep(1000);
    job = await api(`${base}/imports/${job.importId}`);
  }
  if (job.status !== "completed") throw new ApiError(422, "import_failed", job.error || "the import failed; nothing of it was kept");
  return { datasetId: job.datasetId, cases: job.total };
}

function Upload({ promptId, onDone }) {
  const [file, setFile] = useState(null);
  const [name, setName] = useState("");
  const [progress, setProgress] = useState(null);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const go = async (e) => {
    e.preventDefault();
    setError(null); setDone(null);
    if (!file) return;
    try {
      setProgress({ phase: "reading the file", value: 0 });
      const got = await importDataset(promptId, file, name, (phase, value) => setProgress({ phase, value }));
      setProgress({ phase: "done", value: 1 }); setDone(got); onDone(got);
    } catch (err) { setError(err); setProgress(null); }
  };
  return html`<form class="toolbar" onSubmit=${go} aria-label="upload a dataset">
    <label>File (CSV, JSON, JSON Lines) <input type="file" accept=".csv,.json,.jsonl,.ndjson" onChange=${(e) => setFile(e.target.files[0] || null)} /></label>
    <label>Dataset name <input value=${name} onInput=${(e) => setName(e.target.value)} placeholder="from the file name" /></label>
    <button class="primary" type="submit" disabled=${!file}>Upload</button>
    ${progress !== null ? html`<progress max="1" value=${progress.value} aria-label="upload progress">${Math.round(progress.value * 100)}%</progress>
      <span class="note" aria-live="polite">${progress.phase} ${Math.round(progress.value * 100)}%</span>` : null}
    ${done ? html`<span role="status">Imported ${done.cases} cases into dataset ${done.datasetId}.</span>` : null}
    <${ErrorBox} error=${error} /></form>`;
}

function CaseEditor({ promptId, datasetId, c, onSaved, onCancel }) {
  const [vars, setVars] = useState(pretty(c.variables));
  const [expected, setExpected] = useState(c.expectedOutput ?? "");
  const [error, setError] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    let variables;
    try { variables = JSON.parse(vars); } catch (err) { setError(new ApiError(400, "invalid_json", "Variables must be a JSON object")); return; }
    try {
      const saved = await api(`/api/prompts/${promptId}/eval/datasets/${datasetId}/cases/${encodeURIComponent(c.name)}`, { method: "PUT", body: { variables, expectedOutput: expected === "" ? null : expected } });
      onSaved(saved);
    } catch (err) { setError(err); }
  };
  return html`<form onSubmit=${save} aria-label=${`edit case ${c.name}`}><h4>Edit case ${c.name}</h4>
    <label style="display:block">Variables (JSON)<br /><textarea rows="5" cols="60" value=${vars} onInput=${(e) => setVars(e.target.value)} /></label>
    <label style="display:block">Expected output<br /><textarea rows="3" cols="60" value=${expected} onInput=${(e) => setExpected(e.target.value)} /></label>
    <${ErrorBox} error=${error} /><button class="primary" type="submit">Save case</button> <button type="button" onClick=${onCancel}>Cancel</button></form>`;
}

function Dataset({ me, promptId, datasetId }) {
  const [cursors, setCursors] = useState([null]);
  const page = useLoad(() => api(`/api/prompts/${promptId}/eval/datasets/${datasetId}`, { query: { limit: 50, cursor: cursors[cursors.length - 1] } }), [datasetId, cursors]);
  const [editing, setEditing] = useState(null);
  const d = page.data;
  return html`<div><${ErrorBox} error=${page.error} />${page.loading && !d ? html`<${Loading} what="cases" />` : null}
    ${d ? html`<h3>Dataset ${d.name} <span class="note">(${d.caseCount} cases)</span></h3>
    <table aria-label="cases"><thead><tr><th>Case</th><th>Variables</th><th>Expected output</th><th></th></tr></thead>
    <tbody>${d.cases.map((c) => html`<tr key=${c.name}><td>${c.name}</td><td><code>${JSON.stringify(c.variables)}</code></td><td class="clip">${c.expectedOutput ?? ""}</td>
      <td>${canWrite(me) ? html`<button onClick=${() => setEditing(c)} aria-label=${`edit case ${c.name}`}>Edit</button>` : null}</td></tr>`)}</tbody></table>
    <div class="toolbar"><button disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous cases</button>
      <button disabled=${!d.nextCursor} onClick=${() => setCursors([...cursors, d.nextCursor])}>Next cases</button></div>
    ${editing ? html`<${CaseEditor} promptId=${promptId} datasetId=${datasetId} c=${editing} onCancel=${() => setEditing(null)} onSaved=${() => { setEditing(null); page.reload(); }} />` : null}` : null}</div>`;
}

function Datasets({ me, promptId }) {
  const list = useLoad(() => all(`/api/prompts/${promptId}/eval/datasets`, { max: 500 }), [promptId]);
  const [open, setOpen] = useState(null);
  return html`<section aria-labelledby="datasets-h"><h2 id="datasets-h">Datasets</h2><${ErrorBox} error=${list.error} />
    ${canWrite(me) ? html`<${Upload} promptId=${promptId} onDone=${(ds) => { list.reload(); setOpen(ds.datasetId); }} />` : null}
    <table aria-label="datasets"><thead><tr><th>Dataset</th><th class="num">Cases</th><th>Updated</th></tr></thead>
    <tbody>${(list.data || []).map((d) => html`<tr key=${d.id} class=${open === d.id ? "sel" : ""}><td><button onClick=${() => setOpen(d.id)}>${d.name}</button> <span class="note">#${d.id}</span></td>
      <td class="num">${d.caseCount}</td><td>${fmt.when(d.updatedAt)}</td></tr>`)}</tbody></table>
    ${open ? html`<${Dataset} me=${me} promptId=${promptId} datasetId=${open} key=${open} />` : null}</section>`;
}

function Suites({ promptId }) {
  const list = useLoad(() => all(`/api/prompts/${promptId}/eval/suites`, { max: 200 }), [promptId]);
  const [open, setOpen] = useState(null);
  const suite = useLoad(() => (open ? api(`/api/prompts/${promptId}/eval/suites/${open}`) : Promise.resolve(null)), [open]);
  return html`<section aria-labelledby="suites-h"><h2 id="suites-h">Suites</h2><${ErrorBox} error=${list.error || suite.error} />
    <table aria-label="suites"><thead><tr><th>Suite</th><th class="num">Tests</th><th>Runs</th></tr></thead>
    <tbody>${(list.data || []).map((s) => html`<tr key=${s.id}><td><button onClick=${() => setOpen(s.id)}>${s.name}</button> <span class="note">#${s.id}</span></td>
      <td class="num">${s.testCount}</td><td><a href=${link(`/prompts/${promptId}/runs`, { suiteId: s.id })}>runs of this suite</a></td></tr>`)}</tbody></table>
    ${suite.data ? html`<h3>Suite ${suite.data.name}</h3><p class="note">config: <code>${JSON.stringify({ ...suite.data.config, judgeParams: undefined })}</code></p>
      <table aria-label="tests"><thead><tr><th>Test</th><th>Cases</th><th>Assertions</th></tr></thead>
      <tbody>${suite.data.tests.map((t) => html`<tr key=${t.id}><td>${t.name} <span class="note">#${t.id}</span></td>
        <td>${t.datasetId ? `dataset ${t.datasetId}${t.caseNames ? ": " + t.caseNames.join(", ") : " (all cases)"}` : html`<code>${JSON.stringify(t.variables)}</code>`}</td>
        <td>${t.assertions.map((a) => html`<div><${Badge} v=${a.operator} /> ${a.value !== null && a.value !== undefined ? html`<code>${typeof a.value === "string" ? a.value : JSON.stringify(a.value)}</code>` : null}
          ${a.threshold !== null && a.threshold !== undefined ? html` <span class="note">threshold ${a.threshold}</span>` : null}</div>`)}</td></tr>`)}</tbody></table>` : null}
  </section>`;
}

export function PromptScreen({ me, promptId }) {
  const prompt = useLoad(() => api(`/api/prompts/${promptId}`), [promptId]);
  const p = prompt.data;
  return html`<main><h1>Prompt ${p ? p.name : promptId} <span class="note">#${promptId}</span></h1>
    <nav class="toolbar" aria-label="prompt"><a href=${link(`/prompts/${promptId}/runs`)}>Runs</a> · <a href=${link(`/prompts/${promptId}/gate`)}>Gate</a></nav>
    <${ErrorBox} error=${prompt.error} />
    ${p ? html`<${Versions} promptId=${promptId} /><${Datasets} me=${me} promptId=${promptId} /><${Suites} promptId=${promptId} />` : null}</main>`;
}
