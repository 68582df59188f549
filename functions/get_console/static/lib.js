// The console's plumbing: the key in sessionStorage, the JSON API client, the hash router, formatting,
// a word-level diff and small SVG charts. The key never goes into a URL, a log or an error message.
import { h } from "preact";
import htm from "htm";

export const html = htm.bind(h);
const KEY = "evalgate.apiKey";

export const session = {
  key: () => sessionStorage.getItem(KEY),
  set: (k) => sessionStorage.setItem(KEY, k),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// A failed request as words (the key is never part of it: the message comes from the API's error body).
export function describe(err) {
  if (err instanceof ApiError) return `${err.message} (HTTP ${err.status}${err.code ? ", " + err.code : ""})`;
  return `The request failed: ${err && err.message ? err.message : "network error"}`;
}

// A request's URL: the path and its non-empty query parameters, in the order given.
export function apiUrl(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// GETs started early: at start-up the first screen's reads go out together with the sign-in check instead of
// after it. Each is taken once by the screen's own `api` call for the same URL (or dropped after 10 s).
const early = new Map();
export function prefetch(path, query) {
  const url = apiUrl(path, query);
  if (early.has(url)) return;
  const promise = send(url, path, {});
  promise.catch(() => {}); // a prefetch nobody takes must not surface as an unhandled rejection
  early.set(url, promise);
  setTimeout(() => early.delete(url), 10000);
}

export async function api(path, { method = "GET", body, query, key } = {}) {
  const url = apiUrl(path, query);
  if (method === "GET" && !key && early.has(url)) {
    const promise = early.get(url);
    early.delete(url);
    return promise;
  }
  return send(url, path, { method, body, key });
}

async function send(url, path, { method = "GET", body, key }) {
  const secret = key || session.key();
  const headers = { Accept: "application/json" };
  if (path.startsWith("/v5/")) headers["X-API-KEY"] = secret;
  else headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let reply;
  try {
    reply = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "network", "The API could not be reached");
  }
  if (reply.status === 204) return null;
  const text = await reply.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!reply.ok) {
    const e = (data && data.error) || {};
    const msg = e.message || (data && (data.message || data.detail)) || `HTTP ${reply.status}`;
    throw new ApiError(reply.status, e.code || "", String(msg));
  }
  return data;
}

// Every page of a paged listing, up to `max` items.
export async function all(path, { query = {}, max = 1000, items = "items" } = {}) {
  const out = [];
  let cursor = null;
  do {
    const page = await api(path, { query: { ...query, cursor } });
    out.push(...(page[items] || []));
    cursor = page.nextCursor || page.next_cursor || null;
  } while (cursor && out.length < max);
  return out;
}

// -- routing: #/path?query; ids only, never the key ------------------------------------------------
export function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  return { parts: path.split("/").filter(Boolean), query: Object.fromEntries(new URLSearchParams(qs || "")) };
}
export const link = (path, query) => {
  const q = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString() : "";
  return "#" + path + (q ? "?" + q : "");
};

// -- formatting -----------------------------------------------------------------------------------
export const fmt = {
  num: (v, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d).replace(/\.?0+$/, (m) => (m.startsWith(".") ? "" : m))),
  pct: (v, d = 1) => (v === null || v === undefined ? "–" : (v * 100).toFixed(d) + "%"),
  signedPct: (v, d = 1) => (v === null || v === undefined ? "–" : (v > 0 ? "+" : "") + (v * 100).toFixed(d) + " pts"),
  signed: (v, d = 3) => (v === null || v === undefined ? "–" : (v > 0 ? "+" : "") + Number(v).toFixed(d)),
  ms: (v) => (v === null || v === undefined ? "–" : v >= 10000 ? (v / 1000).toFixed(1) + " s" : Math.round(v) + " ms"),
  usd: (v) => (v === null || v === undefined ? "–" : "$" + Number(v).toFixed(v && v < 0.01 ? 5 : 4)),
  p: (v) => (v === null || v === undefined ? "–" : v < 0.001 ? v.toExponential(1) : v.toFixed(3)),
  ci: (c, f = fmt.num) => (c && c.length === 2 ? `[${f(c[0])}, ${f(c[1])}]` : "–"),
  when: (v) => (v ? new Date(v).toLocaleString() : "–"),
  int: (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString()),
};

// -- word-level diff (LCS over words; long texts fall back to a line of each) ---------------------------
export function wordDiff(a, b) {
  const A = (a || "").split(/(\s+)/).filter((t) => t !== "");
  const B = (b || "").split(/(\s+)/).filter((t) => t !== "");
  if (A.length * B.length > 4_000_000) return [{ op: "del", text: a || "" }, { op: "ins", text: b || "" }];
  const n = A.length, m = B.length;
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    dp[i][j] = A[i] === B[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out = [];
  const push = (op, text) => (out.length && out[out.length - 1].op === op ? (out[out.length - 1].text += text) : out.push({ op, text }));
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (A[i] === B[j]) { push("eq", A[i]); i++; j++; }
    else if (dp[i + 1][j] >= dp[i][j + 1]) push("del", A[i++]);
    else push("ins", B[j++]);
  }
  while (i < n) push("del", A[i++]);
  while (j < m) push("ins", B[j++]);
  return out;
}
export const Diff = ({ a, b }) => html`<span class="diff">${wordDiff(a, b).map((p) =>
  p.op === "eq" ? p.text : p.op === "del" ? html`<del>${p.text}</del>` : html`<ins>${p.text}</ins>`)}</span>`;

