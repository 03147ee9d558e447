"""Content negotiation: the API speaks JSON only."""

from __future__ import annotations

JSON_RANGES = frozenset({"application/json", "application/*", "*/*"})


def accepts_json(accept: str | None) -> bool:
    """Tell whether an ``Accept`` header allows JSON. A missing or empty header allows anything."""
    if accept is None or not accept.strip():
        return True
    for media_range in accept.split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        if media_type.lower() not in JSON_RANGES:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            return True
    return False
