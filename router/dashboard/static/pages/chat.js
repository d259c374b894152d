// Chat: test a source. The message goes through the proxy's own OpenAI Chat Completions endpoint,
// the path a CLI's request takes, with the source as the session's route; so a reply proves the
// route works. Shows time to first token, tokens per second, and where the request really went.

import { useEffect, useRef, useState } from "../vendor/preact/hooks.js";
import { api, chatPath, streamChat } from "../api.js";
import { Card, Empty, ErrorNote, fmtMs, html, isLocal, PageHead, Spinner, useLoad } from "../ui.js";

const LOCAL = "local";
// A model to start from for each app's cloud provider; any model the provider serves works.
const CLOUD_MODELS = { "claude-code": "claude-haiku-4-5", codex: "gpt-5-codex", "gemini-cli": "gemini-3.8-flash" };
const DEFAULT_MAX_TOKENS = 256;

export function ChatPage() {
  const providers = useLoad(() => api("/api/providers"));
  const routing = useLoad(() => api("/api/routing"));
  const local = (providers.data?.providers || []).filter(isLocal);
  const localModels = local.flatMap((provider) =>
    (provider.models || [])
      .filter((model) => !model.capabilities?.includes("embedding"))
      .map((model) => ({ value: `${provider.name}/${model.name}`, provider, model })),
  );
  const cloud = cloudSources(routing.data);

  const [source, setSource] = useState(LOCAL);
  const [localModel, setLocalModel] = useState("");
  const [cloudModel, setCloudModel] = useState("");
  const [maxTokens, setMaxTokens] = useState(String(DEFAULT_MAX_TOKENS));
  const [messages, setMessages] = useState([]);
  const [draft, setDraft] = useState("");
  const [streaming, setStreaming] = useState(false);
  const abort = useRef(null);
  const log = useRef(null);

  // The first model of the provider that `local` means, once the lists have loaded.
  useEffect(() => {
    if (localModel || !localModels.length) return;
    const preferred = localModels.find((entry) => entry.provider.name === routing.data?.local);
    setLocalModel((preferred || localModels[0]).value);
  }, [localModels.length, routing.data]);
  useEffect(() => {
    const provider = cloud.find((each) => each.name === source);
    if (provider) setCloudModel(CLOUD_MODELS[provider.app] || "");
  }, [source]);
  useEffect(() => {
    if (log.current) log.current.scrollTop = log.current.scrollHeight;
  }, [messages]);

  const isLocalSource = source === LOCAL;
  const model = isLocalSource ? localModel.slice(localModel.indexOf("/") + 1) : cloudModel.trim();
  const ready = model && draft.trim() && !streaming;

  function update(index, change) {
    setMessages((old) => old.map((message, at) => (at === index ? { ...message, ...change(message) } : message)));
  }

  async function send(event) {
    event.preventDefault();
    if (!ready) return;
    const history = messages
      .filter((message) => !message.error && message.text)
      .map((message) => ({ role: message.role, content: message.text }));
    const question = draft.trim();
    const index = messages.length + 1;
    const target = isLocalSource ? localModel : `${source}/${model}`;
    setMessages((old) => [
      ...old,
      { role: "user", text: question },
      { role: "assistant", text: "", target, pending: true },
    ]);
    setDraft("");
    setStreaming(true);
    const controller = new AbortController();
    abort.current = controller;
    const started = performance.now();
    let firstAt = null;
    try {
      const result = await streamChat({
        path: chatPath(isLocalSource ? localModel : source),
        model,
        messages: [...history, { role: "user", content: question }],
        maxTokens: Number(maxTokens) || undefined,
        signal: controller.signal,
        onDelta: (text) => {
          firstAt ??= performance.now();
          update(index, (message) => ({ text: message.text + text }));
        },
      });
      const ended = performance.now();
      const tokens = result.usage?.completion_tokens ?? result.chunks;
      const generating = firstAt === null ? null : (ended - firstAt) / 1000;
      update(index, () => ({
        pending: false,
        chunks: result.chunks,
        stats: {
          firstToken: firstAt === null ? null : firstAt - started,
          tokens,
          estimated: !result.usage,
          perSecond: generating && tokens > 1 ? (tokens - 1) / generating : null,
          total: ended - started,
          finish: result.finishReason,
        },
      }));
      if (result.requestId) whereItWent(result.requestId).then((decision) => update(index, () => ({ decision })));
    } catch (caught) {
      const stopped = caught.name === "AbortError";
      update(index, () => ({
        pending: false,
        error: stopped ? null : caught.message,
        stopped,
        requestId: caught.requestId,
      }));
    } finally {
      setStreaming(false);
      abort.current = null;
    }
  }

  return html`<${PageHead}
      title="Chat"
      intro="Send a message through cligate to test a source. It takes the same path as a coding tool's request, so a reply proves the route works."
    />
    <div class="stack">
      ${providers.error && html`<${ErrorNote} title="The sources could not load." error=${providers.error} />`}
      <${Card} title="Where to send it">
        <div class="form-row">
          <div class="field narrow">
            <label for="chat-source">Source</label>
            <select id="chat-source" value=${source} onChange=${(event) => setSource(event.target.value)}>
              <option value=${LOCAL}>Local Model</option>
              ${cloud.map((provider) => html`<option value=${provider.name}>Cloud: ${provider.name}</option>`)}
            </select>
          </div>
          <div class="field">
            <label for="chat-model">Model</label>
            ${isLocalSource
              ? html`<select id="chat-model" value=${localModel} onChange=${(event) => setLocalModel(event.target.value)}
                  disabled=${!localModels.length}>
                  ${!localModels.length && html`<option value="">No local models found</option>`}
                  ${localModels.map(
                    (entry) => html`<option value=${entry.value}>
                      ${entry.model.name} — ${entry.provider.name}${entry.model.loaded ? " (loaded)" : ""}
                    </option>`,
                  )}
                </select>`
              : html`<input id="chat-model" type="text" spellcheck="false" value=${cloudModel}
                  onInput=${(event) => setCloudModel(event.target.value)} />`}
          </div>
          <div class="field narrow">
            <label for="chat-max">Max tokens</label>
            <input id="chat-max" type="number" min="1" max="32768" value=${maxTokens}
              onInput=${(event) => setMaxTokens(event.target.value)} />
          </div>
        </div>
        ${isLocalSource && routing.data && !routing.data.local_routing &&
        html`<div class="alert info" role="note" style="margin-top: 0.75rem">
          <strong>Local Model Routing is off</strong>, so cligate sends every request to the cloud and this
          message would not reach a local model.${" "}<a href="#/routing">Turn it on in Routing</a>.
        </div>`}
        ${isLocalSource && providers.data && !localModels.length &&
        html`<p class="small" style="margin: 0.75rem 0 0">
          No local model yet: <a href="#/models">add a server in Local Models</a>.
        </p>`}
        ${!isLocalSource &&
        html`<p class="muted small" style="margin: 0.75rem 0 0">
          A cloud source answers with the key its provider's <code>api_key_env</code> names; the dashboard has no login of its own.
        </p>`}
      </${Card}>
      <${Card}
        title="Conversation"
        actions=${messages.length > 0 &&
        html`<button type="button" class="small" disabled=${streaming} onClick=${() => setMessages([])}>New chat</button>`}
      >
        <div class="chat-log" ref=${log} role="log" aria-label="Conversation" aria-busy=${streaming}>
          ${messages.length === 0
            ? html`<${Empty} title="No messages yet">Pick a source above and say hello.</${Empty}>`
            : messages.map((message) => html`<${Bubble} message=${message} />`)}
        </div>
        <form class="composer" style="margin-top: 0.75rem" onSubmit=${send} aria-label="Send a message">
          <label for="chat-draft" class="visually-hidden">Message</label>
          <textarea
            id="chat-draft"
            rows="2"
            placeholder="Write a message… (Enter sends, Shift+Enter for a new line)"
            value=${draft}
            onInput=${(event) => setDraft(event.target.value)}
            onKeyDown=${(event) => {
              if (event.key === "Enter" && !event.shiftKey && !event.isComposing) send(event);
            }}
          ></textarea>
          ${streaming
            ? html`<button type="button" onClick=${() => abort.current?.abort()}>Stop</button>`
            : html`<button type="submit" class="primary" disabled=${!ready}>Send</button>`}
        </form>
      </${Card}>
    </div>`;
}

