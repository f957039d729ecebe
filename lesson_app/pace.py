"""Simulated delays, scaled by ``LESSON_TIME_SCALE`` (1 = real pace, 0 = instant)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

TIME_SCALE_ENV = "LESSON_TIME_SCALE"


def number_from_env(name: str, default: float, validate: Callable[[float], float], meaning: str) -> float:
    """A number setting from the environment; unset or blank gives ``default``, junk a clear error."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be {meaning}, got {raw!r}") from None
    return validate(value)


def time_scale_from_env(default: float = 1.0) -> float:
    return number_from_env(TIME_SCALE_ENV, default, validate_time_scale, "a number >= 0")


def validate_time_scale(scale: float) -> float:
    if not scale >= 0:  # also rejects NaN
        raise ValueError(f"time scale must be a number >= 0, got {scale!r}")
    return float(scale)


class Pace:
    """Turns the lesson's delays (in seconds) into real waits.

    At scale 0 nothing waits, but ``sleep`` still yields to the event loop, so a
    stream never starves other requests.
    """

    def __init__(self, time_scale: float | None = None) -> None:
        self.time_scale = time_scale_from_env() if time_scale is None else validate_time_scale(time_scale)

    def seconds(self, seconds: float) -> float:
        return seconds * self.time_scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.seconds(seconds))

    def __repr__(self) -> str:
        return f"Pace(time_scale={self.time_scale})"
