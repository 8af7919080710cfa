"""Fixtures of the CI-facing plugin tests (junit, github, console, testing, docs)."""

from __future__ import annotations

pytest_plugins = ["harness.testing"]
