"""cligate: a local router for AI coding tools."""

__version__ = "0.1.0"
