"""Local models: fitting a request into a model's context window, and what cligate knows of them.

Windows come from the config (``context_window``) or, when it says none, from discovery (Ollama's
``/api/show``). The context a model is loaded with matters on Ollama: a request asking another
``num_ctx`` than the loaded one makes the server reload the model, which takes seconds, so sizes
come in a few steps and a loaded model's size is kept while the request fits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from router.config import Provider
from router.errors import ContextLengthExceeded
from router.protocols.target import LocalSettings

# tiktoken's counts are estimates of the local model's tokenizer: leave room for the difference.
ESTIMATE_MARGIN = 1.1
TEMPLATE_RESERVE_TOKENS = 64
# Output room a request needs when neither the client nor the provider says less.
DEFAULT_OUTPUT_RESERVE = 4096
PLANNED_OUTPUT_CAP = 8192
CONTEXT_STEPS = (8192, 16384, 32768, 65536, 131072, 262144)
# What a warm-up loads a model with when nothing says more: holds a coding agent's first turns
# (Claude Code opens with 10-13k tokens) without the memory of a 128k context.
WARM_CONTEXT = 32768


def window_of(provider: Provider, discovered: int | None) -> int | None:
    """The window to plan with: the config's (the user knows their server), else the model's."""
    return provider.context_window or discovered


def output_budget(
    requested: int | None, input_tokens: int, provider: Provider, window: int | None = None
) -> int | None:
    """The ``max_tokens`` to ask of a local model: what the client asked, capped to what fits.

    Claude Code asks for up to 128k output tokens; a local server rejects any request whose input
    plus ``max_tokens`` exceeds its window, so the cap is what makes such requests answerable.
    """
    caps = [cap for cap in (requested, provider.max_output_tokens) if cap is not None]
    limit = window_of(provider, window)
    if limit is not None:
        room = limit - _input_need(input_tokens)
        if room < 1:
            raise ContextLengthExceeded(input_tokens, limit)
        caps.append(room)
    return min(caps) if caps else None


def context_size(
    input_tokens: int, output_budget: int | None, window: int | None, loaded: int | None
) -> int:
    """The ``num_ctx`` for a request: what it needs, in steps, and never a reload it can avoid.

    The output part is planned at most ``PLANNED_OUTPUT_CAP``: clients ask for up to 128k
    tokens as a ceiling, not a need, and every token of num_ctx costs memory on the server.
    """
    output = min(output_budget or DEFAULT_OUTPUT_RESERVE, PLANNED_OUTPUT_CAP)
    needed = _input_need(input_tokens) + output
    if loaded is not None and needed <= loaded:
        return loaded
    size = next((step for step in CONTEXT_STEPS if step >= needed), needed)
    return min(size, window) if window is not None else size


def _input_need(input_tokens: int) -> int:
    return int(input_tokens * ESTIMATE_MARGIN) + TEMPLATE_RESERVE_TOKENS


@dataclass(slots=True)
class LocalModels:
    """Per (provider, model): the window discovery found, and the context it is loaded with."""

    windows: dict[tuple[str, str], int] = field(default_factory=dict)
    loaded: dict[tuple[str, str], int] = field(default_factory=dict)

    def window(self, provider_name: str, model: str) -> int | None:
        return self.windows.get((provider_name, model))

    def settings(
        self, name: str, provider: Provider, model: str, input_tokens: int, budget: int | None
    ) -> LocalSettings:
        """What to tell the server beside this request; remembers the size it will load."""
        window = window_of(provider, self.window(name, model))
        num_ctx = context_size(input_tokens, budget, window, self.loaded.get((name, model)))
        self.loaded[name, model] = num_ctx
        return LocalSettings(num_ctx=num_ctx, keep_alive=provider.keep_warm)

    def warm_context(self, name: str, provider: Provider, model: str) -> int:
        window = window_of(provider, self.window(name, model))
        return min(window, WARM_CONTEXT) if window is not None else WARM_CONTEXT
