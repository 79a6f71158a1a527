"""`python -m modelserver` / `zinfer-modelserver`: run one model server until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from modelserver.logging_setup import configure_logging
from modelserver.settings import Settings

log = logging.getLogger("modelserver")


def main(argv: list[str] | None = None) -> int:
    settings = Settings(_cli_parse_args=sys.argv[1:] if argv is None else argv, _cli_prog_name="modelserver")
    configure_logging(settings.log_level, settings.log_format)
    # The I/O thread must win the GIL quickly from decode/inference threads: a 5 ms default
    # switch interval would add up to 5 ms to every admission and reply.
    sys.setswitchinterval(0.001)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from modelserver.server import ModelServer  # imports TensorFlow: after argument parsing

    server = ModelServer(settings)
    try:
        server.start()
    except Exception:
        log.exception("start-up failed")
        server.stop()
        return 1
    if stop.is_set():  # signalled while loading
        return 0 if server.drain() else 1
    stop.wait()
    return 0 if server.drain() else 1


if __name__ == "__main__":
    sys.exit(main())
