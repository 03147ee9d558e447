"""The control panel: server-rendered pages for a nation's members."""
