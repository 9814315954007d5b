"""The web app for case handlers, served by the API process at `/` (docs/webapp.md): sign in
with an API key, upload recordings, follow their jobs, read and listen to transcripts."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from app.web import corrections, pages
from app.web.render import SignInRequired, WebError, error_page, get_web, sign_in_required

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.include_router(pages.router)
    app.include_router(corrections.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(_request: Request, exc: SignInRequired) -> Response:
        return sign_in_required(exc)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        web = get_web(request, request.app.state.settings, request.app.state.sessions)
        return error_page(web, exc.status_code, exc.code, exc.message)
