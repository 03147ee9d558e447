"""Nations, their members, and which nation a request is for."""
