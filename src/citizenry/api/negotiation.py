"""Content negotiation: the API speaks JSON only."""

from __future__ import annotations

#: Media ranges that match application/json, from the most specific to the least.
JSON_RANGES = ("application/json", "application/*", "*/*")


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def accepts_json(accept: str | None) -> bool:
    """Tell whether an ``Accept`` header allows JSON. A missing or empty header allows anything.

    The most specific matching range decides (RFC 9110 section 12.5.1), so
    ``application/json;q=0, */*`` refuses JSON.
    """
    if accept is None or not accept.strip():
        return True
    qualities: dict[str, float] = {}
    for media_range in accept.split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        media_type = media_type.lower()
        if media_type in JSON_RANGES:
            qualities[media_type] = max(qualities.get(media_type, 0.0), _quality(params))
    for media_type in JSON_RANGES:
        if media_type in qualities:
            return qualities[media_type] > 0
    return False
