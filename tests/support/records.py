"""Decision-log records as the server writes them, for tests of the commands that read the log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from router.classify.route import RouteContext, decide
from router.config import Config, parse_config
from router.protocols.anthropic import parse_request

RULES = [
    {"name": "hard-work-to-cloud", "if": {"keywords": ["refactor"]}, "route": "cloud"},
    {"name": "short-prompts-local", "if": {"prompt_tokens": {"lt": 50}}, "route": "local"},
]


def raw_config(tmp: Path, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "providers": {
            "box": {"type": "ollama", "model": "qwen2.5-coder:7b", "context_window": 32768},
            "anthropic": {"type": "anthropic"},
        },
        "local": "box",
        "apps": {"claude-code": {"default": "cloud", "cloud": "anthropic"}},
        "rules": RULES,
        "log": {"dir": str(tmp / "state")},
    }
    return {**raw, **changes}


def write_config(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def make_config(tmp: Path, **changes: Any) -> Config:
    return parse_config(raw_config(tmp, **changes), source="test")


def body(prompt: str, model: str = "claude-opus-5-5") -> bytes:
    message = {"role": "user", "content": prompt}
    return json.dumps({"model": model, "max_tokens": 100, "messages": [message]}).encode()


def record(
    config: Config,
    prompt: str,
    *,
    request_id: str = "r1",
    model: str = "claude-opus-5-5",
    app: str = "claude-code",
    age: timedelta = timedelta(minutes=5),
    input_tokens: int | None = 1000,
    output_tokens: int | None = 200,
    **fields: Any,
) -> dict[str, Any]:
    """The record the server logs for ``prompt`` decided under ``config``."""
    parsed = parse_request(body(prompt, model))
    decision = decide(parsed, RouteContext(app, "anthropic"), config)
    return {
        "id": request_id,
        "app": app,
        "path": "/v1/messages",
        "requested_model": model,
        "stream": False,
        **decision.as_dict(),
        "notes": [],
        "status": 200,
        "latency_ms": 812.5,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "stop_reason": "end_turn",
        "time": (datetime.now(UTC) - age).isoformat().replace("+00:00", "Z"),
        "event": "decision",
        **fields,
    }


def write_log(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        for item in records:
            file.write(json.dumps(item) + "\n")
    return path