/** The cloud providers the apps go to, each with the first app that uses it. */
function cloudSources(routing) {
  const found = new Map();
  for (const app of routing?.apps || []) {
    if (app.cloud && !found.has(app.cloud)) found.set(app.cloud, { name: app.cloud, app: app.app });
  }
  return [...found.values()];
}

/** The logged decision of a finished request; written when the answer ends, so asked a few times. */
async function whereItWent(requestId) {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      return await api(`/api/decisions/${encodeURIComponent(requestId)}`);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  return { id: requestId };
}

function Bubble({ message }) {
  if (message.role === "user") {
    return html`<div class="bubble user"><span class="who">You</span>${message.text}</div>`;
  }
  const who = html`<span class="who">${message.target}</span>`;
  if (message.error) {
    return html`<div class="bubble assistant error" role="alert">
      ${who}<strong>No answer:</strong> ${message.error}
      ${message.requestId && html` <a href=${`#/decisions/${encodeURIComponent(message.requestId)}`}>Why?</a>`}
    </div>`;
  }
  return html`<div class="stack" style="gap: 0.3rem">
    <div class="bubble assistant" data-testid="assistant-reply" data-chunks=${message.chunks}>
      ${who}${message.text}${message.pending && !message.text && html`<${Spinner} label="Waiting for the first token" />`}
      ${message.stopped && html`<span class="muted small"> (stopped)</span>`}
    </div>
    ${message.stats && html`<${Metrics} stats=${message.stats} decision=${message.decision} />`}
  </div>`;
}

function Metrics({ stats, decision }) {
  const approx = stats.estimated ? "≈" : "";
  return html`<div class="metrics" aria-label="Reply statistics" role="group">
    <span>Time to first token <strong>${fmtMs(stats.firstToken)}</strong></span>
    <span><strong>${stats.perSecond ? `${approx}${stats.perSecond.toFixed(1)}` : "–"}</strong> tokens/s</span>
    <span><strong>${approx}${stats.tokens}</strong> tokens in <strong>${fmtMs(stats.total)}</strong></span>
    ${stats.finish === "length" && html`<span>stopped at max tokens</span>`}
    ${decision?.provider &&
    html`<span>
      via <strong class="mono">${decision.provider}/${decision.model}</strong>${" "}
      (<a href=${`#/decisions/${encodeURIComponent(decision.id)}`}>why</a>)
    </span>`}
  </div>`;
}
