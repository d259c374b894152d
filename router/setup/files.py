"""Files on disk: reading a user's config, writing it back atomically with its permissions, and the
record (a manifest and backup copies) that lets ``cligate setup --undo`` restore the state before.

The record lives in cligate's state directory (``~/.local/state/cligate/setup/<cli>/``), not next
to the CLI's files, so that no CLI ever reads a stray backup as config. Backups are mode 0600:
the files they copy may hold API keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from router.atomic_file import real_path, write_atomic
from router.setup.model import Change, Format, SetupError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def read_bytes(path: Path) -> bytes | None:
    try:
        return real_path(path).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SetupError(f"cannot read {shown(path)}: {exc.strerror}") from exc


def decode(path: Path, data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SetupError(f"{shown(path)} is not UTF-8 text; nothing was changed") from exc


def missing_dirs(path: Path) -> list[Path]:
    """The folders of ``path`` and its parents that do not exist, outermost first."""
    missing = []
    for parent in [path, *path.parents]:
        if parent.exists():
            break
        missing.append(parent)
    return list(reversed(missing))


def make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; the ones created, outermost first."""
    missing = missing_dirs(path)
    for directory in missing:
        directory.mkdir()
    return missing


def remove_empty_dirs(directories: Sequence[Path]) -> None:
    for directory in sorted(directories, key=lambda path: len(path.parts), reverse=True):
        with contextlib.suppress(OSError):
            directory.rmdir()  # only an empty one: the CLI may have put files there since


def shown(path: Path) -> str:
    """``path`` as a user reads it: ``~/.codex/config.toml``."""
    home = os.environ.get("HOME")
    if home and path.is_relative_to(home):
        return "~/" + str(path.relative_to(home))
    return str(path)


# -- the record of a setup ---------------------------------------------------------------------


@dataclass(slots=True)
class FileRecord:
    path: Path
    format: Format
    existed: bool  # whether the file was there before setup
    mode: int | None  # its mode before setup
    backup: Path | None  # a copy of it before setup
    written_sha256: str  # what setup wrote: a file still equal to it is restored from the backup
    changes: list[Change] = field(default_factory=list)


@dataclass(slots=True)
class Manifest:
    cli: str
    url: str
    keep_telemetry: bool
    created_dirs: list[Path] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)

    def file(self, path: Path) -> FileRecord | None:
        return next((record for record in self.files if record.path == path), None)


def record_dir(state_dir: Path, cli: str) -> Path:
    return state_dir / "setup" / cli


def load_manifest(state_dir: Path, cli: str) -> Manifest | None:
    path = record_dir(state_dir, cli) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return _manifest_from(raw)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SetupError(
            f"cannot read the record of the last setup, {shown(path)}: {exc.strerror}"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SetupError(f"the record of the last setup, {shown(path)}, is damaged: {exc}") from exc


def save_manifest(state_dir: Path, manifest: Manifest) -> None:
    directory = record_dir(state_dir, manifest.cli)
    make_dirs(directory)
    os.chmod(directory, 0o700)
    data = json.dumps(_manifest_to(manifest), indent=2, ensure_ascii=False) + "\n"
    write_atomic(directory / MANIFEST, data.encode(), mode=0o600)


def save_backup(state_dir: Path, cli: str, path: Path, data: bytes) -> Path:
    """A copy of ``data``, the file at ``path`` before setup, named so no later setup reuses it."""
    directory = record_dir(state_dir, cli)
    make_dirs(directory)
    os.chmod(directory, 0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    backup = directory / f"{path.name}.{stamp}.before"
    write_atomic(backup, data, mode=0o600)
    return backup


def forget(state_dir: Path, cli: str, *, keep: list[Path]) -> None:
    """Delete the record of a setup, and every backup in it but those in ``keep``."""
    directory = record_dir(state_dir, cli)
    for entry in directory.glob("*"):
        if entry not in keep:
            entry.unlink()
    if not keep:
        with contextlib.suppress(OSError):
            directory.rmdir()
            directory.parent.rmdir()  # setup/, when no other CLI's record is left in it


def _manifest_to(manifest: Manifest) -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION,
        "cli": manifest.cli,
        "url": manifest.url,
        "keep_telemetry": manifest.keep_telemetry,
        "created_dirs": [str(path) for path in manifest.created_dirs],
        "files": [
            {
                "path": str(record.path),
                "format": record.format,
                "existed": record.existed,
                "mode": record.mode,
                "backup": str(record.backup) if record.backup else None,
                "written_sha256": record.written_sha256,
                "changes": [_change_to(change) for change in record.changes],
            }
            for record in manifest.files
        ],
    }


def _change_to(change: Change) -> dict[str, Any]:
    return {
        "key": list(change.key),
        "before": change.before,
        "after": change.after,
        "created": [list(key) for key in change.created],
        "telemetry": change.telemetry,
    }


def _manifest_from(raw: dict[str, Any]) -> Manifest:
    if raw.get("version") != MANIFEST_VERSION:
        raise ValueError(f"unknown version {raw.get('version')!r}")
    files = [
        FileRecord(
            path=Path(entry["path"]),
            format=entry["format"],
            existed=entry["existed"],
            mode=entry["mode"],
            backup=Path(entry["backup"]) if entry["backup"] else None,
            written_sha256=entry["written_sha256"],
            changes=[
                Change(
                    key=tuple(change["key"]),
                    before=change["before"],
                    after=change["after"],
                    created=tuple(tuple(key) for key in change["created"]),
                    telemetry=change["telemetry"],
                )
                for change in entry["changes"]
            ],
        )
        for entry in raw["files"]
    ]
    created = [Path(path) for path in raw["created_dirs"]]
    return Manifest(raw["cli"], raw["url"], raw["keep_telemetry"], created, files)
