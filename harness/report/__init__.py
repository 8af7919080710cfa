"""The HTML run report: one self-contained page per run (``harness report``).

Modules: :mod:`.load` reads the run directory, :mod:`.sections` makes the core
sections, :mod:`.model` documents and checks the section shape plugins return
from ``report_sections``, :mod:`.charts` and :mod:`.lttb` prepare chart data,
:mod:`.render` writes the page with uPlot (``vendor/``, MIT) inlined,
:mod:`.build` puts it together, :mod:`.runplugins` reloads a finished run's
plugins, :mod:`.cli` is the command.
"""

from __future__ import annotations

__all__: list[str] = []
