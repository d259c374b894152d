// Decisions: the decision log, newest first, filterable by app, route, rule and time, with new
// decisions arriving live; each row opens its explain trace.

import { useEffect, useState } from "../vendor/preact/hooks.js";
import { api, onDecision } from "../api.js";
import { ExplainView } from "../trace.js";
import {
  appLabel,
  Card,
  Dialog,
  Empty,
  ErrorNote,
  fmtMs,
  fmtNumber,
  fmtTime,
  html,
  isLocal,
  Loading,
  PageHead,
  RouteBadge,
  routeKind,
  useLoad,
} from "../ui.js";

const LIMIT = 200;
const ROUTE_LABELS = { local: "Local (any local model)", cloud: "Cloud (any cloud provider)" };
const PERIODS = [
  ["1h", "Last hour"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
  ["all", "All time"],
];

export function DecisionsPage({ param }) {
  const [filters, setFilters] = useState({ app: "", route: "", rule: "", since: "7d" });
  const query = new URLSearchParams({ ...filters, limit: String(LIMIT) });
  for (const key of ["app", "route", "rule"]) if (!filters[key]) query.delete(key);
  const decisions = useLoad(() => api(`/api/decisions?${query}`), [query.toString()]);
  const routing = useLoad(() => api("/api/routing"));
  const providers = useLoad(() => api("/api/providers"));
  const [fresh, setFresh] = useState(new Set());

  useEffect(
    () =>
      onDecision((record) => {
        if (!matches(record, filters)) return;
        decisions.setData((old) => {
          const rows = old?.decisions || [];
          if (rows.some((row) => row.id === record.id)) return old;
          return { decisions: [record, ...rows].slice(0, LIMIT) };
        });
        setFresh((old) => new Set([...old, record.id]));
      }),
    [filters],
  );

  const rows = decisions.data?.decisions || [];
  const localNames = (providers.data?.providers || []).filter(isLocal).map((provider) => provider.name);
  const open = (id) => {
    location.hash = `#/decisions/${encodeURIComponent(id)}`;
  };
  const close = () => {
    // Back to the list, without a history entry (Back would open the trace again).
    if (!location.hash.startsWith("#/decisions/")) return;
    history.replaceState(null, "", "#/decisions");
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  };

  return html`<${PageHead}
      title="Decisions"
      intro="Every request cligate routed, newest first. New ones appear as they happen; open one to see why it went where it did."
    />
    <div class="stack">
      <${Filters} filters=${filters} onChange=${setFilters} routing=${routing.data} rows=${rows} localNames=${localNames} />
      <${Card} title="Decision log" subtitle=${decisions.data ? `${rows.length} shown${rows.length >= LIMIT ? ` (the newest ${LIMIT})` : ""}` : ""}>
        ${decisions.error && html`<${ErrorNote} title="The decision log could not load." error=${decisions.error} />`}
        ${!decisions.data && !decisions.error && html`<${Loading} what="Reading the decision log" />`}
        ${decisions.data && rows.length === 0 &&
        html`<${Empty} title="No decisions match">
          ${Object.values({ ...filters, since: "" }).some(Boolean)
            ? "Try fewer filters or a longer time span."
            : "Requests show here the moment a coding tool sends one through cligate."}
        </${Empty}>`}
        ${rows.length > 0 && html`<${Table} rows=${rows} fresh=${fresh} localNames=${localNames} onOpen=${open} />`}
      </${Card}>
    </div>
    ${param &&
    html`<${TraceDialog} key=${param} id=${param} side=${rows.find((row) => row.id === param)?.side} onClose=${close} />`}`;
}

/** The server's filter (router/dashboard/api_decisions.py), for decisions that arrive live. */
function matches(record, filters) {
  if (filters.app && record.app !== filters.app) return false;
  if (filters.rule && record.rule !== filters.rule) return false;
  if (!filters.route) return true;
  if (filters.route === "local" || filters.route === "cloud") return record.side === filters.route;
  return filters.route === record.route || filters.route === record.provider;
}

function Filters({ filters, onChange, routing, rows, localNames }) {
  const apps = new Set([...(routing?.apps || []).map((app) => app.app), ...rows.map((row) => row.app)]);
  const routes = new Set(["local", "cloud", ...localNames, ...rows.map((row) => row.provider)]);
  const rules = new Set([...(routing?.rules || []).map((rule) => rule.name), ...rows.map((row) => row.rule)]);
  for (const names of [apps, routes, rules]) {
    for (const blank of [null, undefined, ""]) names.delete(blank);
  }
  const set = (key) => (event) => onChange({ ...filters, [key]: event.target.value });
  const select = (key, label, all, options) => html`<div class="field">
    <label for=${`filter-${key}`}>${label}</label>
    <select id=${`filter-${key}`} value=${filters[key]} onChange=${set(key)}>
      ${all && html`<option value="">${all}</option>`}
      ${options.map(([value, text]) => html`<option value=${value}>${text}</option>`)}
    </select>
  </div>`;
  return html`<form class="card filters" aria-label="Filter decisions" onSubmit=${(event) => event.preventDefault()}>
    ${select("app", "App", "All apps", [...apps].sort().map((app) => [app, appLabel(app)]))}
    ${select("route", "Route", "All routes", [...routes].map((route) => [route, ROUTE_LABELS[route] || route]))}
    ${select("rule", "Rule", "All rules", [...rules].map((rule) => [rule, rule]))}
    ${select("since", "Time", null, PERIODS)}
  </form>`;
}

function Table({ rows, fresh, localNames, onOpen }) {
  return html`<div class="table-wrap">
    <table class="log" aria-label="Decisions">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">App</th>
          <th scope="col">Route</th>
          <th scope="col">Model</th>
          <th scope="col">Rule</th>
          <th scope="col">Prompt</th>
          <th scope="col" class="num">Tokens in / out</th>
          <th scope="col" class="num">Latency</th>
          <th scope="col" class="num">Status</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row) => html`<tr class="clickable ${fresh.has(row.id) ? "fresh" : ""}" data-id=${row.id} onClick=${() => onOpen(row.id)}>
            <td>
              <button
                type="button"
                class="link"
                aria-label=${`Explain the ${appLabel(row.app)} request at ${fmtTime(row.time)}, routed ${row.route}`}
                onClick=${(event) => {
                  event.stopPropagation();
                  onOpen(row.id);
                }}
              >
                ${fmtTime(row.time)}
              </button>
            </td>
            <td>${appLabel(row.app)}</td>
            <td><${RouteBadge} route=${row.route} kind=${row.side || routeKind(row.route, localNames)} /></td>
            <td class="mono small">${row.provider ? `${row.provider}/` : ""}${row.model}</td>
            <td>${row.rule || html`<span class="muted">app default</span>`}</td>
            <td class="prompt muted" title=${row.prompt}>${row.prompt || "–"}</td>
            <td class="num wide-only">${fmtNumber(row.input_tokens)} / ${fmtNumber(row.output_tokens)}</td>
            <td class="num wide-only">${fmtMs(row.latency_ms)}</td>
            <td class="num ${row.status >= 400 ? "bad" : ""}">${row.status ?? "–"}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function TraceDialog({ id, side, onClose }) {
  const record = useLoad(() => api(`/api/decisions/${encodeURIComponent(id)}`), [id]);
  const title = record.data ? `Why it went ${record.data.route === "cloud" ? "to the cloud" : record.data.route === "local" ? "local" : `to ${record.data.route}`}` : "Decision";
  return html`<${Dialog} title=${title} onClose=${onClose}>
    ${record.error && html`<${ErrorNote} title=${`No trace for ${id}.`} error=${record.error} />`}
    ${!record.data && !record.error && html`<${Loading} what="Loading the trace" />`}
    ${record.data && html`<${ExplainView} record=${record.data} side=${side} />`}
  </${Dialog}>`;
}
