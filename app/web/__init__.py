"""The web chat's page, script, stylesheet and UI strings, served by :mod:`app.api.routes_web` (docs/web.md)."""
