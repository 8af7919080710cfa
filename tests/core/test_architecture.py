"""Built-ins get no special access: they import only the public API, and the core none of them."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "harness"
PLUGINS = ROOT / "plugins"


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``path``, relative ones skipped."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def _is_builtin(module: str) -> bool:
    return module == "harness.plugins" or module.startswith("harness.plugins.")


def _private_modules() -> set[str]:
    names = {p.stem for p in CORE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    names |= {p.name for p in CORE.iterdir() if (p / "__init__.py").is_file()}
    return {f"harness.{name}" for name in names}


@pytest.mark.parametrize(
    "path", sorted(PLUGINS.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_builtin_plugins_import_only_the_public_api(path: Path) -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for line, module in _imports(path)
        if module.startswith("harness.") and not _is_builtin(module)
    ]
    assert not bad, "built-in plugins import only `from harness import ...`:\n" + "\n".join(bad)


def test_ruff_bans_every_private_module_in_plugins() -> None:
    """plugins/ruff.toml's banned-api list keeps up with the core's modules."""
    config = tomllib.loads((PLUGINS / "ruff.toml").read_text("utf-8"))
    banned = set(config["lint"]["flake8-tidy-imports"]["banned-api"])
    missing = _private_modules() - banned
    assert not missing, f"add to plugins/ruff.toml banned-api: {sorted(missing)}"


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_builtin_plugin(path: Path) -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for line, module in _imports(path)
        if _is_builtin(module)
    ]
    assert not bad, (
        "the core loads built-ins by name (manager.BUILTIN_PLUGINS) only:\n" + "\n".join(bad)
    )


def test_everything_exported_is_importable() -> None:
    import harness

    for name in harness.__all__:
        assert getattr(harness, name) is not None, name
