"""Setting up and undoing, the same way for every CLI.

Setup is idempotent: it always computes ``baseline + settings``, where the baseline is the file as
it was before cligate touched it, so running it again writes nothing. Everything is read, parsed
and edited in memory first; a file the user broke by hand stops it before anything is written.

Undo restores each file byte for byte from its backup while the file is still exactly what setup
wrote. A file the user (or the CLI) changed since is not overwritten: only the keys setup set are
put back to what they were, each only if it still holds setup's value, so later edits survive;
the backup stays, and the report says where.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from router.atomic_file import file_mode, write_atomic
from router.setup.documents import open_document
from router.setup.files import (
    MANIFEST,
    FileRecord,
    Manifest,
    decode,
    forget,
    load_manifest,
    make_dirs,
    missing_dirs,
    read_bytes,
    record_dir,
    remove_empty_dirs,
    save_backup,
    save_manifest,
    sha256,
    shown,
)
from router.setup.model import (
    Change,
    DocumentError,
    FileReport,
    FileSpec,
    FileStatus,
    Format,
    Key,
    Report,
    Setting,
    SetupError,
    Target,
    same,
)


def apply_settings(
    format: Format, text: str, settings: Sequence[Setting], target: str
) -> tuple[str, list[Change]]:
    """``text`` with ``settings`` in it, and what that changed."""
    document = open_document(format, text, target=target)
    changes = []
    for setting in settings:
        if same(document.value(setting.key), setting.value):
            continue
        before = document.raw(setting.key)
        created = document.put(setting.key, document.render(setting.key, setting.value))
        changes.append(
            Change(setting.key, before, setting.value, tuple(created), setting.telemetry)
        )
    return document.text(), changes


def revert(
    format: Format, text: str, changes: Sequence[Change], target: str
) -> tuple[str, list[Key]]:
    """``text`` with every key setup set put back, if it still holds setup's value; the keys
    that did not (the user changed them since), which are left as they are."""
    document = open_document(format, text, target=target)
    kept = []
    for change in reversed(changes):
        if not same(document.value(change.key), change.after):
            kept.append(change.key)
        elif change.before is None:
            document.delete(change.key, change.created)
        else:
            document.put(change.key, change.before)
    return document.text(), kept


def invalid(path: Path, problem: DocumentError, retry: str) -> SetupError:
    return SetupError(
        f"{shown(path)}: {problem}. Fix it by hand, then run `{retry}` again; nothing was changed"
    )


# -- setup -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _FilePlan:
    spec: FileSpec
    current: bytes | None
    baseline: bytes | None  # the file without cligate's settings
    new: bytes | None
    changes: list[Change]
    record: FileRecord | None  # from the last setup
    restored: bool  # the baseline is that setup's backup, byte for byte

    @property
    def writes(self) -> bool:
        return self.new != self.current


def set_up(
    target: Target,
    specs: Sequence[FileSpec],
    *,
    url: str,
    state_dir: Path,
    keep_telemetry: bool,
) -> Report:
    """Put ``specs``' settings into their files (telemetry switches only without
    ``keep_telemetry``), recording what was there before in ``state_dir``."""
    manifest = load_manifest(state_dir, target.name)
    plans = [_plan(target, spec, manifest, keep_telemetry) for spec in specs]
    report = Report(target, "setup", url, keep_telemetry, [_file_report(plan) for plan in plans])
    if any(plan.writes for plan in plans):
        _write(target, plans, manifest, url, state_dir, keep_telemetry)
    return report


def _plan(target: Target, spec: FileSpec, manifest: Manifest | None, keep: bool) -> _FilePlan:
    current = read_bytes(spec.path)
    record = manifest.file(spec.path) if manifest else None
    baseline, restored = _baseline(target, spec, record, current)
    settings = [setting for setting in spec.settings if not (keep and setting.telemetry)]
    text = decode(spec.path, baseline) or ""
    try:
        new_text, changes = apply_settings(spec.format, text, settings, target.name)
    except DocumentError as exc:
        raise invalid(spec.path, exc, f"cligate setup {target.name}") from exc
    new = new_text.encode() if changes else baseline
    return _FilePlan(spec, current, baseline, new, changes, record, restored)


def _baseline(
    target: Target, spec: FileSpec, record: FileRecord | None, current: bytes | None
) -> tuple[bytes | None, bool]:
    """The file as it would be without cligate: as it is, if setup never touched it; its backup,
    if it is still what setup wrote; else the user's later version with setup's keys put back."""
    if record is None:
        return current, False
    if sha256(current) == record.written_sha256:
        if not record.existed:
            return None, True
        backup = read_bytes(record.backup) if record.backup else None
        if backup is not None:
            return backup, True
    if current is None:
        return None, False
    text = decode(spec.path, current) or ""
    try:
        reverted, _ = revert(spec.format, text, record.changes, target.name)
    except DocumentError as exc:
        raise invalid(spec.path, exc, f"cligate setup {target.name}") from exc
    return reverted.encode(), False


def _file_report(plan: _FilePlan) -> FileReport:
    status: FileStatus
    if not plan.writes:
        status = "unchanged"
    elif plan.current is None:
        status = "created"
    elif plan.new is None:
        status = "removed"
    else:
        status = "changed"
    return FileReport(plan.spec.path, status, plan.changes)


def _write(
    target: Target,
    plans: Sequence[_FilePlan],
    old: Manifest | None,
    url: str,
    state_dir: Path,
    keep_telemetry: bool,
) -> None:
    written: list[_FilePlan] = []
    created: list[Path] = []
    try:
        manifest = _manifest(target, plans, old, url, state_dir, keep_telemetry)
        created = manifest.created_dirs[len(old.created_dirs) if old else 0 :]
        # The record first: if writing stops halfway, undo still knows what setup meant to do.
        save_manifest(state_dir, manifest)
        for plan in plans:
            if plan.writes:
                _put_file(plan, manifest)
                written.append(plan)
    except OSError as exc:
        _roll_back(target, written, created, old, state_dir)
        where = f" {exc.filename}" if exc.filename else ""
        raise SetupError(f"cannot write{where}: {exc.strerror}; nothing was changed") from exc
    _forget_unused(target, manifest, state_dir)


def _manifest(
    target: Target,
    plans: Sequence[_FilePlan],
    old: Manifest | None,
    url: str,
    state_dir: Path,
    keep_telemetry: bool,
) -> Manifest:
    """The record of this setup (backing up what it will change on the way)."""
    manifest = Manifest(target.name, url, keep_telemetry, list(old.created_dirs) if old else [])
    # A file of an earlier setup that is not among today's (its CLI's folder moved since)
    # stays on record, so that undo still puts it back.
    paths = {plan.spec.path for plan in plans}
    manifest.files += [record for record in (old.files if old else []) if record.path not in paths]
    for plan in plans:
        if plan.changes:
            manifest.files.append(_record(target, plan, state_dir))
        if plan.writes and plan.new is not None:
            for directory in missing_dirs(plan.spec.path.parent):
                if directory not in manifest.created_dirs:
                    manifest.created_dirs.append(directory)
    return manifest


def _forget_unused(target: Target, manifest: Manifest | None, state_dir: Path) -> None:
    """Backups that no file on record needs (an earlier setup's), and a record of nothing, go."""
    files = manifest.files if manifest else []
    keep = [record.backup for record in files if record.backup]
    if files:
        keep.append(record_dir(state_dir, target.name) / MANIFEST)
    forget(state_dir, target.name, keep=keep)


def _record(target: Target, plan: _FilePlan, state_dir: Path) -> FileRecord:
    assert plan.new is not None
    old = plan.record
    if plan.restored and old is not None:
        existed, mode, backup = old.existed, old.mode, old.backup
    else:
        existed, mode = plan.baseline is not None, file_mode(plan.spec.path)
        backup = None
        if plan.baseline is not None:
            backup = save_backup(state_dir, target.name, plan.spec.path, plan.baseline)
    digest = sha256(plan.new)
    assert digest is not None
    return FileRecord(plan.spec.path, plan.spec.format, existed, mode, backup, digest, plan.changes)


def _put_file(plan: _FilePlan, manifest: Manifest) -> None:
    path = plan.spec.path
    if plan.new is None:
        path.unlink(missing_ok=True)
        return
    make_dirs(path.parent)
    record = manifest.file(path)
    mode = file_mode(path) if plan.current is not None else (record.mode if record else None)
    write_atomic(path, plan.new, mode=mode, private=plan.spec.private)


def _roll_back(
    target: Target,
    written: Sequence[_FilePlan],
    created: Sequence[Path],
    old: Manifest | None,
    state_dir: Path,
) -> None:
    """Put back the files already written, and the record as it was."""
    with contextlib.suppress(OSError):
        for plan in reversed(written):
            if plan.current is None:
                plan.spec.path.unlink(missing_ok=True)
            else:
                write_atomic(plan.spec.path, plan.current, mode=file_mode(plan.spec.path))
        remove_empty_dirs(created)
        if old is not None:
            save_manifest(state_dir, old)
        _forget_unused(target, old, state_dir)
