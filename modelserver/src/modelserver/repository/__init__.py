"""The model repository on disk: configs, version discovery, and (in `manager`) hot swap.

Only the light modules are re-exported here; `modelserver.repository.manager` pulls in the whole
serving stack and is imported from there by the server.
"""

from modelserver.repository.config import ModelConfig, load_config
from modelserver.repository.scan import newest_versions

__all__ = ["ModelConfig", "load_config", "newest_versions"]
