"""A small third-party app that reads a nation's people with the Citizenry SDK.

Serve it with ``uvicorn --factory examples.sample_app:create_app_from_env`` from the repository
folder; README.md in this folder lists its settings.
"""

from .app import create_app, create_app_from_env
from .settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app", "create_app_from_env"]
