"""Offline token counts, cached per text and bounded."""

from __future__ import annotations

import pytest

from router import model as m
from router.config import parse_config
from router.errors import ContextLengthExceeded
from router.tokens import IMAGE_TOKENS, TokenCache, count_request, encoding
from router.upstream.local import output_budget


def test_o200k_loads_offline_with_the_known_ids() -> None:
    assert encoding().encode("hello world") == [24912, 2375]


def test_cache_is_bounded_and_counts_stay_right() -> None:
    cache = TokenCache(max_entries=2)
    assert cache.count("hello world") == 2
    cache.count("a b c")
    cache.count("x y")
    assert len(cache) == 2
    assert cache.count("hello world") == 2


def test_images_count_a_fixed_estimate_not_their_base64() -> None:
    image = m.Image("image/png", "A" * 1_000_000)
    request = m.Request(model="m", messages=(m.Message("user", (image,)),))
    assert count_request(request, TokenCache()) == IMAGE_TOKENS + 4


def test_output_budget_caps_to_what_fits() -> None:
    provider = parse_config(
        {"providers": {"l": {"type": "ollama", "context_window": 1000, "max_output_tokens": 500}}},
        source="t",
    ).provider("l")
    assert output_budget(128_000, 100, provider) == 500
    assert output_budget(128_000, 800, provider) == 1000 - 880 - 64
    with pytest.raises(ContextLengthExceeded):
        output_budget(10, 900, provider)
