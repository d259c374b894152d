// Shared pieces: the html tag, small components, hooks and formatting.

import { h } from "./vendor/preact/preact.js";
import { useCallback, useEffect, useRef, useState } from "./vendor/preact/hooks.js";
import htm from "./vendor/htm/htm.js";

export const html = htm.bind(h);

const APP_LABELS = {
  "claude-code": "Claude Code",
  codex: "Codex CLI",
  "gemini-cli": "Gemini CLI",
  dashboard: "Dashboard chat",
};

/** Provider types that run on this machine (router/config.py LOCAL_TYPES). */
export const LOCAL_TYPES = new Set(["ollama", "openai-compatible"]);

export function isLocal(provider) {
  return LOCAL_TYPES.has(provider.type);
}

export function appLabel(app) {
  return APP_LABELS[app] || app || "unknown app";
}

// ---- formatting ----

const numberFormat = new Intl.NumberFormat();

export function fmtNumber(value) {
  return value === null || value === undefined ? "–" : numberFormat.format(value);
}

export function fmtCompact(value) {
  if (value === null || value === undefined) return "–";
  const units = [
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, unit] of units) {
    if (Math.abs(value) >= size) return `${(value / size).toFixed(value >= size * 10 ? 0 : 1)}${unit}`;
  }
  return String(value);
}

export function fmtUsd(value) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(undefined, {
    style: "currency",
    currency: "USD",
    maximumFractionDigits: value < 10 ? 2 : 0,
  }).format(value);
}

export function fmtMs(value) {
  if (value === null || value === undefined) return "–";
  if (value >= 10000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.round(value)} ms`;
}

export function fmtBytes(value) {
  if (!value) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let size = value;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit += 1;
  }
  return `${size.toFixed(size >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function fmtTime(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString()
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function fmtPercent(part, whole) {
  if (!whole) return "–";
  return `${Math.round((100 * part) / whole)}%`;
}

/** ``local`` and ``cloud`` are the two routes a user reasons about; a provider name is either. */
export function routeKind(route, localNames = []) {
  if (route === "local" || localNames.includes(route)) return "local";
  if (typeof route === "string" && localNames.some((name) => route.startsWith(`${name}/`))) {
    return "local";
  }
  return "cloud";
}

// ---- components ----

export function PageHead({ title, intro, children }) {
  return html`<header class="page-head">
    <div>
      <h1>${title}</h1>
      ${intro && html`<p>${intro}</p>`}
    </div>
    ${children && html`<div class="row">${children}</div>`}
  </header>`;
}

export function Card({ title, subtitle, actions, children, label, class: extra = "" }) {
  const id = title ? `card-${slug(label || title)}` : undefined;
  return html`<section class="card ${extra}" aria-labelledby=${id}>
    ${(title || actions) &&
    html`<div class="card-head">
      <div>
        ${title && html`<h2 id=${id}>${title}</h2>`} ${subtitle && html`<p>${subtitle}</p>`}
      </div>
      ${actions && html`<div class="row">${actions}</div>`}
    </div>`}
    ${children}
  </section>`;
}

export function Empty({ title, children }) {
  return html`<div class="empty">
    <h3>${title}</h3>
    ${children && html`<p>${children}</p>`}
  </div>`;
}

/** An error that a screen reader announces (role=alert). */
export function ErrorNote({ title, error }) {
  if (!error) return null;
  const message = typeof error === "string" ? error : error.message;
  return html`<div class="alert error" role="alert">
    ${title && html`<span class="alert-title">${title}</span>`}${message}
  </div>`;
}

export function StatusNote({ kind = "ok", children }) {
  if (!children) return null;
  return html`<div class="alert ${kind}" role="status">${children}</div>`;
}

export function Badge({ tone = "", children, title }) {
  return html`<span class="badge ${tone}" title=${title}>${children}</span>`;
}

/** A route; ``kind`` (local or cloud) colours a provider's name, which alone says neither. */
export function RouteBadge({ route, kind }) {
  const tone = kind || (route === "local" || route === "cloud" ? route : "");
  return html`<span class="badge ${tone}">${route}</span>`;
}

export function Spinner({ label = "Loading" }) {
  return html`<span class="spinner" role="progressbar" aria-label=${label}></span>`;
}

export function Loading({ what = "Loading" }) {
  return html`<div class="empty"><${Spinner} label=${what} /> <span class="muted">${what}…</span></div>`;
}

export function Mark({ ok }) {
  const label = ok ? "passed" : "failed";
  return html`<span class="mark ${ok ? "yes" : "no"}" role="img" aria-label=${label}>${ok ? "✓" : "✗"}</span>`;
}

/** A modal <dialog>; ``onClose`` runs when it closes by the button, Escape or the backdrop. */
export function Dialog({ title, onClose, children }) {
  const ref = useRef(null);
  const gone = useRef(false);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      // Closed because its page went away: not the user closing it, so no onClose.
      gone.current = true;
      if (dialog?.open) dialog.close();
    };
  }, []);
  const closed = () => {
    if (!gone.current) onClose?.();
  };
  const clickedBackdrop = (event) => {
    if (event.target === ref.current) ref.current.close();
  };
  return html`<dialog ref=${ref} aria-labelledby="dialog-title" onClose=${closed} onClick=${clickedBackdrop}>
    <div class="dialog-head">
      <h2 id="dialog-title">${title}</h2>
      <button type="button" class="small" onClick=${() => ref.current.close()}>Close</button>
    </div>
    <div class="dialog-body">${children}</div>
  </dialog>`;
}

// ---- hooks ----

/** Loads ``load()`` on mount (and when ``deps`` change); ``reload`` loads again in place. */
export function useLoad(load, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(async (quiet = false) => {
    const mine = ++generation.current;
    if (!quiet) setState((old) => ({ ...old, loading: true }));
    try {
      const data = await load();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState((old) => ({ ...old, error, loading: false }));
    }
  }, deps);
  useEffect(() => {
    run();
  }, [run]);
  // ``setData(value)`` or ``setData((old) => value)``, as with useState.
  const setData = (data) =>
    setState((old) => ({ ...old, data: typeof data === "function" ? data(old.data) : data }));
  return { ...state, reload: run, setData };
}

export function slug(text) {
  return String(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}
