"""The web app's sign-in session: an API key exchanged for a signed cookie, and CSRF tokens.

The cookie holds a random nonce and, once signed in, the key's id (never the key), signed with
itsdangerous under a secret kept in the data directory, and expires after SESSION_MAX_AGE_S.
Nothing is stored server-side (a session table would need a schema change), so every request
looks the key up again: a revoked key ends its sessions at once, and the caller is made by the
same function as for a Bearer key (app.deps.caller_for_key), so tenant and role rules apply
unchanged. Signing out replaces the cookie; a stolen copy of a cookie would still work until it
expires or the key is revoked (docs/webapp.md).

Every visitor, signed in or not, has a session with a nonce: the CSRF token of a form is an
HMAC of that nonce, so the sign-in form is protected too, and signing in starts a new nonce
(no session fixation).

OIDC later: a sign-in route that verifies the identity provider's answer and maps the user to
a key record (or a future user record with tenant and role) ends in `signed_in(...)` like the
API-key form does; everything after that is unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import sessionmaker

from app.deps import Caller, caller_for_key, local_caller
from workers.settings import Settings
from workers.store.keys import get_key

SESSION_COOKIE = "swescribe_session"
SESSION_MAX_AGE_S = 8 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SECRET_FILE = "web-session.key"
_SALT = "swescribe.web.session"


@dataclass(frozen=True)
class WebSession:
    nonce: str
    key_id: str | None = None
    fresh: bool = False  # made by this request: the response sets the cookie

    @classmethod
    def new(cls, key_id: str | None = None) -> WebSession:
        return cls(secrets.token_urlsafe(24), key_id, fresh=True)


def session_secret(settings: Settings) -> bytes:
    """The signing secret, made once per data directory (mode 0600). API processes on several
    hosts share it by sharing the data directory, or by copying the file."""
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once keep the one secret written first.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(32))
    return path.read_bytes()


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    secret = getattr(state, "web_session_secret", None)
    if secret is None:
        secret = state.web_session_secret = session_secret(state.settings)
    return URLSafeTimedSerializer(secret, salt=_SALT)


def read_session(request: Request) -> WebSession:
    """The request's session, or a new anonymous one when it has none that is valid."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            data = _serializer(request).loads(raw, max_age=SESSION_MAX_AGE_S)
            if isinstance(data, dict) and isinstance(data.get("n"), str):
                key_id = data.get("k")
                return WebSession(data["n"], key_id if isinstance(key_id, str) else None)
        except BadSignature:  # expired or forged: start again
            pass
    return WebSession.new()


def write_session(request: Request, response: Response, session: WebSession) -> None:
    value = _serializer(request).dumps({"n": session.nonce, "k": session.key_id})
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def csrf_token(request: Request, session: WebSession) -> str:
    secret = _serializer(request).secret_keys[-1]
    return hmac.new(secret, b"csrf|" + session.nonce.encode(), hashlib.sha256).hexdigest()


def csrf_ok(request: Request, session: WebSession, submitted: str | None) -> bool:
    """The token matches this session's, and a browser's Origin (when sent) is this site."""
    origin = request.headers.get("origin")
    # The host only: behind a proxy that ends TLS the request's own scheme is http while the
    # browser's Origin says https.
    if origin and urlsplit(origin).netloc != request.headers.get("host", request.url.netloc):
        return False
    return bool(submitted) and hmac.compare_digest(str(submitted), csrf_token(request, session))


def session_caller(request: Request, settings: Settings, sessions: sessionmaker, session: WebSession) -> Caller | None:
    """Who the session acts for: the key's caller while the key is active, the local admin with
    keys switched off, else None (not signed in, or the key was revoked)."""
    if settings.auth_disabled:
        return local_caller(request)
    if session.key_id is None:
        return None
    record = get_key(sessions, session.key_id)
    if record is None or record.revoked_at is not None:
        return None
    return caller_for_key(record, request)
