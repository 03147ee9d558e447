"""Persistence: SQLAlchemy models, the engine and per-request transactions, and migrations."""
