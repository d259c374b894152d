// Routing: the "Local Model Routing" master toggle, each app's default route, and the rules in
// order with how often each matched in the last 7 days. Every change is written to the config
// file by cligate, which reloads it.

import { useState } from "../vendor/preact/hooks.js";
import { api, settingsChanged } from "../api.js";
import {
  Badge,
  Card,
  Empty,
  ErrorNote,
  fmtNumber,
  html,
  Loading,
  PageHead,
  RouteBadge,
  StatusNote,
  useLoad,
} from "../ui.js";

export function RoutingPage() {
  const routing = useLoad(() => api("/api/routing"));
  const [saving, setSaving] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(null);

  async function save(what, body, message) {
    setSaving(what);
    setError(null);
    setSaved(null);
    try {
      const fresh = await api("/api/routing", { method: "PUT", body });
      routing.setData(fresh);
      setSaved({ what, message });
      settingsChanged();
    } catch (caught) {
      setError({ what, error: caught });
      routing.reload(true);
    } finally {
      setSaving(null);
    }
  }

  if (routing.error && !routing.data) {
    return html`<${PageHead} title="Routing" /><${ErrorNote} title="Routing could not load." error=${routing.error} />`;
  }
  if (!routing.data) return html`<${PageHead} title="Routing" /><${Loading} what="Loading routing" />`;
  const data = routing.data;
  const noteFor = (what) => html`
    ${error?.what === what && html`<${ErrorNote} title="Not saved." error=${error.error} />`}
    ${saved?.what === what && html`<${StatusNote}>${saved.message}</${StatusNote}>`}
  `;

  return html`<${PageHead}
      title="Routing"
      intro="Where each app's requests go when no rule decides, and the rules that decide first."
    />
    <div class="stack">
      <${MasterToggle} data=${data} saving=${saving === "toggle"} onSave=${save} />
      ${noteFor("toggle")}
      <${AppDefaults} data=${data} saving=${saving} onSave=${save} noteFor=${noteFor} />
      <${RuleList} rules=${data.rules || []} />
    </div>`;
}

function MasterToggle({ data, saving, onSave }) {
  const on = Boolean(data.local_routing);
  const flip = (event) => {
    const value = event.target.checked;
    onSave("toggle", { local_routing: value }, `Local Model Routing is ${value ? "on" : "off"}. Saved and reloaded.`);
  };
  return html`<section class="card" aria-labelledby="local-routing-title">
    <div class="row spread">
      <div>
        <h2 id="local-routing-title">Local Model Routing</h2>
        <p class="muted small" id="local-routing-help" style="margin-bottom: 0">
          ${on
            ? html`On: rules and app defaults may send requests to local models${data.local
                ? html` (<strong>local</strong> means <span class="mono">${data.local}</span>)`
                : ""}.`
            : "Off: every request goes to its app's cloud provider; nothing is sent to a local model."}
        </p>
      </div>
      <label class="switch">
        <input
          type="checkbox"
          role="switch"
          checked=${on}
          disabled=${saving}
          aria-labelledby="local-routing-title"
          aria-describedby="local-routing-help"
          onChange=${flip}
        />
        <span aria-hidden="true">${on ? "On" : "Off"}</span>
      </label>
    </div>
    ${!(data.choices || []).some((choice) => choice !== "cloud") &&
    html`<p class="small" style="margin: 0.6rem 0 0">
      No local model is set up yet: <a href="#/models">add a server in Local Models</a>.
    </p>`}
  </section>`;
}

function choiceLabel(choice, app, data) {
  if (choice === "cloud") return `Cloud (${app.cloud || "the app's cloud provider"})`;
  if (choice === "local") return `Local model${data.local ? ` (${data.local})` : ""}`;
  const [provider, model] = choice.split(/\/(.*)/s);
  return model ? `${model} on ${provider}` : `Provider ${provider}`;
}

function AppDefaults({ data, saving, onSave, noteFor }) {
  const apps = data.apps || [];
  const choices = data.choices || [];
  return html`<${Card}
    title="Default route per app"
    subtitle="Used when no rule matches. A local model, or the app's cloud provider."
  >
    ${apps.length === 0
      ? html`<${Empty} title="No apps yet">Apps show here once they are configured or send a request.</${Empty}>`
      : html`<div class="app-routes">
          ${apps.map((app) => {
            const id = `default-${app.app}`;
            const what = `app:${app.app}`;
            const options = choices.includes(app.default) ? choices : [app.default, ...choices];
            const change = (event) =>
              onSave(
                what,
                { apps: { [app.app]: { default: event.target.value } } },
                `${app.label} now goes to ${event.target.value} by default. Saved and reloaded.`,
              );
            return html`<div>
              <div class="app-route">
                <div>
                  <label for=${id}><span class="visually-hidden">Default route for </span>${app.label}</label>
                  ${!app.configured && html` <${Badge} title="No settings in the config yet: the first change adds them">not set up yet</${Badge}>`}
                  <div class="muted small">${app.cloud ? `Cloud: ${app.cloud}` : "No cloud provider for it yet"}</div>
                </div>
                <select id=${id} value=${app.default} disabled=${saving === what} onChange=${change}>
                  ${options.map(
                    (choice) => html`<option value=${choice} selected=${choice === app.default}>
                      ${choiceLabel(choice, app, data)}
                    </option>`,
                  )}
                </select>
              </div>
              ${noteFor(what)}
            </div>`;
          })}
        </div>`}
    ${!data.local_routing &&
    html`<p class="muted small" style="margin: 0.9rem 0 0">
      Local Model Routing is off, so local choices apply only once it is on.
    </p>`}
  </${Card}>`;
}

function RuleList({ rules }) {
  return html`<${Card}
    title="Rules"
    subtitle="Checked in order before the app defaults; the first that matches decides. Hits over the last 7 days."
    actions=${html`<a class="button small" href="#/rules">Edit rules</a>`}
  >
    ${rules.length === 0
      ? html`<${Empty} title="No rules">Every request takes its app's default route.</${Empty}>`
      : html`<ol class="rules" aria-label="Rules in order">
          ${rules.map(
            (rule) => html`<li>
              <span class="index">${rule.index + 1}.</span>
              <span>
                <strong class="mono">${rule.name}</strong>
                <span class="muted small"> → </span><${RouteBadge} route=${rule.route} />
              </span>
              <${Badge} tone=${rule.hits_7d ? "ok" : ""} title="Requests this rule decided in the last 7 days">
                ${fmtNumber(rule.hits_7d)} ${rule.hits_7d === 1 ? "hit" : "hits"}
              </${Badge}>
            </li>`,
          )}
        </ol>`}
  </${Card}>`;
}
