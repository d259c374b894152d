"""Replacing a file in one step, keeping its permissions, and writing through symlinks.

A reader (a running cligate, a CLI starting up) sees the old file or the new one, never half.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def real_path(path: Path) -> Path:
    """Where a write to ``path`` must go: through a symlink (a dotfiles repo) to its target, so
    that the link stays a link."""
    return path.resolve() if path.is_symlink() else path


def file_mode(path: Path) -> int | None:
    """The permission bits of the file ``path`` leads to, None when there is none."""
    try:
        return real_path(path).stat().st_mode & 0o7777
    except FileNotFoundError:
        return None


def write_atomic(path: Path, data: bytes, *, mode: int | None, private: bool = False) -> None:
    """Replace ``path`` with ``data``. An existing file's ``mode`` is kept by passing it; a new
    file gets the umask's mode, or 0600 when ``private`` (it may hold keys)."""
    target = real_path(path)
    if mode is None:
        mode = 0o600 if private else 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
