// Rules: the config file in an editor, checked as you type by the validator behind
// `cligate rules check` (problems at their line), saved and hot-reloaded; and "try a prompt" to
// see the decision the saved rules make and its full trace.

import { useEffect, useRef, useState } from "../vendor/preact/hooks.js";
import { api, settingsChanged } from "../api.js";
import { ExplainView } from "../trace.js";
import { appLabel, Card, ErrorNote, html, Loading, PageHead, Spinner, StatusNote, useLoad } from "../ui.js";

const CHECK_DELAY_MS = 250;
const LINE_HEIGHT = 20;
const DEFAULT_APPS = ["claude-code", "codex", "gemini-cli"];

export function RulesPage() {
  const config = useLoad(() => api("/api/config"));
  const routing = useLoad(() => api("/api/routing"));
  const apps = (routing.data?.apps || []).map((app) => app.app);
  return html`<${PageHead}
      title="Rules"
      intro="The whole configuration: providers, app defaults and the rules, checked as you type."
    />
    <div class="stack">
      ${config.error && html`<${ErrorNote} title="The config file could not load." error=${config.error} />`}
      ${!config.data && !config.error && html`<${Loading} what="Loading the config file" />`}
      ${config.data && html`<${Editor} initial=${config.data.yaml} path=${config.data.path} />`}
      <${TryPrompt} apps=${apps.length ? apps : DEFAULT_APPS} />
    </div>`;
}

