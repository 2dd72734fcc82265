"""/static: govuk-frontend's compiled CSS, JS, fonts and images (from `npm ci`) and TAS's own few files.
Nothing comes from a CDN. The CSS refers to its fonts under /assets/; it is served rewritten to /static/assets/."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from .config import PACKAGE_DIR

OWN = PACKAGE_DIR / "static"
TYPES = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".css": "text/css",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".json": "application/json",
}


class StaticAssets:
    def __init__(self, node_modules: Path) -> None:
        self.govuk = node_modules / "govuk-frontend" / "dist" / "govuk"
        self._cache: dict[str, tuple[bytes, str]] = {}

    def resolve(self, name: str) -> Path | None:
        """The file for `/static/<name>`, or None (never outside the two folders)."""
        for base in (OWN, self.govuk):
            candidate = (base / name).resolve()
            if candidate.is_relative_to(base.resolve()) and candidate.is_file():
                return candidate
        return None

    def load(self, name: str) -> tuple[bytes, str] | None:
        if name in self._cache:
            return self._cache[name]
        path = self.resolve(name)
        if path is None:
            return None
        body = path.read_bytes()
        if name == "govuk-frontend.min.css":
            body = body.replace(b"url(/assets/", b"url(/static/assets/")
        media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._cache[name] = (body, media)
        return self._cache[name]
