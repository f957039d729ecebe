"""Starlette's CORS middleware, with nothing added to a stream's events."""

from __future__ import annotations

import functools
from collections.abc import Awaitable

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

VARY_ORIGIN = (b"vary", b"Origin")


def add_vary_origin(message: Message) -> None:
    """Add ``Origin`` to the ``Vary`` header of an ``http.response.start`` message, as Starlette would."""
    headers = message.get("headers", ())
    if any(name.lower() == b"vary" for name, _ in headers):
        mutable = MutableHeaders(scope=message)
        mutable["Vary"] = ", ".join([*mutable.getlist("Vary"), "Origin"])
    else:
        message["headers"] = [*headers, VARY_ORIGIN]


class StreamingCORSMiddleware(CORSMiddleware):
    """Same headers as ``CORSMiddleware``; only ``http.response.start`` goes through it.

    Starlette wraps every message of a response in a coroutine of its own, which a
    stream pays once per event; here the body messages go straight to the server.
    A request without an ``Origin`` (curl, httpx, the app's own page) only gets
    ``Vary: Origin``, as Starlette would add, without parsing its headers.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, _ in scope["headers"]:
            if name == b"origin":
                await super().__call__(scope, receive, send)
                return

        def vary_on_origin(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                add_vary_origin(message)
            return send(message)

        await self.app(scope, receive, vary_on_origin)

    async def simple_response(self, scope: Scope, receive: Receive, send: Send, request_headers: Headers) -> None:
        add_cors_headers = functools.partial(self.send, send=send, request_headers=request_headers)

        def forward(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                return add_cors_headers(message)
            return send(message)

        await self.app(scope, receive, forward)
