// Local Models: add an Ollama or OpenAI-compatible server (a health check and model discovery run
// on add), see each server's version, models, context windows, loaded or cold; re-check, warm a
// model now, remove.

import { useState } from "../vendor/preact/hooks.js";
import { api, settingsChanged } from "../api.js";
import {
  Badge,
  Card,
  Empty,
  ErrorNote,
  fmtBytes,
  fmtMs,
  fmtNumber,
  html,
  isLocal,
  Loading,
  PageHead,
  Spinner,
  StatusNote,
  useLoad,
} from "../ui.js";

const TYPE_LABELS = { ollama: "Ollama", "openai-compatible": "OpenAI-compatible" };

export function ModelsPage() {
  const providers = useLoad(() => api("/api/providers"));
  // Only local providers are listed: cloud ones have nothing to discover.
  const local = (providers.data?.providers || []).filter(isLocal);
  const changed = () => {
    providers.reload(true);
    settingsChanged();
  };
  return html`<${PageHead}
      title="Local Models"
      intro="The model servers on this machine (or your network) that requests can be routed to."
    />
    <div class="stack">
      <${AddServer} onAdded=${changed} />
      ${providers.error && html`<${ErrorNote} title="The servers could not load." error=${providers.error} />`}
      ${providers.loading && !providers.data && html`<${Loading} what="Checking local servers" />`}
      ${providers.data &&
      local.length === 0 &&
      html`<div class="card">
        <${Empty} title="No local model servers yet">
          Add the URL of Ollama or of any OpenAI-compatible server (LM Studio, llama.cpp, vLLM) above.
        </${Empty}>
      </div>`}
      ${local.map((provider) => html`<${Server} key=${provider.name} provider=${provider} onChange=${changed} />`)}
    </div>`;
}

function AddServer({ onAdded }) {
  const [url, setUrl] = useState("");
  const [name, setName] = useState("");
  const [contextWindow, setContextWindow] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [added, setAdded] = useState(null);

  async function submit(event) {
    event.preventDefault();
    const target = url.trim();
    setError(null);
    setAdded(null);
    if (!target) {
      setError({ url: "", message: "Enter the server's URL, for example http://127.0.0.1:11434." });
      return;
    }
    const body = { url: target };
    if (name.trim()) body.name = name.trim();
    if (contextWindow) body.context_window = Number(contextWindow);
    setBusy(true);
    try {
      const entry = await api("/api/providers", { method: "POST", body });
      setAdded(entry);
      setUrl("");
      setName("");
      setContextWindow("");
      onAdded();
    } catch (caught) {
      setError({ url: target, message: caught.message });
    } finally {
      setBusy(false);
    }
  }

  const models = added?.models?.length ?? 0;
  const example = (label, address) =>
    html`<button type="button" class="link small" onClick=${() => setUrl(address)}
      aria-label=${`Use ${label}'s usual address, ${address}`}>${label}</button>`;
  return html`<${Card}
    title="Add a server"
    subtitle="Ollama, or any server with an OpenAI-compatible API (LM Studio, llama.cpp, vLLM). It is checked and its models discovered before it is added."
  >
    <form class="stack" onSubmit=${submit} aria-label="Add a server">
      <div class="form-row">
        <div class="field">
          <label for="server-url">Server URL</label>
          <input
            id="server-url"
            type="text"
            inputmode="url"
            autocomplete="off"
            spellcheck="false"
            placeholder="http://127.0.0.1:11434"
            aria-describedby="server-url-hint"
            value=${url}
            onInput=${(event) => setUrl(event.target.value)}
          />
        </div>
        <button type="submit" class="primary" disabled=${busy}>
          ${busy ? html`<${Spinner} label="Checking the server" /> Checking…` : "Add server"}
        </button>
      </div>
      <p class="small muted" id="server-url-hint" style="margin: 0">
        Usual addresses:${" "}${example("Ollama", "http://127.0.0.1:11434")}${" · "}
        ${example("LM Studio", "http://127.0.0.1:1234/v1")}${" · "}${example("llama.cpp", "http://127.0.0.1:8080/v1")}
      </p>
      <details>
        <summary class="small">More options</summary>
        <div class="form-row" style="margin-top: 0.6rem">
          <div class="field">
            <label for="server-name">Name</label>
            <input id="server-name" type="text" autocomplete="off" spellcheck="false"
              placeholder="chosen from the server's kind" value=${name} onInput=${(event) => setName(event.target.value)} />
          </div>
          <div class="field">
            <label for="server-window">Context window</label>
            <input id="server-window" type="number" min="512" step="512" placeholder="as the server reports it"
              value=${contextWindow} onInput=${(event) => setContextWindow(event.target.value)} />
          </div>
        </div>
      </details>
      ${busy && html`<p class="muted small" role="status">Checking its health and discovering its models…</p>`}
      ${error && html`<${ErrorNote} title=${error.url ? `Could not add ${error.url}` : null} error=${error.message} />`}
      ${added &&
      html`<${StatusNote}>
        Added <strong>${added.name}</strong>${added.version ? ` (version ${added.version})` : ""}: ${models}${" "}
        ${models === 1 ? "model" : "models"} found.
      </${StatusNote}>`}
    </form>
  </${Card}>`;
}

