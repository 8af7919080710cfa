"""The harness fixture comes from ``harness.testing`` (enabled in pyproject's addopts)."""
