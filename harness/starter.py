"""``harness init``: a commented starter configuration, written with tomli-w."""

from __future__ import annotations

from typing import Any

__all__ = ["starter_config"]

_COMMENTS = {
    "harness": "Core settings. Relative paths are relative to this file.",
    "phases": "Phases run in the order their tables appear. `plugin` defaults to the phase name.",
    "plugins": "Per-plugin settings; [phases.<phase>.<plugin>] overrides them for one phase.",
}


def starter_config() -> str:
    """The built-in default configuration, one commented block per table."""
    import tomllib

    import tomli_w

    from harness.config import builtin_default_text

    document: dict[str, Any] = tomllib.loads(builtin_default_text())
    blocks = [
        "# harness.toml: written by `harness init`. Reference: README.md, `harness schema config`.",
    ]
    for section, value in document.items():
        comment = _COMMENTS.get(section)
        if section == "phases":
            blocks.append(f"# {comment}")
            for name, table in value.items():
                desc = table.get("description")
                head = f"# phase {name!r}" + (f": {desc}" if desc else "")
                blocks.append(head + "\n" + tomli_w.dumps({"phases": {name: table}}).strip())
            continue
        text = tomli_w.dumps({section: value}).strip()
        blocks.append((f"# {comment}\n" if comment else "") + text)
    return "\n\n".join(blocks) + "\n"
