"""Swagger UI (`/docs`) and ReDoc (`/redoc`) served by the service itself, from the assets the `fastapi-offline`
package ships (FastAPI's own pages load them from a CDN: blank on a network without it). They exist only while the
app publishes its OpenAPI document (`openapi_url`): switching that off (as in production) switches them off."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from .access import public

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/static"


def install_docs(app: FastAPI) -> None:
    openapi_url = app.openapi_url
    if not openapi_url:
        return
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(public)])
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False, dependencies=[Depends(public)])
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
