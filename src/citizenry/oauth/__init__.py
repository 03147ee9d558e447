"""The OAuth 2.0 authorization server: Authlib's protocol core behind a thin Starlette adapter."""
