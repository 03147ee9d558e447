"""The NationBuilder-compatible API v1."""
