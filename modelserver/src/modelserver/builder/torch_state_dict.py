"""Read a legacy (pre-1.6, non-zip) PyTorch state dict into numpy arrays, without torch.

Why: the pretrained EfficientNet-Lite0 weights ship as a `torch.save` file, and torch (gigabytes)
must never be a dependency of this project. `torch.load` would also unpickle arbitrary objects,
i.e. run arbitrary code from the file. This reader's unpickler resolves only the few globals the
format needs (an `OrderedDict`, `torch._utils._rebuild_tensor_v2`, the typed `torch.*Storage`
markers) to harmless local stand-ins and refuses every other global, so a hostile file can at worst
fail to load.

The legacy format (`torch.serialization._legacy_save`) is one byte stream holding, in order:

1. a pickle of the magic number 0x1950A86A20F9469CFC6C,
2. a pickle of the protocol version (1001),
3. a pickle of a sys-info dict (`little_endian`, `type_sizes`, ...),
4. a pickle of the object itself: tensors are `_rebuild_tensor_v2(storage, offset, size, stride,
   requires_grad, backward_hooks)` calls whose storage is a persistent id
   `("storage", <StorageType>, key, location, numel, view_metadata)`,
5. a pickle of the list of storage keys, in the order their data follows,

then, per key, an 8-byte little-endian element count followed by the raw elements. Tensors are
views (offset and strides in elements) into those storages.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

__all__ = ["MAGIC_NUMBER", "PROTOCOL_VERSION", "UnsafePickleError", "read_legacy_state_dict"]

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# torch storage class name -> element dtype (little-endian; checked against sys info).
_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class UnsafePickleError(pickle.UnpicklingError):
    """The file asked for a global this reader does not allow."""


@dataclass(frozen=True, slots=True)
class _StorageType:
    """Stand-in for a `torch.*Storage` class: only its element dtype matters."""

    name: str
    dtype: np.dtype[Any]


@dataclass(frozen=True, slots=True)
class _StorageRef:
    key: str
    dtype: np.dtype[Any]
    numel: int
    view: tuple[str, int, int] | None  # (view key, offset, size) for legacy storage views


@dataclass(frozen=True, slots=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: object,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> _TensorRef:
    """Stand-in for `torch._utils._rebuild_tensor_v2`: records where the tensor's data lives."""
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError("tensor storage is not a persistent storage reference")
    size_t, stride_t = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size_t) != len(stride_t) or any(s < 0 for s in size_t) or any(s < 0 for s in stride_t):
        raise pickle.UnpicklingError(f"bad tensor geometry: size={size_t} stride={stride_t}")
    return _TensorRef(storage, int(storage_offset), size_t, stride_t)


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only what a legacy state dict needs; every other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        raise UnsafePickleError(f"global {module}.{name} is not allowed in a state dict")

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"persistent id names no storage type: {storage_type!r:.80}")
        view_t: tuple[str, int, int] | None = None
        if view is not None:
            view_key, view_offset, view_size = view
            view_t = (str(view_key), int(view_offset), int(view_size))
        return _StorageRef(str(key), storage_type.dtype, int(numel), view_t)


def _load_one(stream: IO[bytes]) -> Any:
    return _RestrictedUnpickler(stream).load()


def _read_storages(
    stream: IO[bytes], keys: list[str], dtypes: dict[str, np.dtype[Any]]
) -> dict[str, npt.NDArray[Any]]:
    storages: dict[str, npt.NDArray[Any]] = {}
    for key in keys:
        if key not in dtypes:
            raise ValueError(f"storage {key!r} has data but no tensor refers to it")
        header = stream.read(8)
        if len(header) != 8:
            raise ValueError(f"truncated file: no element count for storage {key!r}")
        numel = int.from_bytes(header, "little", signed=True)
        dtype = dtypes[key]
        nbytes = numel * dtype.itemsize
        data = stream.read(nbytes)
        if numel < 0 or len(data) != nbytes:
            raise ValueError(f"truncated file: storage {key!r} wants {nbytes} bytes, got {len(data)}")
        storages[key] = np.frombuffer(data, dtype=dtype)
    return storages


def _materialize(ref: _TensorRef, storages: dict[str, npt.NDArray[Any]]) -> npt.NDArray[Any]:
    sref = ref.storage
    base = storages[sref.key]
    if base.size != sref.numel:
        raise ValueError(f"storage {sref.key!r} has {base.size} elements, the pickle says {sref.numel}")
    if sref.view is not None:
        _, view_offset, view_size = sref.view
        if view_offset < 0 or view_offset + view_size > base.size:
            raise ValueError(f"storage view out of bounds in {sref.key!r}")
        base = base[view_offset : view_offset + view_size]
    if any(s == 0 for s in ref.size):
        return np.zeros(ref.size, dtype=base.dtype)
    last = ref.offset + sum((n - 1) * st for n, st in zip(ref.size, ref.stride, strict=True))
    if ref.offset < 0 or last >= base.size:
        raise ValueError(f"tensor reaches past the end of storage {sref.key!r}")
    itemsize = base.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        base[ref.offset :],
        shape=ref.size,
        strides=tuple(st * itemsize for st in ref.stride),
        writeable=False,
    )
    # np.array, not np.ascontiguousarray: the latter turns 0-d tensors (num_batches_tracked) into 1-d.
    return np.array(view, dtype=base.dtype.newbyteorder("="), order="C", copy=True)


def read_legacy_state_dict(source: bytes | Path | IO[bytes]) -> dict[str, npt.NDArray[Any]]:
    """Parse a legacy `torch.save` state dict into `{name: array}` (C-contiguous copies).

    Raises `UnsafePickleError` if the file names any global beyond the few the format needs, and
    `ValueError` if it is not a legacy state dict (e.g. a zip-format file) or is inconsistent.
    """
    if isinstance(source, bytes):
        return read_legacy_state_dict(io.BytesIO(source))
    if isinstance(source, Path):
        with source.open("rb") as f:
            return read_legacy_state_dict(f)
    stream = source
    head = stream.read(4)
    if head.startswith(b"PK"):
        raise ValueError("zip-format (torch >= 1.6) checkpoint; only the legacy format is supported")
    stream.seek(-len(head), io.SEEK_CUR)
    if _load_one(stream) != MAGIC_NUMBER:
        raise ValueError("not a legacy torch file: bad magic number")
    if _load_one(stream) != PROTOCOL_VERSION:
        raise ValueError("unsupported legacy torch protocol version")
    sys_info = _load_one(stream)
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise ValueError("only little-endian legacy files are supported")
    obj = _load_one(stream)
    keys = _load_one(stream)
    if not isinstance(obj, dict) or not isinstance(keys, list):
        raise ValueError("the file does not hold a state dict")
    refs: dict[str, _TensorRef] = {}
    for name, value in obj.items():
        if not isinstance(name, str) or not isinstance(value, _TensorRef):
            raise ValueError(f"state dict entry {name!r:.80} is not a tensor")
        refs[name] = value
    dtypes = {r.storage.key: r.storage.dtype for r in refs.values()}
    storages = _read_storages(stream, [str(k) for k in keys], dtypes)
    missing = set(dtypes) - set(storages)
    if missing:
        raise ValueError(f"no data for storages {sorted(missing)[:5]}")
    return {name: _materialize(ref, storages) for name, ref in refs.items()}