function Editor({ initial, path }) {
  const [text, setText] = useState(initial);
  const [savedText, setSavedText] = useState(initial);
  const [problems, setProblems] = useState([]);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState(null);
  const [saved, setSaved] = useState(false);
  const area = useRef(null);
  const gutter = useRef(null);
  const generation = useRef(0);

  // Check the text a moment after the typing stops; an answer to older text is dropped.
  useEffect(() => {
    const mine = ++generation.current;
    setChecking(true);
    const timer = setTimeout(async () => {
      try {
        const result = await api("/api/config/check", { method: "POST", body: { yaml: text } });
        if (mine !== generation.current) return;
        setProblems(result.problems || []);
        setCheckError(null);
      } catch (caught) {
        if (mine === generation.current) setCheckError(caught);
      } finally {
        if (mine === generation.current) setChecking(false);
      }
    }, CHECK_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);

  const dirty = text !== savedText;
  const canSave = dirty && !saving && problems.length === 0;

  async function save() {
    if (!dirty || saving) return;
    setSaving(true);
    setSaveError(null);
    setSaved(false);
    try {
      await api("/api/config", { method: "PUT", body: { yaml: text } });
      setSavedText(text);
      setSaved(true);
      settingsChanged();
    } catch (caught) {
      const found = caught.body?.problems;
      if (Array.isArray(found) && found.length) setProblems(found);
      setSaveError(caught);
    } finally {
      setSaving(false);
    }
  }

  function keydown(event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      if (canSave) save();
    }
  }

  function jumpTo(line) {
    const textarea = area.current;
    const lines = text.split("\n");
    const start = lines.slice(0, line - 1).reduce((sum, each) => sum + each.length + 1, 0);
    textarea.focus();
    textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
    textarea.scrollTop = Math.max(0, (line - 4) * LINE_HEIGHT);
  }

  const count = text.split("\n").length;
  const byLine = new Map();
  for (const problem of problems) {
    if (problem.line) byLine.set(problem.line, [...(byLine.get(problem.line) || []), problem.message]);
  }
  const syncScroll = () => {
    if (gutter.current) gutter.current.scrollTop = area.current.scrollTop;
  };

  let state;
  if (checkError) state = html`<span style="color: var(--bad)">Could not check: ${checkError.message}</span>`;
  else if (checking) state = html`<${Spinner} label="Checking" /> Checking…`;
  else if (problems.length) state = html`<span style="color: var(--bad)">${problems.length} ${problems.length === 1 ? "problem" : "problems"}: not saved until fixed</span>`;
  else state = html`<span style="color: var(--ok)">✓ No problems</span>`;

  return html`<${Card}
    title="Config file"
    subtitle=${html`<span class="mono">${path}</span>`}
    actions=${html`
      <button type="button" class="small" disabled=${!dirty || saving} onClick=${() => setText(savedText)}>Revert</button>
      <button type="button" class="primary small" disabled=${!canSave} onClick=${save}>
        ${saving ? "Saving…" : "Save"}
      </button>`}
  >
    <div class="stack">
      <div class="editor">
        <div class="gutter" ref=${gutter} aria-hidden="true">
          ${Array.from({ length: count }, (_, index) => {
            const messages = byLine.get(index + 1);
            return html`<div class=${messages ? "error" : ""} data-line=${index + 1} title=${messages?.join("\n")}>
              ${index + 1}
            </div>`;
          })}
          <div></div>
        </div>
        <textarea
          ref=${area}
          aria-label="Config YAML"
          aria-invalid=${problems.length > 0}
          aria-describedby="yaml-state yaml-problems"
          spellcheck="false"
          autocapitalize="off"
          autocomplete="off"
          wrap="off"
          value=${text}
          onInput=${(event) => {
            setText(event.target.value);
            setSaved(false);
            setSaveError(null);
          }}
          onScroll=${syncScroll}
          onKeyDown=${keydown}
        ></textarea>
      </div>
      <div class="row spread small">
        <span id="yaml-state" aria-live="polite">${state}</span>
        <span class="muted">${dirty ? "Unsaved changes" : "Matches the file"} · Ctrl+S saves</span>
      </div>
      <ul class="problems" id="yaml-problems" aria-label="Problems">
        ${problems.map(
          (problem) => html`<li>
            <button type="button" class="small" onClick=${() => problem.line && jumpTo(problem.line)}>
              ${problem.line ? `Line ${problem.line}${problem.column ? `, column ${problem.column}` : ""}: ` : ""}${problem.message}
            </button>
          </li>`,
        )}
      </ul>
      ${saveError && html`<${ErrorNote} title="Not saved." error=${saveError} />`}
      ${saved && !dirty && html`<${StatusNote}>Saved. cligate reloaded the config.</${StatusNote}>`}
    </div>
  </${Card}>`;
}

function TryPrompt({ apps }) {
  const [prompt, setPrompt] = useState("");
  const [app, setApp] = useState(apps[0]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);

  async function decide(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await api("/api/explain", { method: "POST", body: { prompt, app } }));
    } catch (caught) {
      setResult(null);
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return html`<${Card}
    title="Try a prompt"
    subtitle="The decision the saved rules make for a prompt, without sending it anywhere."
  >
    <form class="stack" onSubmit=${decide} aria-label="Try a prompt">
      <div class="form-row">
        <div class="field narrow">
          <label for="try-app">App</label>
          <select id="try-app" value=${app} onChange=${(event) => setApp(event.target.value)}>
            ${apps.map((name) => html`<option value=${name}>${appLabel(name)}</option>`)}
          </select>
        </div>
      </div>
      <div class="field">
        <label for="try-prompt">Prompt</label>
        <textarea
          id="try-prompt"
          rows="4"
          placeholder="Refactor the payment module to use the new client"
          value=${prompt}
          onInput=${(event) => setPrompt(event.target.value)}
        ></textarea>
      </div>
      <div class="row">
        <button type="submit" class="primary" disabled=${busy || !prompt.trim()}>
          ${busy ? html`<${Spinner} label="Deciding" /> Deciding…` : "Decide"}
        </button>
      </div>
      <${ErrorNote} title="No decision." error=${error} />
    </form>
    ${result &&
    html`<div style="margin-top: 1rem" aria-label="Decision for this prompt" role="region">
      <${ExplainView} record=${result} />
    </div>`}
  </${Card}>`;
}
