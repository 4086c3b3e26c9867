"""The webhook sink against a real HTTP server on 127.0.0.1: delivery, retry after failures, drop-oldest, stop."""

from __future__ import annotations

import base64
import time

import pytest

from devtools.webhook import Receiver
from facedaemon.config.events import WebhookConfig
from facedaemon.events.presence import RECOGNISED, Event
from facedaemon.events.sinks import WebhookSink
from tests.polling import wait


@pytest.fixture
def receiver_factory():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(path="/hook?token=abc", **kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def event(n: int) -> Event:
    return Event(RECOGNISED, "door", f"person{n}", 0.9, n, 1000.0 + n)


def test_events_are_posted_as_json_in_order(receiver_factory):
    receiver = receiver_factory()
    sink = WebhookSink(WebhookConfig(url=receiver.url, timeout=5), device="pi")
    sink.start()
    try:
        for n in range(3):
            sink.publish(event(n))
        assert wait(lambda: len(receiver.bodies) == 3), receiver.bodies
        assert receiver.bodies[0] == {"event": "recognised", "camera": "door", "name": "person0", "confidence": 0.9,
                                      "track": 0, "time": 1000.0, "device": "pi"}
        assert [b["name"] for b in receiver.bodies] == ["person0", "person1", "person2"]
        assert sink.sent == 3 and sink.dropped == 0
    finally:
        sink.stop(2.0)


def test_failures_are_retried_with_backoff(receiver_factory):
    receiver = receiver_factory(fail_first=2)
    sink = WebhookSink(WebhookConfig(url=receiver.url, timeout=5), device="pi", retry_first=0.05)
    sink.start()
    try:
        sink.publish(event(1))
        assert wait(lambda: len(receiver.bodies) == 1)
        assert receiver.requests == 3 and sink.dropped == 0
    finally:
        sink.stop(2.0)


def test_a_dead_receiver_costs_capped_attempts_then_a_counted_drop(receiver_factory):
    receiver = receiver_factory()
    url = receiver.url
    receiver.close()  # nothing listens on that port now
    sink = WebhookSink(WebhookConfig(url=url, timeout=1), device="pi", attempts=2, retry_first=0.05)
    sink.start()
    try:
        sink.publish(event(1))
        assert wait(lambda: sink.dropped == 1)
    finally:
        sink.stop(2.0)


def test_publish_never_blocks_and_drops_the_oldest_when_full(receiver_factory):
    receiver = receiver_factory(delay=0.5)  # a slow receiver
    sink = WebhookSink(WebhookConfig(url=receiver.url, timeout=5), device="pi", queue_size=3)
    sink.start()
    try:
        started = time.monotonic()
        for n in range(10):
            sink.publish(event(n))
        assert time.monotonic() - started < 0.5  # ten publishes, each only a queue append
        # The sender may or may not have taken person0 before the queue filled, so 3 or 4 bodies arrive.
        names = lambda: [body["name"] for body in receiver.bodies]  # noqa: E731
        assert wait(lambda: sink.dropped >= 6 and names()[-1:] == ["person9"]), names()  # the newest survives
        # in order, the oldest dropped: only the one the sender had already taken (any of 0-6) comes before them
        assert names()[-3:] == ["person7", "person8", "person9"] and len(names()) <= 4, names()
    finally:
        sink.stop(2.0)


def test_stop_returns_within_its_timeout_while_a_post_hangs(receiver_factory):
    receiver = receiver_factory(delay=5.0)
    sink = WebhookSink(WebhookConfig(url=receiver.url, timeout=10), device="pi")
    sink.start()
    sink.publish(event(1))
    assert wait(lambda: receiver.requests == 1)
    started = time.monotonic()
    sink.stop(0.5)
    assert time.monotonic() - started < 3.0


def test_credentials_in_the_url_are_sent_as_basic_auth(receiver_factory):
    receiver = receiver_factory()
    url = receiver.url.replace("http://", "http://hook%20user:p%40ss:word@")
    sink = WebhookSink(WebhookConfig(url=url, timeout=5), device="pi")
    sink.start()
    try:
        sink.publish(event(1))
        assert wait(lambda: len(receiver.bodies) == 1), (receiver.requests, sink.dropped)
        assert receiver.authorizations == ["Basic " + base64.b64encode(b"hook user:p@ss:word").decode()]
    finally:
        sink.stop(2.0)
