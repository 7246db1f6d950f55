"""The web page served by :mod:`statechat.aiohttp` (static files in ``static/``)."""
