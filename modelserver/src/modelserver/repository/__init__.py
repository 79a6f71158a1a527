"""The model repository on disk: version discovery, loading, warm-up and hot swap."""

from modelserver.repository.config import ModelConfig, load_config
from modelserver.repository.manager import ModelManager
from modelserver.repository.scan import newest_versions

__all__ = ["ModelConfig", "ModelManager", "load_config", "newest_versions"]
