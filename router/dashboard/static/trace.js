// A decision's explain trace: where it went and why, each rule's verdict, the guards, the outcome.
// The same record shape as `cligate explain --json`, from the log or from a dry run.

import { appLabel, Badge, fmtMs, fmtNumber, fmtTime, html, Mark } from "./ui.js";

const GROUPS = new Set(["any", "not", "all"]);
const PROMPT_PREVIEW = 240;

/** The whole trace of ``record``; a dry run (no id) leaves out the notes on its made-up body. */
export function ExplainView({ record, side }) {
  if (!record) return null;
  return html`<div class="stack explain">
    <${Summary} record=${record} side=${side || record.side} />
    <${Features} features=${record.features || {}} />
    <${Rules} trace=${record.trace || []} />
    <${Guards} guards=${record.guards || []} />
    ${record.id && record.notes?.length > 0 &&
    html`<section>
      <h3>Translation notes</h3>
      <ul class="small">
        ${record.notes.map((note) => html`<li>${note}</li>`)}
      </ul>
    </section>`}
    ${"status" in record && html`<${Outcome} record=${record} />`}
  </div>`;
}

function Summary({ record, side }) {
  const routeTone = record.route === "local" || record.route === "cloud" ? record.route : side || "";
  return html`<section aria-label="Decision">
    <div class="summary">
      <span class="badge ${routeTone}" data-testid="decision-route">${record.route}</span>
      <span class="mono">${record.provider} / ${record.model}</span>
    </div>
    <dl class="kv" style="margin-top: 0.6rem">
      <dt>Decided by</dt>
      <dd>${record.rule ? html`rule <strong>${record.rule}</strong>` : "the app's default route"}</dd>
      <dt>Reason</dt>
      <dd>${record.reason}</dd>
      <dt>App</dt>
      <dd>${appLabel(record.app)}</dd>
      ${record.requested_model &&
      html`<dt>Asked for</dt>
        <dd class="mono">${record.requested_model}</dd>`}
      ${record.time &&
      html`<dt>Time</dt>
        <dd>${fmtTime(record.time)}</dd>`}
      ${record.id &&
      html`<dt>Request id</dt>
        <dd class="mono">${record.id}</dd>`}
    </dl>
  </section>`;
}

function Features({ features }) {
  const entries = Object.entries(features).filter(([name]) => name !== "prompt");
  const prompt = String(features.prompt ?? "");
  return html`<section>
    <h3>Features</h3>
    <dl class="kv" style="margin-top: 0.4rem">
      ${entries.map(
        ([name, value]) => html`<dt>${name.replaceAll("_", " ")}</dt>
          <dd class="mono">${cell(value)}</dd>`,
      )}
      <dt>prompt</dt>
      <dd>
        ${prompt.length > PROMPT_PREVIEW
          ? html`<details>
              <summary>${prompt.slice(0, PROMPT_PREVIEW)}…</summary>
              <p style="white-space: pre-wrap">${prompt}</p>
            </details>`
          : html`<span style="white-space: pre-wrap">${prompt || "–"}</span>`}
      </dd>
    </dl>
  </section>`;
}

function Rules({ trace }) {
  if (trace.length === 0) {
    return html`<section>
      <h3>Rules</h3>
      <p class="muted small">No rules, so the app's default route applies.</p>
    </section>`;
  }
  const first = trace.find((verdict) => verdict.matched)?.rule;
  return html`<section aria-label="Rules, in order">
    <h3>Rules, in order <span class="muted small">(the first match wins)</span></h3>
    <ol class="list" style="margin-top: 0.4rem" aria-label="Rule verdicts">
      ${trace.map((verdict) => {
        const winner = verdict.rule === first;
        const note = winner ? "first match" : verdict.matched ? "matches, but an earlier rule won" : "";
        return html`<li class="trace-rule ${winner ? "winner" : ""}" data-rule=${verdict.rule}>
          <div class="row">
            <${Mark} ok=${verdict.matched} />
            <strong>${verdict.rule}</strong>
            <span class="muted">→ ${verdict.route}</span>
            ${note && html`<${Badge} tone=${winner ? "ok" : ""}>${note}</${Badge}>`}
          </div>
          <${Conditions} conditions=${verdict.conditions || []} />
        </li>`;
      })}
    </ol>
  </section>`;
}

function Conditions({ conditions }) {
  if (!conditions.length) return null;
  return html`<ul class="conds">
    ${conditions.map((condition) => {
      const inner = condition.inner || [];
      if (condition.feature === "all" && inner.length === 1) {
        return html`<li><${Conditions} conditions=${inner} /></li>`;
      }
      const grouping = GROUPS.has(condition.feature);
      return html`<li>
        <${Mark} ok=${condition.passed} />
        <span class="mono">${condition.feature}</span>
        <span class="muted mono">${condition.test}</span>
        ${!grouping && html`<span>saw <span class="mono">${cell(condition.saw)}</span></span>`}
        ${inner.length > 0 && html`<div style="flex-basis: 100%"><${Conditions} conditions=${inner} /></div>`}
      </li>`;
    })}
  </ul>`;
}

function Guards({ guards }) {
  if (!guards.length) return null;
  return html`<section>
    <h3>Guards</h3>
    <ul class="list small" style="margin-top: 0.2rem">
      ${guards.map(
        (guard) => html`<li class="row">
          <${Mark} ok=${guard.passed} />
          <strong>${guard.guard.replaceAll("_", " ")}</strong>
          <span class="muted">${guard.detail}</span>
        </li>`,
      )}
    </ul>
  </section>`;
}

function Outcome({ record }) {
  const ok = record.status >= 200 && record.status < 300 && !record.error;
  return html`<section>
    <h3>Outcome</h3>
    <div class="metrics" style="margin-top: 0.3rem">
      <${Badge} tone=${ok ? "ok" : "bad"}>status ${record.status}</${Badge}>
      <span>latency <strong>${fmtMs(record.latency_ms)}</strong></span>
      ${record.first_token_ms != null &&
      html`<span>first token <strong>${fmtMs(record.first_token_ms)}</strong></span>`}
      ${(record.input_tokens != null || record.output_tokens != null) &&
      html`<span>
        tokens <strong>${fmtNumber(record.input_tokens)}</strong> in /${" "}
        <strong>${fmtNumber(record.output_tokens)}</strong> out
      </span>`}
      ${record.stop_reason && html`<span>stop: ${record.stop_reason}</span>`}
      ${record.stream_end && html`<span>stream: ${record.stream_end.replaceAll("_", " ")}</span>`}
    </div>
    ${record.failover &&
    html`<p class="small">
      Failed over from <span class="mono">${record.failover.from}</span>: ${record.failover.reason}
    </p>`}
    ${record.error && html`<p class="small" style="color: var(--bad)">${String(record.error)}</p>`}
  </section>`;
}

export function cell(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return fmtNumber(value);
  if (Array.isArray(value)) return value.length ? value.join(", ") : "none";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
