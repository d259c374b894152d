// Overview: requests today and over 30 days, local vs cloud per app, tokens kept local, cloud cost
// saved, local model status, and the newest decisions as they happen.

import { useEffect, useRef, useState } from "../vendor/preact/hooks.js";
import { api, onDecision } from "../api.js";
import {
  appLabel,
  Badge,
  Card,
  Empty,
  ErrorNote,
  fmtCompact,
  fmtNumber,
  fmtPercent,
  fmtTime,
  fmtUsd,
  html,
  isLocal,
  Loading,
  PageHead,
  RouteBadge,
  routeKind,
  useLoad,
} from "../ui.js";

const DAYS = 30;
const NEWEST = 8;

export function OverviewPage() {
  const overview = useLoad(() => api(`/api/overview?days=${DAYS}`));
  const providers = useLoad(() => api("/api/providers"));
  const recent = useLoad(() => api(`/api/decisions?limit=${NEWEST}`));
  const [fresh, setFresh] = useState(new Set());

  useEffect(() => {
    let timer = null;
    const stop = onDecision((record) => {
      recent.setData((old) => ({ decisions: [record, ...(old?.decisions || [])].slice(0, NEWEST) }));
      setFresh((old) => new Set([...old, record.id]));
      // The numbers follow, at most once a second however busy the proxy is.
      clearTimeout(timer);
      timer = setTimeout(() => overview.reload(true), 1000);
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, []);

  if (overview.error) {
    return html`<${PageHead} title="Overview" />
      <${ErrorNote} title="The overview could not load." error=${overview.error} />`;
  }
  if (!overview.data) return html`<${PageHead} title="Overview" /><${Loading} what="Loading the overview" />`;

  const data = overview.data;
  const local = (providers.data?.providers || []).filter(isLocal);
  const localNames = local.map((provider) => provider.name);
  return html`<${PageHead}
      title="Overview"
      intro="Where your coding tools' requests went, and what keeping them on this machine saved."
    />
    <div class="stack">
      ${!data.local_routing &&
      html`<div class="alert info" role="note">
        <strong>Local Model Routing is off.</strong> Every request goes to its app's cloud provider.${" "}
        <a href="#/routing">Turn it on in Routing</a>.
      </div>`}
      <${Stats} data=${data} />
      <div class="grid">
        <${DailyChart} daily=${data.daily || []} />
        <${AppShares} apps=${data.apps || []} />
      </div>
      <div class="grid">
        <${LocalStatus} providers=${local} loading=${providers.loading} error=${providers.error} />
        <${Newest} decisions=${recent.data?.decisions || []} fresh=${fresh} localNames=${localNames} />
      </div>
    </div>`;
}

function Stats({ data }) {
  const today = data.today || {};
  const period = data.period || {};
  const stat = (label, value, detail) => html`<section class="card stat" aria-label=${label}>
    <div class="label">${label}</div>
    <div class="value">${value}</div>
    <div class="detail">${detail}</div>
  </section>`;
  return html`<div class="stats">
    ${stat(
      "Requests today",
      fmtNumber(today.requests),
      `${fmtNumber(today.local)} local · ${fmtNumber(today.cloud)} cloud`,
    )}
    ${stat(
      `Last ${period.days || DAYS} days`,
      fmtNumber(period.requests),
      `${fmtPercent(period.local, period.requests)} kept local`,
    )}
    ${stat("Tokens kept local", fmtCompact(period.tokens_local), `over ${period.days || DAYS} days`)}
    ${stat("Cloud cost saved", fmtUsd(period.saved_usd), "estimated at list prices")}
  </div>`;
}

function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function DailyChart({ daily }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  const total = daily.reduce((sum, day) => sum + day.local + day.cloud, 0);
  const local = daily.reduce((sum, day) => sum + day.local, 0);

  useEffect(() => {
    if (!total || !window.Chart || !canvas.current) return undefined;
    const labels = daily.map((day) =>
      new Date(`${day.date}T00:00:00`).toLocaleDateString(undefined, { month: "short", day: "numeric" }),
    );
    const datasets = [
      { label: "Local", data: daily.map((day) => day.local), backgroundColor: cssColor("--local") },
      { label: "Cloud", data: daily.map((day) => day.cloud), backgroundColor: cssColor("--cloud") },
    ];
    if (chart.current) {
      chart.current.data.labels = labels;
      chart.current.data.datasets.forEach((set, index) => (set.data = datasets[index].data));
      chart.current.update("none");
      return undefined;
    }
    const grid = cssColor("--border");
    const text = cssColor("--muted");
    chart.current = new window.Chart(canvas.current, {
      type: "bar",
      data: { labels, datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        plugins: { legend: { display: false } },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { color: text, maxRotation: 0, autoSkipPadding: 12 } },
          y: { stacked: true, beginAtZero: true, grid: { color: grid }, ticks: { color: text, precision: 0 } },
        },
      },
    });
    return undefined;
  }, [daily, total]);

  useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );

  const summary = `Requests per day over the last ${daily.length} days: ${local} local, ${total - local} cloud.`;
  return html`<${Card}
    title="Requests per day"
    subtitle=${`Last ${daily.length || DAYS} days`}
    actions=${html`<div class="legend" aria-hidden="true">
      <span><span class="swatch" style="background: var(--local)"></span>Local</span>
      <span><span class="swatch" style="background: var(--cloud)"></span>Cloud</span>
    </div>`}
  >
    ${total
      ? html`<div class="chart-box"><canvas ref=${canvas} role="img" aria-label=${summary}></canvas></div>`
      : html`<${Empty} title="No requests yet">
          Point a coding tool at cligate (<code>cligate run -- claude</code>, or${" "}
          <code>cligate setup claude-code</code>) and its requests show here.
        </${Empty}>`}
  </${Card}>`;
}

