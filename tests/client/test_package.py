"""The client package is standalone: importing it loads no server module."""

from __future__ import annotations

import json
import subprocess
import sys


def test_import_loads_no_server_code() -> None:
    script = (
        "import json, sys, citizenry.client\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] in "
        "{'citizenry', 'fastapi', 'starlette', 'sqlalchemy', 'authlib'})))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    loaded = json.loads(result.stdout)
    assert [name for name in loaded if not name.startswith("citizenry.client")] == ["citizenry"]
