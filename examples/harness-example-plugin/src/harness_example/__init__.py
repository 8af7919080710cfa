"""harness-example-plugin: an example third-party plugin for harness."""

__version__ = "0.1.0"
