// Shared pieces of the screens: loading state, errors in words, badges.
import { useCallback, useEffect, useState } from "preact/hooks";
import { html, describe } from "./lib.js";

export function useLoad(fn, deps) {
  const [state, set] = useState({ loading: true, data: null, error: null });
  const reload = useCallback(() => {
    let live = true;
    set((s) => ({ ...s, loading: true }));
    fn().then((data) => live && set({ loading: false, data, error: null }), (error) => live && set({ loading: false, data: null, error }));
    return () => { live = false; };
  }, deps);
  useEffect(reload, [reload]);
  return { ...state, reload };
}

export const ErrorBox = ({ error }) => error ? html`<div class="error-box" role="alert">${describe(error)}</div>` : null;
export const Loading = ({ what }) => html`<p class="note" role="status">Loading ${what || ""}…</p>`;
export const Badge = ({ v }) => v ? html`<span class="badge ${v}">${String(v).replace("_", " ")}</span>` : html`<span class="note">–</span>`;
export const canWrite = (me) => me && (me.role === "member" || me.role === "admin");

export function Card({ k, v, title }) {
  return html`<div class="card" title=${title || ""}><div class="k">${k}</div><div class="v">${v}</div></div>`;
}
