"""Passwords in provider URLs (``http://user:password@host/``) kept out of the dashboard.

The Rules page shows the config file's text and saves it back whole. The text it is given has
each URL's user info replaced by ``***``; a saved text that still holds ``***@host`` gets the
user info back from the file as it is, for the same scheme and host, so editing anything else
keeps the credentials without the page ever holding them.
"""

from __future__ import annotations

import re

HIDDEN = "***"
# scheme://userinfo@host: user info as RFC 3986 allows it (no "/", "@" or space, which must be
# percent-encoded), the host up to where YAML or the path takes over.
_USERINFO_URL = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/@'\"#?{}\[\],]+)@"
    r"(?P<host>[^\s/'\"#?{}\[\],]*)"
)


class HiddenUnknown(ValueError):
    """A text names ``***`` as a URL's user info where the file has none to put back."""


def hide_userinfo(text: str) -> str:
    return _USERINFO_URL.sub(lambda m: f"{m['scheme']}{HIDDEN}@{m['host']}", text)


def restore_userinfo(text: str, original: str) -> str:
    """``text`` with each hidden user info put back from ``original``; HiddenUnknown if one
    cannot be (the host was changed too, say)."""
    known: dict[tuple[str, str], str] = {}
    for match in _USERINFO_URL.finditer(original):
        key = (match["scheme"].lower(), match["host"].lower())
        known.setdefault(key, match["userinfo"])

    def put_back(match: re.Match[str]) -> str:
        if match["userinfo"] != HIDDEN:
            return match[0]
        userinfo = known.get((match["scheme"].lower(), match["host"].lower()))
        if userinfo is None:
            shown = f"{match['scheme']}{HIDDEN}@{match['host']}"
            raise HiddenUnknown(
                f"{shown}: the password hidden here is not in the file for that address; "
                "type the user name and password in full"
            )
        return f"{match['scheme']}{userinfo}@{match['host']}"

    return _USERINFO_URL.sub(put_back, text)
