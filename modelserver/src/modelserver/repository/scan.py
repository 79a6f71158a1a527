"""Find the newest complete version of each model under the repository directory."""

from __future__ import annotations

from pathlib import Path

from modelserver.repository.config import CONFIG_FILE


def complete_versions(model_dir: Path) -> list[tuple[int, Path]]:
    """(version, directory) for each subdirectory named by an integer that holds a config.json.

    Other names (a `.tmp-2` being built) are ignored, and so is whatever cannot be read: one
    root-owned `lost+found` at the top of a freshly formatted volume must not stop every model
    from loading, nor a directory replaced while it is listed end the caller's thread.
    """
    try:
        entries = list(model_dir.iterdir())
    except OSError:
        return []
    versions = []
    for entry in entries:
        if not (entry.name.isascii() and entry.name.isdigit()):
            continue
        try:
            complete = (entry / CONFIG_FILE).is_file()
        except OSError:
            continue
        if complete:
            versions.append((int(entry.name), entry))
    return versions


def newest_versions(root: Path, only: tuple[str, ...] = ()) -> dict[str, tuple[int, Path]]:
    """{model name: (version, directory)} for the highest complete version of each model."""
    found: dict[str, tuple[int, Path]] = {}
    if not root.is_dir():
        return found
    for model_dir in sorted(root.iterdir()):
        if model_dir.name.startswith(".") or (only and model_dir.name not in only):
            continue
        versions = complete_versions(model_dir)
        if versions:
            found[model_dir.name] = max(versions)
    return found
