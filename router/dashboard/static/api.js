// Talking to cligate: the JSON API under /api/, its live event stream, and the Chat stream.
// Every URL is relative to this origin: the dashboard never calls anywhere else.

import { askForKey } from "./login.js";

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** A JSON call; resolves to the parsed body, rejects with an ApiError carrying the server's reason. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(`cligate did not answer (${error.message}). Is it still running?`, 0, null);
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    if (response.status === 401) askForKey();
    throw new ApiError(errorMessage(parsed, response), response.status, parsed);
  }
  return parsed;
}

/** The reason a failed response gives, in any of the error shapes cligate speaks. */
export function errorMessage(body, response) {
  const error = body && (body.error ?? body.detail);
  if (typeof error === "string") return error;
  if (error && typeof error.message === "string") return error.message;
  if (Array.isArray(error) && error[0]?.msg) return error[0].msg;
  if (body && typeof body.message === "string") return body.message;
  return `${response.status} ${response.statusText || "error"}`.trim();
}

/** Pages announce a change of settings, so the status line (and other views) can refresh. */
export function settingsChanged() {
  window.dispatchEvent(new Event("cligate:changed"));
}

// ---- live decisions: one EventSource shared by every page ----

const listeners = new Set();
const stateListeners = new Set();
let source = null;
let connected = false;

function connect() {
  if (source) return;
  source = new EventSource("/api/events");
  source.addEventListener("open", () => setConnected(true));
  source.addEventListener("error", () => setConnected(false));
  source.addEventListener("decision", (event) => {
    let record;
    try {
      record = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const listener of listeners) listener(record);
  });
}

function setConnected(value) {
  if (connected === value) return;
  connected = value;
  for (const listener of stateListeners) listener(value);
}

/** Calls ``listener(record)`` for every new decision; returns the unsubscribe function. */
export function onDecision(listener) {
  connect();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls ``listener(connected)`` when the live stream connects or drops. */
export function onLiveState(listener) {
  connect();
  stateListeners.add(listener);
  listener(connected);
  return () => stateListeners.delete(listener);
}

// ---- the Chat tab's stream, through the proxy's own OpenAI Chat Completions endpoint ----

/** The proxy path a dashboard chat goes through, with the session's route in its prefix. */
export function chatPath(route, localModel) {
  const parts = [`route=${encodeURIComponent(route)}`];
  if (localModel) parts.push(`local_model=${encodeURIComponent(localModel)}`);
  return `/s/${parts.join(",")}/app/dashboard/v1/chat/completions`;
}

/**
 * Streams one chat completion. ``onDelta(text)`` gets each piece of the answer; resolves to
 * {requestId, usage, finishReason, chunks}. Rejects with an ApiError when the proxy refuses.
 */
export async function streamChat({ path, model, messages, maxTokens, signal, onDelta }) {
  const body = {
    model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (maxTokens) body.max_tokens = maxTokens;
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
    credentials: "same-origin",
  });
  const requestId = response.headers.get("x-cligate-request-id");
  if (!response.ok) {
    if (response.status === 401) askForKey();
    const text = await response.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    const error = new ApiError(errorMessage(parsed, response), response.status, parsed);
    error.requestId = requestId;
    throw error;
  }
  const result = { requestId, usage: null, finishReason: null, chunks: 0 };
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      handleFrame(frame, result, onDelta);
    }
  }
  if (buffer.trim()) handleFrame(buffer, result, onDelta);
  return result;
}

function handleFrame(frame, result, onDelta) {
  const data = frame
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).replace(/^ /, ""))
    .join("\n");
  if (!data || data === "[DONE]") return;
  let chunk;
  try {
    chunk = JSON.parse(data);
  } catch {
    return;
  }
  if (chunk.error) {
    throw new ApiError(chunk.error.message || "the stream ended with an error", 200, chunk);
  }
  if (chunk.usage) result.usage = chunk.usage;
  for (const choice of chunk.choices || []) {
    if (choice.finish_reason) result.finishReason = choice.finish_reason;
    const text = choice.delta?.content;
    if (text) {
      result.chunks += 1;
      onDelta(text);
    }
  }
}
