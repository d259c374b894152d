"""What the Claude Code end-to-end tests share: its key, the output cap against the real local
server, and reading what an Anthropic stream said."""

from __future__ import annotations

import json
import re

from tests.e2e.cli import sse_data

API_KEY = "sk-ant-test-e2e-0123456789abcdefghijklmnopqrstuv"
# The real local server never stops on its own: every run against it is capped.
LOCAL_OUTPUT_CAP = 24


def anthropic_stream_text(raw: bytes) -> str:
    pieces = []
    for data in sse_data(raw):
        event = json.loads(data)
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta":
            pieces.append(event["delta"]["text"])
    return "".join(pieces)


_LENGTH_FINISH = re.compile(rb'("finish_reason"\s*:\s*)"length"')


def length_as_stop(line: bytes) -> bytes:
    """The tiny model never stops, so every answer ends at cligate's output cap ("length").
    Claude Code treats such an answer as cut off (it asks to resume three times, then exits 1),
    so the tee turns the cap into a natural stop; every other byte is the real server's."""
    return _LENGTH_FINISH.sub(rb'\1"stop"', line)
