"""Console sessions: a signed cookie holding the CSRF token and, once signed in, a session id.

The cookie is signed, not encrypted: it holds the CSRF token and the random id of a session
that the store records (services/sessions.py), neither of any use without the cookie itself.
Signing out, a password change or disabling the account revokes that record, so a copy of the
cookie stops working at once, in every server worker.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "faceapi_console"


def _new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(slots=True)
class Session:
    csrf_token: str = field(default_factory=_new_csrf_token)
    session_id: str | None = None  # names the server-side record while signed in
    changed: bool = True  # the response must carry a fresh cookie

    def sign_in(self, session_id: str) -> None:
        """Start a signed-in session; a new CSRF token, so none seen before sign-in carries over."""
        self.csrf_token = _new_csrf_token()
        self.session_id, self.changed = session_id, True

    def sign_out(self) -> None:
        self.csrf_token = _new_csrf_token()
        self.session_id, self.changed = None, True


class SessionCodec:
    def __init__(self, secret: bytes, lifetime: timedelta) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="faceapi.console.session")
        self.lifetime = lifetime

    def encode(self, session: Session) -> str:
        return self._serializer.dumps([session.csrf_token, session.session_id])

    def decode(self, cookie: str | None) -> Session:
        """The session in `cookie`; a new anonymous one if it is absent, forged or expired."""
        if not cookie:
            return Session()
        try:
            csrf_token, session_id = self._serializer.loads(
                cookie, max_age=self.lifetime.total_seconds()
            )
        except (BadSignature, ValueError, TypeError):
            return Session()
        return Session(csrf_token, session_id, changed=False)


class SessionMiddleware:
    """Puts the session in `request.state.session`, and sends the cookie when it changed."""

    def __init__(self, app: ASGIApp, codec: SessionCodec) -> None:
        self.app = app
        self.codec = codec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self.codec.decode(HTTPConnection(scope).cookies.get(COOKIE_NAME))
        scope.setdefault("state", {})["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                MutableHeaders(scope=message).append("Set-Cookie", self._cookie(scope, session))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, scope: Scope, session: Session) -> str:
        cookie: SimpleCookie = SimpleCookie()
        cookie[COOKIE_NAME] = self.codec.encode(session)
        morsel = cookie[COOKIE_NAME]
        morsel["path"] = scope.get("root_path") or "/"
        morsel["max-age"] = str(int(self.codec.lifetime.total_seconds()))
        morsel["httponly"] = True
        morsel["samesite"] = "Lax"
        morsel["secure"] = scope["scheme"] == "https"  # behind a TLS proxy: uvicorn's headers
        return morsel.OutputString()
