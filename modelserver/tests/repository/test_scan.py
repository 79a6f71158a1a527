"""The repository scan finds each model's newest complete version and shrugs off what it can't read."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelserver.repository.config import CONFIG_FILE
from modelserver.repository.scan import complete_versions, newest_versions


def _version(root: Path, model: str, name: str, *, complete: bool = True) -> Path:
    directory = root / model / name
    directory.mkdir(parents=True)
    if complete:
        (directory / CONFIG_FILE).write_text("{}")
    return directory


def test_the_newest_complete_integer_version_serves(tmp_path: Path) -> None:
    _version(tmp_path, "m", "1")
    newest = _version(tmp_path, "m", "2")
    _version(tmp_path, "m", "3", complete=False)  # still being copied in
    _version(tmp_path, "m", ".tmp-4")
    _version(tmp_path, "m", "²")  # str.isdigit() is true for it, int() is not
    (tmp_path / "README").write_text("a file beside the models")
    assert newest_versions(tmp_path) == {"m": (2, newest)}
    assert sorted(v for v, _ in complete_versions(tmp_path / "m")) == [1, 2]


def test_an_unreadable_directory_is_skipped_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = _version(tmp_path, "m", "1")
    (tmp_path / "lost+found").mkdir()  # root-owned, mode 0700 on a fresh ext4 volume
    real_iterdir = Path.iterdir

    def iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self.name == "lost+found":
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    # Tests run as root here, whom a mode of 0700 does not stop: refuse the listing directly.
    monkeypatch.setattr(Path, "iterdir", iterdir)
    assert newest_versions(tmp_path) == {"m": (1, served)}
    assert complete_versions(tmp_path / "lost+found") == []
    assert complete_versions(tmp_path / "gone") == []
