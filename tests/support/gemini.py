"""Gemini clients against cligate in tests: a config, an SDK client, reading stream frames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google import genai
from google.genai import types

from router.config import Config, parse_config
from tests.support.proxy import RunningProxy, make_config

API_KEY = "AIzaSy-cligate-test-key-0123456789"
LOCAL_MODEL = "qwen2.5-coder:7b"


def gemini_config(
    tmp: Path,
    *,
    local_url: str = "http://127.0.0.1:9/v1",
    google_url: str = "http://127.0.0.1:9",
    default: str = "local",
    **extra: Any,
) -> Config:
    """cligate with a local provider and a Google one ("google"), Gemini CLI routed ``default``."""
    raw = make_config(tmp, local_url=local_url, **extra).model_dump()
    raw["providers"]["google"] = {"type": "gemini", "url": google_url}
    raw["apps"]["gemini-cli"] = {"default": default, "cloud": "google"}
    return parse_config(raw, source="test")


def gemini_sdk(proxy: RunningProxy, api_version: str = "v1beta") -> genai.Client:
    """Keep the client in a variable: once garbage collected it closes its connections."""
    options = types.HttpOptions(base_url=proxy.url, api_version=api_version)
    return genai.Client(api_key=API_KEY, http_options=options)


def sse_chunks(text: str) -> list[dict[str, Any]]:
    """The JSON of each frame of a Gemini stream, checking it has ``data:`` lines only."""
    frames = [frame for frame in text.split("\n\n") if frame]
    assert all(frame.startswith("data: ") and "\n" not in frame for frame in frames)
    return [json.loads(frame.removeprefix("data: ")) for frame in frames]
