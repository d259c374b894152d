"""Request bodies as Codex may send them: compressed, or not."""

from __future__ import annotations

import gzip

import pytest
import zstandard

from router.endpoints import openai_responses as endpoint
from router.errors import InvalidRequest

BODY = b'{"model": "m", "input": "' + b"word " * 400 + b'"}'


@pytest.mark.parametrize(
    ("coding", "packed"),
    [
        ("identity", BODY),
        ("", BODY),
        ("gzip", gzip.compress(BODY)),
        (" ZSTD", zstandard.ZstdCompressor().compress(BODY)),
        # Codex streams its zstd frames: no content size in the frame header.
        ("zstd", zstandard.ZstdCompressor(write_content_size=False).compress(BODY)),
    ],
)
def test_bodies_are_decompressed(coding: str, packed: bytes) -> None:
    assert endpoint.decompressed(packed, coding) == BODY


def test_a_body_that_decompresses_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoint, "MAX_BODY_BYTES", 1000)
    monkeypatch.setattr(endpoint, "_READ_CHUNK", 100)
    with pytest.raises(InvalidRequest, match="exceeds 1000 bytes") as raised:
        endpoint.decompressed(zstandard.ZstdCompressor().compress(BODY), "zstd")
    assert raised.value.status == 413


@pytest.mark.parametrize(("coding", "packed"), [("gzip", b"\x1f\x8b junk"), ("zstd", b"junk")])
def test_corrupt_bodies_are_400(coding: str, packed: bytes) -> None:
    with pytest.raises(InvalidRequest, match=f"not valid {coding} data") as raised:
        endpoint.decompressed(packed, coding)
    assert raised.value.status == 400


def test_unknown_codings_are_415() -> None:
    with pytest.raises(InvalidRequest, match="unsupported Content-Encoding 'br'") as raised:
        endpoint.decompressed(BODY, "br")
    assert raised.value.status == 415
