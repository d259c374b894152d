"""``cligate setup CLI --undo``: put every file setup changed back as it was (see ``engine``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from router.atomic_file import file_mode, write_atomic
from router.setup.engine import invalid, revert
from router.setup.files import (
    FileRecord,
    decode,
    forget,
    load_manifest,
    read_bytes,
    remove_empty_dirs,
    sha256,
)
from router.setup.model import DocumentError, FileReport, Report, SetupError, Target


@dataclass(slots=True)
class _Undo:
    record: FileRecord
    report: FileReport
    data: bytes | None = None  # what to write; None with status "removed": delete the file
    keep_backup: bool = False


def undo(target: Target, *, state_dir: Path) -> Report | None:
    """Undo the last setup of ``target``; None if there is none on record."""
    manifest = load_manifest(state_dir, target.name)
    if manifest is None:
        return None
    # Everything is worked out before anything is written: one file the user broke since setup
    # stops the undo of all of them, so they never end up half undone.
    steps = [_step(target, record) for record in manifest.files]
    try:
        for step in steps:
            _carry_out(step)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise SetupError(f"cannot write{where}: {exc.strerror}; run the undo again") from exc
    remove_empty_dirs(manifest.created_dirs)
    backups = [step.record.backup for step in steps if step.keep_backup and step.record.backup]
    forget(state_dir, target.name, keep=backups)
    files = [step.report for step in steps]
    return Report(target, "undo", manifest.url, manifest.keep_telemetry, files, backups)


def _step(target: Target, record: FileRecord) -> _Undo:
    path = record.path
    current = read_bytes(path)
    if current is None:
        note = "it no longer exists: left as it is"
        return _Undo(record, FileReport(path, "left", note=note), keep_backup=record.existed)
    if sha256(current) == record.written_sha256:
        if not record.existed:
            return _Undo(record, FileReport(path, "removed", record.changes))
        backup = read_bytes(record.backup) if record.backup else None
        if backup is not None:
            return _Undo(record, FileReport(path, "restored", record.changes), backup)
    text = decode(path, current) or ""
    try:
        reverted, kept = revert(record.format, text, record.changes, target.name)
    except DocumentError as exc:
        raise invalid(path, exc, f"cligate setup {target.name} --undo") from exc
    changes = [change for change in record.changes if change.key not in kept]
    report = FileReport(path, "reverted", changes, kept, note="changed since setup")
    return _Undo(record, report, reverted.encode(), keep_backup=record.existed)


def _carry_out(step: _Undo) -> None:
    path = step.record.path
    if step.report.status == "removed":
        path.unlink(missing_ok=True)
    elif step.data is not None and step.data != read_bytes(path):
        mode = step.record.mode if step.report.status == "restored" else None
        write_atomic(path, step.data, mode=mode or file_mode(path))
