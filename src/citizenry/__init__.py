"""Citizenry: a self-hosted, NationBuilder-compatible people platform."""

__version__ = "0.1.0"
