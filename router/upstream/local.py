"""Local models: fitting a request into a model's context window."""

from __future__ import annotations

from router.config import Provider
from router.errors import ContextLengthExceeded

# tiktoken's counts are estimates of the local model's tokenizer: leave room for the difference.
ESTIMATE_MARGIN = 1.1
TEMPLATE_RESERVE_TOKENS = 64


def output_budget(requested: int | None, input_tokens: int, provider: Provider) -> int | None:
    """The ``max_tokens`` to ask of a local model: what the client asked, capped to what fits.

    Claude Code asks for up to 128k output tokens; a local server rejects any request whose input
    plus ``max_tokens`` exceeds its window, so the cap is what makes such requests answerable.
    """
    caps = [cap for cap in (requested, provider.max_output_tokens) if cap is not None]
    if provider.context_window is not None:
        needed = int(input_tokens * ESTIMATE_MARGIN) + TEMPLATE_RESERVE_TOKENS
        room = provider.context_window - needed
        if room < 1:
            raise ContextLengthExceeded(input_tokens, provider.context_window)
        caps.append(room)
    return min(caps) if caps else None
