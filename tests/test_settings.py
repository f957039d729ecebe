"""``LESSON_TIME_SCALE`` and ``LESSON_HEARTBEAT``: read from the environment, overridden by arguments, junk refused."""

from __future__ import annotations

import asyncio
import time

import pytest

from lesson_app import create_app
from lesson_app.pace import Pace


def test_time_scale_defaults_to_the_real_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LESSON_TIME_SCALE", raising=False)
    monkeypatch.delenv("LESSON_HEARTBEAT", raising=False)
    app = create_app()
    assert app.state.pace.time_scale == 1.0
    assert app.state.heartbeat == 15.0


def test_environment_sets_pace_and_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LESSON_TIME_SCALE", "0.25")
    monkeypatch.setenv("LESSON_HEARTBEAT", "2")
    app = create_app()
    assert app.state.pace.time_scale == 0.25
    assert app.state.heartbeat == 2.0


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LESSON_TIME_SCALE", "3")
    monkeypatch.setenv("LESSON_HEARTBEAT", "9")
    app = create_app(time_scale=0, heartbeat=0.5)
    assert app.state.pace.time_scale == 0.0
    assert app.state.heartbeat == 0.5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LESSON_TIME_SCALE", "fast", "LESSON_TIME_SCALE must be a number >= 0, got 'fast'"),
        ("LESSON_TIME_SCALE", "-1", "time scale must be a number >= 0"),
        ("LESSON_TIME_SCALE", "nan", "time scale must be a number >= 0"),
        ("LESSON_HEARTBEAT", "0", "heartbeat must be a number of seconds > 0"),
        ("LESSON_HEARTBEAT", "often", "LESSON_HEARTBEAT must be a number of seconds > 0, got 'often'"),
    ],
)
def test_junk_in_the_environment_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        create_app()


def test_blank_environment_values_mean_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LESSON_TIME_SCALE", " ")
    monkeypatch.setenv("LESSON_HEARTBEAT", "")
    app = create_app()
    assert (app.state.pace.time_scale, app.state.heartbeat) == (1.0, 15.0)


def test_pace_scales_every_delay() -> None:
    async def timed(pace: Pace) -> float:
        started = time.perf_counter()
        await pace.sleep(0.4)
        return time.perf_counter() - started

    assert 0.15 <= asyncio.run(timed(Pace(0.5))) < 1.0
    assert asyncio.run(timed(Pace(0))) < 0.1


def test_scale_zero_still_yields_to_the_event_loop() -> None:
    """A stream at scale 0 must not starve the loop: other tasks run between its events."""

    async def scenario() -> list[str]:
        order: list[str] = []
        pace = Pace(0)

        async def stream() -> None:
            for _ in range(3):
                order.append("stream")
                await pace.sleep(1)

        async def other() -> None:
            order.append("other")

        await asyncio.gather(stream(), other())
        return order

    assert asyncio.run(scenario()) == ["stream", "other", "stream", "stream"]
