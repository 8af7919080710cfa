"""Type-check the built-in plugins as the installed package ``harness.plugins``.

In the source tree ``plugins/`` is mapped to ``harness.plugins`` by setuptools, which mypy
cannot follow; this script lays out a temporary tree of symlinks with the installed shape
(``harness/``, ``harness/plugins``, ``harness/schemas``) and runs mypy (strict, from
pyproject.toml) on it. Exit code: mypy's.

    python scripts/typecheck_plugins.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="harness-mypy-") as tmp:
        pkg = Path(tmp) / "harness"
        pkg.mkdir()
        for item in (ROOT / "harness").iterdir():
            if item.name != "__pycache__":
                (pkg / item.name).symlink_to(item)
        (pkg / "plugins").symlink_to(ROOT / "plugins", target_is_directory=True)
        (pkg / "schemas").symlink_to(ROOT / "schemas", target_is_directory=True)
        env = {**os.environ, "MYPYPATH": tmp}
        cmd = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(Path(tmp) / ".mypy_cache"),
            "-p",
            "harness.plugins",
        ]
        return subprocess.run(cmd, env=env, cwd=tmp, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
