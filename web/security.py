"""Security headers on every response: a strict Content-Security-Policy, no framing, no MIME
sniffing, no referrer sent elsewhere, no caching of pages that hold children's records, and
HSTS when the service is served over HTTPS.

The pages run no inline script, no inline style and no event-handler attributes: their scripts
are files under /static. The one exception is GOV.UK Frontend's page template, which marks the
body as able to run its JavaScript with a one-line inline script before anything is drawn (so
that conditional reveals do not flash open); the policy allows exactly that line by its SHA-256,
read from the template itself, so an upgrade that changes the line changes the hash with it.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.pages import templates

# Paths of files that are the same for everyone and may be cached.
STATIC_PREFIXES = ("/static/", "/assets/")
HSTS = "max-age=31536000"  # a year, as browsers' preload lists ask


def _inline_script_hashes() -> list[str]:
    source, _, _ = templates.env.loader.get_source(templates.env,
                                                   "govuk_frontend_jinja/template.html")
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", source, flags=re.S)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in scripts]


CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    f"script-src 'self' {' '.join(_inline_script_hashes())}",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def add_security_headers(headers: MutableHeaders, *, path: str, https: bool) -> None:
    """Set the headers a response lacks (a route may have chosen its own)."""
    wanted = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if not path.startswith(STATIC_PREFIXES):
        # Pages, downloads and API answers may hold a child's record: never kept in a cache
        # (a shared computer's browser history, a proxy).
        wanted["Cache-Control"] = "no-store"
    if https:
        wanted["Strict-Transport-Security"] = HSTS
    for name, value in wanted.items():
        if name not in headers:
            headers[name] = value


class SecurityHeaders:
    """ASGI middleware adding `add_security_headers` to every HTTP response."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message), path=path, https=self.https)
            await send(message)

        await self.app(scope, receive, send_with_headers)