// -- charts (inline SVG) --------------------------------------------------------------------------
export function Sparkline({ values, width = 120, height = 28, label }) {
  const v = values.filter((x) => x !== null && x !== undefined);
  if (v.length < 2) return html`<span class="note">${v.length ? fmt.num(v[0], 1) : "–"}</span>`;
  const lo = Math.min(...v), hi = Math.max(...v), span = hi - lo || 1;
  const pts = v.map((x, i) => `${(i / (v.length - 1)) * (width - 4) + 2},${height - 2 - ((x - lo) / span) * (height - 4)}`).join(" ");
  return html`<svg class="trend" width=${width} height=${height} role="img" aria-label=${label || `trend of ${v.length} runs`}>
    <polyline fill="none" stroke="#0969da" stroke-width="1.5" points=${pts} /></svg>`;
}

// Intervals on a 0..1 (or given) axis: one row per item {label, a:{value, ci}, b:{value, ci}}.
export function IntervalChart({ rows, lo = 0, hi = 1, width = 520, labels = ["baseline", "current"], title }) {
  const rowH = 34, left = 150, w = width - left - 20, height = rows.length * rowH + 30;
  const x = (v) => left + ((Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo || 1)) * w;
  const mark = (s, y, color) => s && s.value !== null && s.value !== undefined ? html`
    ${s.ci ? html`<line x1=${x(s.ci[0])} x2=${x(s.ci[1])} y1=${y} y2=${y} stroke=${color} stroke-width="2" />` : null}
    <circle cx=${x(s.value)} cy=${y} r="4" fill=${color} />` : null;
  return html`<svg width=${width} height=${height} role="img" aria-label=${title || "intervals"}>
    ${[0, 0.25, 0.5, 0.75, 1].map((t) => { const v = lo + t * (hi - lo); return html`<g>
      <line x1=${x(v)} x2=${x(v)} y1="0" y2=${height - 20} stroke="#d0d7de" /><text x=${x(v) - 8} y=${height - 6}>${fmt.num(v, 2)}</text></g>`; })}
    ${rows.map((r, i) => { const y = i * rowH + 14; return html`<g>
      <text x="0" y=${y + 8} style="fill:#1b1f24">${r.label}</text>
      ${mark(r.a, y + 2, "#8c959f")}${mark(r.b, y + 12, r.color || "#0969da")}</g>`; })}
    <g><circle cx=${left} cy=${height - 26 + 20} r="0" /></g>
  </svg>
  <div class="note">grey: ${labels[0]} · blue: ${labels[1]} (red where the change is significant) · lines are the intervals the API gives (95%, or 1 - α for a drift report)</div>`;
}

// A distribution from percentiles (p0..p100) as a box plot on 0..1.
export function BoxPlot({ p, width = 200, height = 22, label }) {
  if (!p) return html`<span class="note">–</span>`;
  const x = (v) => 4 + Math.max(0, Math.min(1, v)) * (width - 8);
  const m = height / 2;
  return html`<svg width=${width} height=${height} role="img" aria-label=${label || "distribution"}>
    <line x1=${x(p.p0)} x2=${x(p.p100)} y1=${m} y2=${m} stroke="#8c959f" />
    <rect x=${x(p.p25)} y="3" width=${Math.max(1, x(p.p75) - x(p.p25))} height=${height - 6} fill="#ddf4ff" stroke="#0969da" />
    <line x1=${x(p.p50)} x2=${x(p.p50)} y1="3" y2=${height - 3} stroke="#0550ae" stroke-width="2" /></svg>`;
}

// Bars: [{label, value}] (value 0..1 unless max is given).
export function Bars({ items, max = 1, width = 360, label }) {
  const rowH = 20, left = 120, w = width - left - 50;
  return html`<svg width=${width} height=${items.length * rowH + 4} role="img" aria-label=${label || "bars"}>
    ${items.map((it, i) => html`<g>
      <text x="0" y=${i * rowH + 14} style="fill:#1b1f24">${it.label}</text>
      <rect x=${left} y=${i * rowH + 4} width=${Math.max(1, (it.value / (max || 1)) * w)} height="12" fill=${it.color || "#2da44e"} />
      <text x=${left + Math.max(1, (it.value / (max || 1)) * w) + 4} y=${i * rowH + 14}>${it.text ?? fmt.num(it.value, 2)}</text></g>`)}
  </svg>`;
}

// Two score distributions over [0, 1] as the API counted them (equal-width bins): each bin's share of its side,
// baseline (grey) and current (blue) side by side.
export function DistChart({ a, b, width = 320, height = 90, label }) {
  const bins = Math.max((a || []).length, (b || []).length);
  if (!bins) return html`<span class="note">–</span>`;
  const share = (c) => { const n = (c || []).reduce((s, x) => s + x, 0); return (c || []).map((x) => (n ? x / n : 0)); };
  const sa = share(a), sb = share(b);
  const top = Math.max(0.01, ...sa, ...sb);
  const plot = height - 16, bw = (width - 8) / bins;
  const bar = (v, i, off, color) => html`<rect x=${4 + i * bw + off} y=${plot - (v / top) * plot} width=${Math.max(1, bw / 2 - 1)} height=${(v / top) * plot} fill=${color} />`;
  return html`<svg width=${width} height=${height} role="img" aria-label=${label || "score distribution"}>
    <line x1="4" x2=${width - 4} y1=${plot} y2=${plot} stroke="#8c959f" />
    ${sa.map((v, i) => bar(v, i, 0, "#8c959f"))}${sb.map((v, i) => bar(v, i, bw / 2, "#0969da"))}
    <text x="0" y=${height - 2}>0</text><text x=${width / 2 - 8} y=${height - 2}>0.5</text><text x=${width - 12} y=${height - 2}>1</text></svg>`;
}
