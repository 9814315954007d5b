"""What every web page shares: the request's context (session, language, caller, CSRF token),
templates with autoescaping, and the security headers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import sessionmaker

from app.deps import Caller, SessionsDep, SettingsDep
from app.errors import error_body
from app.web.i18n import LANGUAGE_COOKIE, pick_language, translator
from app.web.sessions import WebSession, csrf_token, read_session, session_caller, write_session
from workers.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"

# Pages load scripts, styles and media from this origin only: no inline script or style can
# run, whatever a transcript or a file name contains. Forms post only here; no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class WebContext:
    request: Request
    settings: Settings
    sessions: sessionmaker
    session: WebSession
    lang: str
    caller: Caller | None

    def t(self, key: str) -> str:
        return translator(self.lang)(key)

    @property
    def csrf(self) -> str:
        return csrf_token(self.request, self.session)


def get_web(request: Request, settings: SettingsDep, sessions: SessionsDep) -> WebContext:
    session = read_session(request)
    caller = session_caller(request, settings, sessions, session)
    if caller is None and session.key_id is not None:
        # The key was revoked (or removed): the session ends here.
        session = WebSession.new()
    return WebContext(request, settings, sessions, session, pick_language(request.cookies.get(LANGUAGE_COOKIE)), caller)


WebDep = Annotated[WebContext, Depends(get_web)]


class SignInRequired(Exception):
    """A page that needs a signed-in session was asked for without one."""

    def __init__(self, web: WebContext):
        self.web = web


class WebError(Exception):
    """A refusal shown as a page (or as the JSON error to the page's own scripts)."""

    def __init__(self, status_code: int, code: str, message: str):
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message


def signed_in(web: WebDep) -> WebContext:
    if web.caller is None:
        raise SignInRequired(web)
    return web


SignedInDep = Annotated[WebContext, Depends(signed_in)]


def finish(web: WebContext, response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if web.session.fresh:
        write_session(web.request, response, web.session)
    return response


def page(web: WebContext, template: str, status_code: int = 200, **context: Any) -> Response:
    html = _env.get_template(template).render(
        t=web.t,
        lang=web.lang,
        csrf=web.csrf,
        signed_in=web.caller is not None,
        keys_on=not web.settings.auth_disabled,
        here=web.request.url.path + (f"?{web.request.url.query}" if web.request.url.query else ""),
        **context,
    )
    return finish(web, HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"}))


def redirect(web: WebContext, url: str) -> Response:
    return finish(web, RedirectResponse(url, status_code=303))


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def sign_in_required(exc: SignInRequired) -> Response:
    web = exc.web
    if wants_json(web.request) or web.request.method != "GET":
        return finish(web, JSONResponse(error_body("unauthorized", "sign in first"), status_code=401))
    return redirect(web, "/sign-in?next=" + quote(web.request.url.path, safe="/"))


def error_page(web: WebContext, status_code: int, code: str, message: str) -> Response:
    if wants_json(web.request):
        return finish(web, JSONResponse(error_body(code, message), status_code=status_code))
    return page(web, "error.html", status_code=status_code, message=message)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no //host, no scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/jobs"
    return target
