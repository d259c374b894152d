"""Ollama's wire shapes and rules, as pure functions, for the Ollama stand-in (ollama_server.py).

Every shape here follows Ollama's own source (github ollama/ollama: ``server/routes.go``,
``server/prompt.go``, ``server/sched.go``, ``api/types.go``) and ``docs/api.md``; see PROTOCOLS.md
section 5. Nothing here does I/O, so the shapes can be read and checked on their own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# A Go time.Duration holds at most MaxInt64 ns (~292 years): what "keep loaded forever" becomes.
FOREVER_SECONDS = (2**63 - 1) / 1e9
DEFAULT_KEEP_ALIVE_SECONDS = 300.0  # Ollama's default keep_alive: 5m
# A short ChatML template in Ollama's Go template syntax; /api/show reports it verbatim.
CHATML_TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n"
)


@dataclass(frozen=True)
class OllamaModel:
    """One model the stand-in has "pulled"."""

    name: str  # e.g. "qwen2.5-coder:7b"
    context_length: int = 32768  # the trained maximum: model_info["<arch>.context_length"]
    architecture: str = "qwen2"
    capabilities: tuple[str, ...] = ("completion", "tools")
    # `PARAMETER num_ctx` in its Modelfile: then the default context for this model.
    num_ctx: int | None = None
    parameter_size: str = "7.6B"
    quantization_level: str = "Q4_K_M"
    size: int = 4_683_087_332  # bytes on disk
    template: str = CHATML_TEMPLATE

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.architecture,
            "families": [self.architecture],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }


# -- names, times, durations ----------------------------------------------------------------------


def canonical_name(name: str) -> str:
    """Ollama's lookup key: the default registry and namespace dropped, ":latest" added when the
    tag is missing, compared case-insensitively (getExistingName uses strings.EqualFold)."""
    short = name.strip().lower().removeprefix("registry.ollama.ai/").removeprefix("library/")
    return short if ":" in short.rsplit("/", 1)[-1] else short + ":latest"


def full_name(name: str) -> str:
    """How Ollama's errors spell a model: host and namespace included."""
    short = canonical_name(name)
    return ("registry.ollama.ai/library/" + short) if "/" not in short else short


def go_time(epoch: float) -> str:
    """A timestamp as Go's time.Time marshals it (RFC 3339, fraction without trailing zeros)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=epoch)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3}
_DURATION_UNITS |= {"s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string ("5m", "1h30m", "-1m", "0"), with Go's error wording."""
    sign, rest = (-1.0, text[1:]) if text.startswith("-") else (1.0, text.removeprefix("+"))
    if rest == "0":
        return 0.0
    total, position = 0.0, 0
    while rest and position < len(rest):
        part = _DURATION_PART.match(rest, position)
        if part is None:
            if re.fullmatch(r"[\d.]+", rest[position:]):
                raise ValueError(f'time: missing unit in duration "{text}"')
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(part[1]) * _DURATION_UNITS[part[2]]
        position = part.end()
    if not rest:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