function Server({ provider, onChange }) {
  const [busy, setBusy] = useState(null);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const [confirming, setConfirming] = useState(false);
  const path = `/api/providers/${encodeURIComponent(provider.name)}`;

  async function act(what, call, done) {
    setBusy(what);
    setError(null);
    setNote(null);
    try {
      const result = await call();
      setNote(done(result));
      onChange();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  }

  const recheck = () =>
    act("check", () => api(`${path}/check`, { method: "POST" }), (result) =>
      result?.healthy === false ? null : `Checked: ${provider.name} answers.`,
    );
  const warm = (model) =>
    act(`warm:${model}`, () => api(`${path}/warm`, { method: "POST", body: { model } }), (result) =>
      `${model} is warm (took ${fmtMs(result?.took_ms)}).`,
    );
  const remove = () => act("remove", () => api(path, { method: "DELETE" }), () => null);

  const status = provider.healthy
    ? html`<${Badge} tone="ok"><span class="dot"></span>Healthy</${Badge}>`
    : html`<${Badge} tone="bad"><span class="dot"></span>Unreachable</${Badge}>`;
  const actions = confirming
    ? html`<span class="small">Remove ${provider.name}?</span>
        <button type="button" class="small danger" onClick=${remove} disabled=${busy}>Yes, remove</button>
        <button type="button" class="small" onClick=${() => setConfirming(false)}>Cancel</button>`
    : html`<button type="button" class="small" onClick=${recheck} disabled=${busy} aria-label=${`Re-check ${provider.name}`}>
          ${busy === "check" ? html`<${Spinner} label="Checking" />` : null} Re-check
        </button>
        <button type="button" class="small danger" onClick=${() => setConfirming(true)} disabled=${busy}
          aria-label=${`Remove ${provider.name}`}>Remove</button>`;

  return html`<${Card}
    title=${provider.name}
    label=${`server-${provider.name}`}
    subtitle=${html`${TYPE_LABELS[provider.type] || provider.type} · <span class="mono">${provider.url}</span>`}
    actions=${actions}
  >
    <div class="stack">
      <div class="row">
        ${status}
        ${provider.version && html`<span class="muted small">version ${provider.version}</span>`}
        ${provider.down && html`<${Badge} tone="warn" title="cligate saw it fail and sends its requests to the cloud until a re-check succeeds">marked down</${Badge}>`}
        ${routesText(provider.routes) && html`<span class="muted small">Used by: ${routesText(provider.routes)}</span>`}
      </div>
      ${!provider.healthy && provider.error && html`<div class="alert error" role="alert">${provider.error}</div>`}
      <${ErrorNote} error=${error} />
      <${StatusNote}>${note}</${StatusNote}>
      <${ModelList} provider=${provider} busy=${busy} onWarm=${warm} />
    </div>
  </${Card}>`;
}

function ModelList({ provider, busy, onWarm }) {
  const models = provider.models || [];
  if (!models.length) {
    return html`<p class="muted small">
      ${provider.healthy ? "It answers, but serves no models yet." : "Its models show once it answers."}
    </p>`;
  }
  return html`<ul class="list models" aria-label=${`Models on ${provider.name}`}>
    ${models.map(
      (model) => html`<li class="row spread">
        <div class="stack" style="gap: 0.2rem; min-width: 0">
          <strong class="mono" style="overflow-wrap: anywhere">${model.name}</strong>
          <div class="row small muted">
            ${loadedBadge(model.loaded)}
            ${model.capabilities?.includes("embedding") && html`<${Badge} title="Answers no prompts">embedding</${Badge}>`}
            <span title=${model.context_window ? null : "The server does not report it: give it under More options when adding the server"}>
              context window${" "}
              <strong class="mono">${model.context_window ? fmtNumber(model.context_window) : "unknown"}</strong>
              ${model.loaded_context && model.loaded_context !== model.context_window
                ? ` (loaded with ${fmtNumber(model.loaded_context)})`
                : ""}
            </span>
            ${model.size ? html`<span>${fmtBytes(model.size)}</span>` : null}
          </div>
        </div>
        <button
          type="button"
          class="small"
          disabled=${busy || !provider.healthy}
          onClick=${() => onWarm(model.name)}
          aria-label=${`Warm ${model.name} now`}
        >
          ${busy === `warm:${model.name}` ? html`<${Spinner} label="Warming" /> Warming…` : "Warm now"}
        </button>
      </li>`,
    )}
  </ul>`;
}

function loadedBadge(loaded) {
  if (loaded === true) return html`<${Badge} tone="ok">Loaded</${Badge}>`;
  if (loaded === false) return html`<${Badge}>Cold</${Badge}>`;
  return html`<${Badge} title="This server does not say which models are in memory">loaded or cold: unknown</${Badge}>`;
}

function routesText(routes) {
  if (!Array.isArray(routes) || !routes.length) return "";
  return routes
    .map((route) => (typeof route === "string" ? route : route.label || route.name || JSON.stringify(route)))
    .join(", ");
}
