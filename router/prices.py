"""Cloud prices per model: the table shipped with cligate, extended by the config's ``prices:``."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import TypeAdapter

from router.config import Config, ModelPrice

SHIPPED_PRICES = Path(__file__).parent / "_data" / "prices.yaml"
_WILDCARDS = "*?[]"


@functools.cache
def shipped_prices() -> dict[str, ModelPrice]:
    raw = yaml.safe_load(SHIPPED_PRICES.read_text(encoding="utf-8"))
    return TypeAdapter(dict[str, ModelPrice]).validate_python(raw)


class PriceTable:
    """Model-name globs to prices, in layers: a match in an earlier layer beats any later one."""

    def __init__(self, *layers: Mapping[str, ModelPrice]) -> None:
        self._layers = layers

    @classmethod
    def of(cls, *configs: Config) -> PriceTable:
        """The prices of ``configs`` (the first wins), then the shipped table."""
        return cls(*(config.prices for config in configs), shipped_prices())

    def lookup(self, model: str) -> ModelPrice | None:
        name = model.lower()
        for layer in self._layers:
            matches = [glob for glob in layer if fnmatch.fnmatchcase(name, glob.lower())]
            if matches:
                # max() keeps the first of equals, so a tie goes to the entry written first.
                return layer[max(matches, key=_specificity)]
        return None

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """US dollars for these tokens at ``model``'s price; None when it has no price."""
        price = self.lookup(model)
        if price is None:
            return None
        return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


def _specificity(glob: str) -> int:
    return sum(char not in _WILDCARDS for char in glob)
