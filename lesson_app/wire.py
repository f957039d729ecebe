"""Parse ``text/event-stream`` bytes by the WHATWG rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """One dispatched event, as a browser's ``EventSource`` would see it."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class EventParser:
    """Incremental parser: feed bytes in any chunks, get whole events out.

    Handles LF, CR and CRLF line endings (also split across chunks), a leading
    BOM, comments, fields without a colon, the one optional space after the
    colon, multi-line data, ``id`` with NUL (ignored), ``retry`` with digits
    only, and no dispatch for empty data. An unterminated last event is
    discarded, as the spec requires.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._first = True
        self._pending_cr = False
        self._data: list[str] = []
        self._event = ""
        self.last_event_id = ""
        self.retry: int | None = None
        self.comments: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        text = self._decoder.decode(chunk)
        if self._first and text:
            self._first = False
            text = text.removeprefix("\ufeff")
        return list(self._lines(text))

    def _lines(self, text: str) -> Iterator[Event]:
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split across chunks
        self._pending_cr = False
        self._buffer += text
        start = 0
        buffer = self._buffer
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            ends = [i for i in (cr, lf) if i != -1]
            if not ends:
                break
            end = min(ends)
            line = buffer[start:end]
            if buffer[end] == "\r":
                if end + 1 < length:
                    start = end + 2 if buffer[end + 1] == "\n" else end + 1
                else:
                    start = end + 1
                    self._pending_cr = True
            else:
                start = end + 1
            event = self._line(line)
            if event is not None:
                yield event
        self._buffer = buffer[start:]

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments.append(line[1:].removeprefix(" "))
            return None
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry = int(value)
        return None

    def _dispatch(self) -> Event | None:
        data, event_type = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return Event(event=event_type or "message", data="\n".join(data), id=self.last_event_id, retry=self.retry)


def parse_events(raw: bytes | Iterable[bytes]) -> list[Event]:
    """Every event in a complete byte stream (or an iterable of chunks)."""
    parser = EventParser()
    chunks = [raw] if isinstance(raw, bytes | bytearray) else raw
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(bytes(chunk)))
    return events


def iter_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Events as they arrive, e.g. from ``response.iter_raw()`` of an httpx stream."""
    parser = EventParser()
    for chunk in chunks:
        yield from parser.feed(chunk)


async def aiter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Async twin of ``iter_events``, for ``response.aiter_raw()``."""
    parser = EventParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
