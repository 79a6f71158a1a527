"""`python -m modelserver` / `zinfer-modelserver`: run one model server until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys

from modelserver.logging_setup import configure_logging
from modelserver.settings import Settings

log = logging.getLogger("modelserver")

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def main(argv: list[str] | None = None) -> int:
    settings = Settings(_cli_parse_args=sys.argv[1:] if argv is None else argv, _cli_prog_name="modelserver")
    configure_logging(settings.log_level, settings.log_format)
    # The I/O thread must win the GIL quickly from decode/inference threads: a 5 ms default
    # switch interval would add up to 5 ms to every admission and reply.
    sys.setswitchinterval(0.001)
    # A process-directed signal may be delivered to any thread, and Python runs handlers only on
    # the main thread between bytecodes; a main thread blocked on a lock might never see it. So
    # block the stop signals before any thread exists (threads inherit the mask) and wait for them
    # synchronously below. A signal during start-up stays pending and is acted on once started.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    from modelserver.server import ModelServer  # imports TensorFlow: after argument parsing

    server = ModelServer(settings)
    try:
        server.start()
    except Exception:
        log.exception("start-up failed")
        server.stop()
        return 1
    received = signal.sigwait(STOP_SIGNALS)
    log.info("received %s: draining", signal.Signals(received).name)
    return 0 if server.drain() else 1


if __name__ == "__main__":
    sys.exit(main())
