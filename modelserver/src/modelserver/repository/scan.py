"""Find the newest complete version of each model under the repository directory."""

from __future__ import annotations

from pathlib import Path

from modelserver.repository.config import CONFIG_FILE


def newest_versions(root: Path, only: tuple[str, ...] = ()) -> dict[str, tuple[int, Path]]:
    """{model name: (version, directory)} for the highest version holding a config.json.

    Directories whose name is not an integer (e.g. a `.tmp-2` being built) are ignored.
    """
    found: dict[str, tuple[int, Path]] = {}
    if not root.is_dir():
        return found
    for model_dir in sorted(root.iterdir()):
        if not model_dir.is_dir() or model_dir.name.startswith(".") or (only and model_dir.name not in only):
            continue
        versions = [
            (int(d.name), d)
            for d in model_dir.iterdir()
            if d.is_dir() and d.name.isdigit() and (d / CONFIG_FILE).is_file()
        ]
        if versions:
            found[model_dir.name] = max(versions)
    return found
