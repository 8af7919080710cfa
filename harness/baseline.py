"""``harness baseline save``: merge a run's ``baselines/*.json`` into one reviewable file.

The core does not know what a baseline holds. The contract, for any phase that can be
gated on a baseline (the shipped strategy phase is one: see
``harness.plugins.strategy.baseline`` for its figures and tolerances):

- the phase writes ``<run_dir>/baselines/<phase>.json``, a JSON object whose ``phases``
  object holds one key, the phase's name, with whatever the phase compares later;
- every other top-level key (``format``, ``version``, ``run_id``) must be equal across
  the files of a run;
- ``harness baseline save`` writes the union (``phases`` merged, the rest as is) with
  sorted keys and an indent of 2, so a change reads well in a code review;
- the phase reads ``phases.<its name>`` back from the file its ``baseline`` setting names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import UsageError

__all__ = ["BASELINES_DIR", "collect", "save"]

BASELINES_DIR = "baselines"


def collect(run_dir: Path) -> dict[str, Any]:
    """The merged baseline document of a run.

    :raises UsageError: the run holds no ``baselines/*.json``, or they disagree.
    """
    files = sorted((run_dir / BASELINES_DIR).glob("*.json"))
    if not files:
        raise UsageError(
            f"{run_dir}: no {BASELINES_DIR}/*.json (no phase of this run writes baseline "
            "figures; the strategy phase does once it has run)"
        )
    merged: dict[str, Any] = {"phases": {}}
    for path in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: unreadable: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("phases"), dict):
            raise UsageError(f"{path}: not a baseline document (no 'phases' object)")
        for key, value in doc.items():
            if key == "phases":
                merged["phases"].update(value)
            elif merged.setdefault(key, value) != value:
                raise UsageError(
                    f"{path}: {key} is {value!r}, another baseline file of the run has "
                    f"{merged[key]!r}"
                )
    return merged


def save(doc: dict[str, Any], path: Path) -> None:
    """Write ``doc`` to ``path`` (sorted keys, indent 2), only over a baseline file.

    :raises UsageError: ``path`` exists and is not a baseline file (harness does not write
        over a file it did not create), or cannot be written.
    """
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if not isinstance(old, dict) or old.get("format") != doc.get("format"):
            raise UsageError(f"{path} exists and is not a baseline file: not overwritten")
    text = json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        from harness.rundir import atomic_write

        atomic_write(path, text.encode())
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