function AppShares({ apps }) {
  const rows = apps.filter((app) => app.local + app.cloud > 0);
  return html`<${Card} title="Local vs cloud, per app" subtitle=${`Share of requests, last ${DAYS} days`}>
    ${rows.length === 0
      ? html`<${Empty} title="No apps seen yet">Each app that sends a request shows here.</${Empty}>`
      : html`<div role="list">
          ${rows.map((app) => {
            const total = app.local + app.cloud;
            const label = `${appLabel(app.app)}: ${app.local} of ${total} requests local (${fmtPercent(app.local, total)})`;
            return html`<div class="share-row" role="listitem" aria-label=${label}>
              <span>${appLabel(app.app)}</span>
              <div class="share" aria-hidden="true">
                <span class="local" style=${`width: ${(100 * app.local) / total}%`}></span>
                <span class="cloud" style=${`width: ${(100 * app.cloud) / total}%`}></span>
              </div>
              <span class="muted small">${fmtPercent(app.local, total)} local</span>
            </div>`;
          })}
        </div>`}
  </${Card}>`;
}

function LocalStatus({ providers, loading, error }) {
  let body;
  if (error) body = html`<${ErrorNote} error=${error} />`;
  else if (loading && !providers.length) body = html`<${Loading} what="Checking local models" />`;
  else if (!providers.length) {
    body = html`<${Empty} title="No local model server yet">
      <a href="#/models">Add Ollama or any OpenAI-compatible server</a> to route requests to it.
    </${Empty}>`;
  } else {
    body = html`<ul class="list">
      ${providers.map((provider) => {
        const loaded = (provider.models || []).filter((model) => model.loaded);
        return html`<li>
          <div class="row spread">
            <strong>${provider.name}</strong>
            ${provider.healthy
              ? html`<${Badge} tone="ok"><span class="dot"></span>Healthy</${Badge}>`
              : html`<${Badge} tone="bad"><span class="dot"></span>Unreachable</${Badge}>`}
          </div>
          <div class="muted small">
            ${plural((provider.models || []).length, "model")}${loaded.length ? ` · loaded: ${loaded.map((m) => m.name).join(", ")}` : ""}
            ${provider.error ? ` · ${provider.error}` : ""}
          </div>
        </li>`;
      })}
    </ul>`;
  }
  return html`<${Card} title="Local models" actions=${html`<a class="button small" href="#/models">Manage</a>`}>
    ${body}
  </${Card}>`;
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function Newest({ decisions, fresh, localNames }) {
  return html`<${Card}
    title="Newest decisions"
    subtitle="Updates as requests arrive"
    actions=${html`<a class="button small" href="#/decisions">All decisions</a>`}
  >
    ${decisions.length === 0
      ? html`<${Empty} title="Nothing routed yet">Decisions show here the moment a request arrives.</${Empty}>`
      : html`<ul class="list" aria-label="Newest decisions" aria-live="polite">
          ${decisions.map(
            (record) => html`<li class=${fresh.has(record.id) ? "fresh" : ""}>
              <a href=${`#/decisions/${encodeURIComponent(record.id)}`} class="row spread" style="text-decoration: none; color: inherit">
                <span class="row">
                  <${RouteBadge} route=${record.route} kind=${record.side || routeKind(record.route, localNames)} />
                  <span>${appLabel(record.app)}</span>
                  <span class="muted small mono">${record.model}</span>
                </span>
                <span class="muted small">${record.rule || "app default"} · ${fmtTime(record.time)}</span>
              </a>
            </li>`,
          )}
        </ul>`}
  </${Card}>`;
}
