"""The event hub's contract, run over both backends: in-process and Redis Streams."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from lesson_app.hub import EventHub, Hub
from tests.redis_fixture import redis_server, redis_url  # noqa: F401  (fixtures)

GET_TIMEOUT = 5.0


@pytest.fixture(params=["memory", "redis"])
def make_hub(request: pytest.FixtureRequest) -> Callable[..., Hub]:
    """A factory of hubs of one backend; for Redis, all on one freshly emptied Redis."""
    if request.param == "memory":
        return lambda **options: EventHub(**options)
    url = request.getfixturevalue("redis_url")
    from lesson_app.hub_redis import RedisStreamHub

    return lambda **options: RedisStreamHub(url, **options)


def run(hub: Hub, scenario: Callable[[Hub], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        try:
            return await scenario(hub)
        finally:
            await hub.aclose()

    return asyncio.run(main())


async def next_message(subscription: Any) -> tuple[Any, Any]:
    return await asyncio.wait_for(subscription.get(), GET_TIMEOUT)


async def nothing_more(subscription: Any, wait: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(subscription.get(), wait)
    except TimeoutError:
        return True
    return False


def test_a_subscriber_gets_its_topics_only_in_order(make_hub: Callable[..., Hub]) -> None:
    async def scenario(hub: Hub) -> None:
        async with hub.subscribe([1, 2]) as subscription:
            hub.publish(3, {"n": 0})
            hub.publish(1, {"n": 1})
            hub.publish(2, {"n": 2})
            hub.publish(1, {"n": 3})
            got = [await next_message(subscription) for _ in range(3)]
            assert got == [(1, {"n": 1}), (2, {"n": 2}), (1, {"n": 3})]
            assert await nothing_more(subscription)

    run(make_hub(), scenario)


def test_every_subscriber_of_a_topic_gets_the_message_once(make_hub: Callable[..., Hub]) -> None:
    async def scenario(hub: Hub) -> None:
        async with hub.subscribe([1]) as first, hub.subscribe([1, 2]) as second:
            assert hub.subscriber_count == 2
            assert hub.publish(1, {"n": 1}) == 2
            assert hub.publish(2, {"n": 2}) == 1
            assert await next_message(first) == (1, {"n": 1})
            assert [await next_message(second) for _ in range(2)] == [(1, {"n": 1}), (2, {"n": 2})]
            assert await nothing_more(first) and await nothing_more(second)

    run(make_hub(), scenario)


def test_leaving_unsubscribes(make_hub: Callable[..., Hub]) -> None:
    async def scenario(hub: Hub) -> None:
        async with hub.subscribe([1]):
            assert hub.subscriber_count == 1
        assert hub.subscriber_count == 0
        assert hub.publish(1, {"n": 1}) == 0

    run(make_hub(), scenario)


def test_a_message_before_subscribing_is_not_delivered_live(make_hub: Callable[..., Hub]) -> None:
    async def scenario(hub: Hub) -> None:
        hub.publish(1, {"n": "before"})
        async with hub.subscribe([1]) as subscription:
            hub.publish(1, {"n": "after"})
            assert await next_message(subscription) == (1, {"n": "after"})
            assert await nothing_more(subscription)

    run(make_hub(), scenario)


def test_two_hubs_share_messages_only_on_redis(make_hub: Callable[..., Hub], request: pytest.FixtureRequest) -> None:
    """Two hubs stand for two workers: only the Redis backend carries a message from one to the other."""
    shared = "redis" in request.node.callspec.id
    publisher = make_hub()

    async def scenario(hub: Hub) -> None:
        async with hub.subscribe([1]) as subscription:
            publisher.publish(1, {"from": "the other worker"})
            hub.publish(1, {"from": "this worker"})
            expected = [(1, {"from": "the other worker"})] if shared else []
            got = [await next_message(subscription) for _ in range(len(expected) + 1)]
            assert got == [*expected, (1, {"from": "this worker"})]
            assert await nothing_more(subscription)
        await publisher.aclose()

    run(make_hub(), scenario)


def test_a_slow_subscriber_never_blocks_the_publisher(make_hub: Callable[..., Hub]) -> None:
    """Its queue is bounded: in-process it loses the overflow, on Redis it is dropped and must resume."""

    async def scenario(hub: Hub) -> None:
        async with hub.subscribe([1]) as slow, hub.subscribe([1]) as reader:
            for n in range(5):
                hub.publish(1, {"n": n})
                assert await next_message(reader) == (1, {"n": n})
            if isinstance(hub, EventHub):
                assert [await next_message(slow) for _ in range(3)] == [(1, {"n": n}) for n in range(3)]
                assert slow.dropped == 2
            else:
                from lesson_app.hub_redis import SubscriberTooSlow

                with pytest.raises(SubscriberTooSlow):
                    await next_message(slow)
                assert hub.subscriber_count == 1  # only the reader is left

    run(make_hub(max_queue=3), scenario)


def test_closing_right_after_subscribing_is_prompt(make_hub: Callable[..., Hub]) -> None:
    """A stopping server closes its hub at once, even while the hub's reader is still connecting."""

    async def scenario() -> list[float]:
        took = []
        for _ in range(5):
            hub = make_hub()
            async with hub.subscribe([1]):
                pass
            started = asyncio.get_running_loop().time()
            await asyncio.wait_for(hub.aclose(), 5)
            took.append(asyncio.get_running_loop().time() - started)
        return took

    took = asyncio.run(scenario())
    assert max(took) < 0.5, took  # the reader blocks on XREAD for up to 1 s: closing must not wait for it
