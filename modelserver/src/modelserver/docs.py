"""`python -m modelserver.docs`: the settings table in Markdown, generated from the Settings class.

docs/settings.md is this output; a test fails when they drift apart.
"""

from __future__ import annotations

import sys

from pydantic_core import PydanticUndefined

from modelserver.settings import Settings


def settings_table() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    lines = [
        "| environment variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if default is PydanticUndefined or default is None:
            shown = "—"
        elif isinstance(default, tuple):
            shown = ",".join(default) or "(all)"
        else:
            shown = str(default)
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{prefix}{name.upper()}` | `{shown}` | {description} |")
    return "\n".join(lines)


def main() -> int:
    sys.stdout.write(
        "# Model-server settings\n\nEach can also be given as a flag, e.g. `--max_queue_size 128`.\n\n"
    )
    sys.stdout.write(settings_table() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
