"""The web tier's boundaries: no TensorFlow, nothing configured at import, README in step with code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from webapp.docs import replace_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_importing_webapp_imports_no_tensorflow() -> None:
    code = (
        "import sys, webapp, webapp.app, webapp.oip, webapp.gunicorn_conf\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "heavy = sorted(top & {'tensorflow', 'keras', 'PIL', 'torch'})\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_readme_settings_table_is_up_to_date() -> None:
    text = README.read_text("utf-8")
    assert replace_table(text) == text, "run: python -m webapp.docs --write webapp/README.md"
