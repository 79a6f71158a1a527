"""`python -m webapp` (or `zinfer-webapp`): run the web tier under gunicorn with its config.

gunicorn, not Flask's development server, so that what runs locally is what runs in a pod.
Extra arguments go to gunicorn (for example `--bind 127.0.0.1:9000`).
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    from gunicorn.app.wsgiapp import run

    args = list(sys.argv[1:] if argv is None else argv)
    sys.argv = ["gunicorn", "-c", "python:webapp.gunicorn_conf", *args, "webapp:create_app()"]
    run()


if __name__ == "__main__":
    main()
