"""``cligate setup``: point an installed coding CLI at cligate in its own config files, and back.

One module per CLI says which files and keys (``claude_code``, ``codex``, ``gemini``); ``engine``
and ``undo`` do the editing, backups and restoring the same way for all of them.
"""

from __future__ import annotations

from router.setup import claude_code, codex, gemini
from router.setup.model import Integration

INTEGRATIONS: dict[str, Integration] = {
    integration.target.name: integration
    for integration in (claude_code.INTEGRATION, codex.INTEGRATION, gemini.INTEGRATION)
}
