"""Which version of each model serves, and swapping in new versions without failing requests.

A new version is loaded and warmed beside the serving one; only then does a single dict
assignment route new requests to it. The old version keeps its workers until everything it had
queued is answered. A version that fails to load is logged and skipped (until its config changes);
the serving version stays.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from modelserver.errors import ModelNotFound
from modelserver.repository.config import CONFIG_FILE, load_config
from modelserver.repository.scan import complete_versions, newest_versions
from modelserver.serving.served_model import ServedModel

log = logging.getLogger(__name__)

Loader = Callable[[str, int, Path], ServedModel]


class ModelManager:
    """Holds the serving version of every model; polls the repository for new ones."""

    def __init__(self, root: Path, loader: Loader, only: tuple[str, ...] = (), poll_s: float = 5.0) -> None:
        self._root = root
        self._loader = loader
        self._only = only
        self._poll_s = poll_s
        self._serving: dict[str, ServedModel] = {}
        self._failed: dict[Path, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_change: Callable[[ServedModel, ServedModel | None], None] = lambda new, old: None

    def get(self, name: str, version: int | None = None) -> ServedModel:
        """The serving version of `name` (or that exact version), else ModelNotFound."""
        model = self._serving.get(name)
        if model is None:
            known = ", ".join(sorted(self._serving)) or "none"
            raise ModelNotFound(f"model {name!r} is not served here (served: {known})")
        if version is not None and version != model.version:
            raise ModelNotFound(
                f"model {name!r} version {version} is not served (serving version {model.version})"
            )
        return model

    def models(self) -> list[ServedModel]:
        return sorted(self._serving.values(), key=lambda m: m.name)

    def versions_on_disk(self, name: str) -> list[int]:
        return sorted(version for version, _ in complete_versions(self._root / name))

    def load_all(self) -> None:
        """Load the newest version of every model; raises if none can be served."""
        self.refresh()
        if not self._serving:
            raise RuntimeError(f"no model could be loaded from {self._root.resolve()}")

    def refresh(self) -> None:
        """Load, warm and swap in every version newer than the serving one."""
        with self._lock:
            for name, (version, path) in newest_versions(self._root, self._only).items():
                current = self._serving.get(name)
                if current is not None and current.version >= version:
                    continue
                mtime = (path / CONFIG_FILE).stat().st_mtime
                if self._failed.get(path) == mtime:
                    continue
                try:
                    config = load_config(path)
                    if config.name != name:
                        raise ValueError(f"config name {config.name!r} differs from its directory {name!r}")
                    model = self._loader(name, version, path)
                except Exception:
                    log.exception(
                        "cannot load %s version %d from %s; keeping the serving version", name, version, path
                    )
                    self._failed[path] = mtime
                    continue
                self._serving[name] = model
                log.info("serving %s version %d (%s)", name, version, model.runtime_name)
                self.on_change(model, current)
                if current is not None:
                    threading.Thread(
                        target=current.close, name=f"retire-{name}-v{current.version}", daemon=True
                    ).start()

    def start_polling(self) -> None:
        self._thread = threading.Thread(target=self._poll, name="repository-poll", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.refresh()
            except Exception:
                log.exception("repository scan failed")

    def close(self) -> None:
        """Stop polling and let every serving version finish its queue."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for model in list(self._serving.values()):
            model.close()
