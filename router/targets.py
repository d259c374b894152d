"""Which protocol cligate speaks to each kind of provider when it translates.

A client's protocol is handled by its endpoint's ``Codec`` (``router.serve``); the provider's by a
``Target``. Translation runs whenever the two differ; when they are the same protocol the request
is passed through untouched instead.
"""

from __future__ import annotations

from router.config import Provider
from router.protocols import (
    anthropic_target,
    gemini_target,
    ollama,
    openai_chat,
    openai_responses_target,
)
from router.protocols.target import Target

# Provider type -> how to translate for it. Protocols are added here as their modules land.
TARGETS: dict[str, Target] = {
    "openai-compatible": openai_chat.TARGET,
    "ollama": ollama.TARGET,
    # Only clients of other protocols get here: an Anthropic client's request is passed through.
    "anthropic": anthropic_target.TARGET,
    "gemini": gemini_target.TARGET,
    "openai": openai_responses_target.TARGET,
}


def target_for(provider: Provider) -> Target | None:
    return TARGETS.get(provider.type)