def keep_alive_seconds(value: object) -> float:
    """api.Duration's rules: a number is whole seconds (Go truncates it), a string a Go duration;
    anything negative means forever (returned as math.inf)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"Unsupported type: '{type(value).__name__}'")
    if isinstance(value, str):
        seconds = parse_go_duration(value)
    else:  # the sign is checked before Go truncates: -0.5 is forever, 0.5 is 0
        seconds = -1.0 if value < 0 else float(int(value))
    return math.inf if seconds < 0 else seconds


# -- model listing shapes -------------------------------------------------------------------------


def tags_entry(model: OllamaModel, modified_at: float) -> dict[str, Any]:
    return {
        "name": model.name,
        "model": model.name,
        "modified_at": go_time(modified_at),
        "size": model.size,
        "digest": model.digest,
        "details": model.details(),
    }


def ps_entry(model: OllamaModel, num_ctx: int, expires_at: float) -> dict[str, Any]:
    entry = tags_entry(model, 0.0)
    del entry["modified_at"]
    # size_vram == size: the model pretends to sit wholly on a GPU.
    return entry | {
        "expires_at": go_time(expires_at),
        "size_vram": model.size,
        "context_length": num_ctx,
    }


def show_body(model: OllamaModel, modified_at: float) -> dict[str, Any]:
    arch = model.architecture
    parameters = [("num_ctx", model.num_ctx)] if model.num_ctx else []
    modelfile_params = "".join(f"PARAMETER {key} {value}\n" for key, value in parameters)
    body: dict[str, Any] = {
        "modelfile": (
            '# Modelfile generated by "ollama show"\n'
            f"# To build a new Modelfile based on this, replace FROM with:\n# FROM {model.name}\n\n"
            f"FROM /models/blobs/sha256-{model.digest}\n"
            f'TEMPLATE """{model.template}"""\n{modelfile_params}'
        ),
        "template": model.template,
        "details": model.details(),
        "model_info": {
            "general.architecture": arch,
            "general.file_type": 15,
            "general.parameter_count": int(float(model.parameter_size.rstrip("B")) * 1e9),
            "general.quantization_version": 2,
            f"{arch}.context_length": model.context_length,
            f"{arch}.embedding_length": 3584,
            f"{arch}.block_count": 28,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.pre": "qwen2",
        },
        "capabilities": list(model.capabilities),
        "modified_at": go_time(modified_at),
    }
    if parameters:  # Ollama omits an empty "parameters" (omitempty); it pads names to 30
        body["parameters"] = "\n".join(f"{key:<30} {value}" for key, value in parameters)
    return body


def openai_models(models: Sequence[OllamaModel], modified_at: float) -> dict[str, Any]:
    """GET /v1/models: owned_by is the name's namespace, "library" for official models."""
    data = [
        {
            "id": model.name,
            "object": "model",
            "created": int(modified_at),
            "owned_by": model.name.rsplit("/", 1)[0] if "/" in model.name else "library",
        }
        for model in models
    ]
    return {"object": "list", "data": data}


# -- /api/chat answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """The generation statistics of a final chunk; durations in nanoseconds."""

    total_duration: int
    load_duration: int
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int

    def fields(self) -> dict[str, int]:
        # api.Metrics fields are all omitempty: a zero is left out.
        return {key: value for key, value in vars(self).items() if value}


def message(
    content: str = "",
    thinking: str = "",
    tool_calls: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An assistant message; content is always present (no omitempty), the rest only if set."""
    body: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking:
        body["thinking"] = thinking
    if tool_calls:
        body["tool_calls"] = list(tool_calls)
    return body


def chunk(model: str, created_at: float, msg: Mapping[str, Any]) -> dict[str, Any]:
    return {"model": model, "created_at": go_time(created_at), "message": dict(msg), "done": False}


def final(
    model: str, created_at: float, msg: Mapping[str, Any], done_reason: str, stats: Stats
) -> dict[str, Any]:
    body = chunk(model, created_at, msg) | {"done": True, "done_reason": done_reason}
    return body | stats.fields()


def lifecycle_reply(model: str, created_at: float, done_reason: str) -> dict[str, Any]:
    """The answer to a preload ("load") or an unload ("unload"): no statistics at all."""
    return final(model, created_at, message(), done_reason, Stats(0, 0, 0, 0, 0, 0))


def native_tool_call(index: int, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A tool call as /api/chat returns it: arguments as an object, an id like call_xxxxxxxx."""
    call_id = "call_" + secrets.token_hex(4)
    return {"id": call_id, "function": {"index": index, "name": name, "arguments": dict(arguments)}}


def error(text: str) -> dict[str, str]:
    return {"error": text}


# -- request rules, with Ollama's error wording ----------------------------------------------


def request_keep_alive(body: Mapping[str, Any], default: float) -> float:
    value = body.get("keep_alive")
    return default if value is None else keep_alive_seconds(value)


def missing_model(name: str) -> tuple[int, dict[str, str]]:
    if not name:
        return 400, error("model is required")
    return 404, error(f"model '{name}' not found")


def capability_problem(model: OllamaModel, name: str, body: Mapping[str, Any]) -> str | None:
    """Ollama refuses thinking (checked first) and tools a model does not declare."""
    if body.get("think") not in (None, False) and "thinking" not in model.capabilities:
        return f'"{name}" does not support thinking'
    if body.get("tools") and "tools" not in model.capabilities:
        return f"{full_name(name)} does not support tools"
    return None


# -- native messages -> Chat Completions ----------------------------------------------------------

_IMAGE_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"GIF8", "image/gif"))


def data_url(image_b64: str) -> str:
    """A native base64 image as a data URL; the media type is sniffed from the bytes."""
    head = base64.b64decode(image_b64[:16] + "=" * (-len(image_b64[:16]) % 4), validate=False)
    mime = next((kind for magic, kind in _IMAGE_MAGIC if head.startswith(magic)), None)
    if mime is None:
        mime = "image/webp" if head[8:12] == b"WEBP" else "image/png"
    return f"data:{mime};base64,{image_b64}"


