"""Request ids and log formatting.

Modules log through `logging.getLogger(__name__)`; handlers are configured only by entry points
(`configure_logging`, called from gunicorn's config and `python -m webapp`), never on import. The
request id — the caller's `X-Request-ID` or a fresh one — lives in a contextvar, so every line
logged while a request is handled carries it without being passed around.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from typing import Any

__all__ = ["RequestIdFilter", "configure_logging", "log_config", "request_id_var"]

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` so formats can use `%(request_id)s`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s rid=%(request_id)s %(message)s"


def log_config(level: str, fmt: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict; gunicorn takes it as `logconfig_dict` too."""
    formatter: dict[str, Any] = (
        {"()": "webapp.logs.JsonFormatter"} if fmt == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "webapp.logs.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
        },
    }


def configure_logging(level: str, fmt: str) -> None:
    import logging.config

    logging.config.dictConfig(log_config(level, fmt))