def _user_content(msg: Mapping[str, Any]) -> str | list[dict[str, Any]]:
    text = msg.get("content") or ""
    images = msg.get("images") or []
    if not images:
        return str(text)
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    urls = [{"type": "image_url", "image_url": {"url": data_url(str(i))}} for i in images]
    return parts + urls


def to_chat_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Native /api/chat messages as Chat Completions messages.

    Native tool calls carry arguments as an object and often no id; native tool results name
    the tool (tool_name) rather than the call. Chat needs ids on both sides, so each call gets
    one and a result takes the id of the oldest open call with its name.
    """
    out: list[dict[str, Any]] = []
    open_calls: list[tuple[str, str]] = []  # (tool name, call id), oldest first
    for position, msg in enumerate(messages):
        role = str(msg.get("role", "user")).lower()
        if role == "assistant" and msg.get("tool_calls"):
            calls = [
                _chat_call(call, f"call_{position}_{n}") for n, call in enumerate(msg["tool_calls"])
            ]
            open_calls += [(c["function"]["name"], c["id"]) for c in calls]
            # "" and not null: the llama.cpp server answers 500 to null content next to tool_calls.
            out.append(
                {"role": "assistant", "content": msg.get("content") or "", "tool_calls": calls}
            )
        elif role == "tool":
            call_id = msg.get("tool_call_id") or _claim(open_calls, msg.get("tool_name"))
            out.append(
                {"role": "tool", "content": msg.get("content") or "", "tool_call_id": call_id}
            )
        else:
            out.append({"role": role, "content": _user_content(msg)})
    return out


def _chat_call(call: Mapping[str, Any], fallback_id: str) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments") or {}
    return {
        "id": call.get("id") or fallback_id,
        "type": "function",
        "function": {"name": function.get("name", ""), "arguments": json.dumps(arguments)},
    }


def _claim(open_calls: list[tuple[str, str]], tool_name: object) -> str:
    for position, (name, call_id) in enumerate(open_calls):
        if tool_name in (None, "", name):
            del open_calls[position]
            return call_id
    return "call_unmatched"


# Options passed through under the same name (top_k, min_p and repeat_penalty are llama.cpp's).
_SAMPLING = (
    "temperature top_p top_k min_p seed stop repeat_penalty presence_penalty frequency_penalty"
)


def chat_params(options: Mapping[str, Any], fmt: object, default_max_tokens: int) -> dict[str, Any]:
    """Native options and format as Chat Completions parameters.

    max_tokens is always set: num_predict's "no limit" (-1, -2, absent) would let the llama.cpp
    server generate until its context is full, minutes on this machine.
    """
    predict = options.get("num_predict")
    limited = isinstance(predict, int | float) and predict > 0
    params: dict[str, Any] = {"max_tokens": int(predict) if limited else default_max_tokens}  # type: ignore[arg-type]
    params |= {key: options[key] for key in _SAMPLING.split() if options.get(key) is not None}
    if fmt == "json":
        params["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, Mapping):
        params["response_format"] = {"type": "json_object", "schema": dict(fmt)}
    return params


# -- fitting the prompt into num_ctx (server/prompt.go chatPrompt) --------------------------------


def _block_start(messages: Sequence[Mapping[str, Any]], index: int) -> int:
    """Never orphan tool results: a cut inside them moves back to their assistant tool-call turn."""
    if index <= 0 or messages[index].get("role") != "tool":
        return index
    start = index
    while start > 0 and messages[start - 1].get("role") == "tool":
        start -= 1
    before = messages[start - 1] if start > 0 else None
    return (
        start - 1
        if before and before.get("role") == "assistant" and before.get("tool_calls")
        else index
    )


def first_kept(
    messages: Sequence[Mapping[str, Any]], cost: Callable[[int], int], fixed: int, budget: int
) -> int:
    """Where chatPrompt starts keeping messages: drop from the oldest until the prompt fits,
    keeping earlier system messages and always the last message (with its tool block)."""
    for index in range(len(messages)):
        start = _block_start(messages, index)
        systems = sum(cost(j) for j in range(start) if messages[j].get("role") == "system")
        if fixed + systems + sum(cost(j) for j in range(start, len(messages))) <= budget:
            return start
        if index == len(messages) - 1:
            return start
    return 0
