"""The prompt cache through the client: hits are free and count as savings."""

import pytest

from helpers import client, unique, user


def test_the_same_request_twice_is_paid_once(provider):
    c = client(provider)
    messages = user(unique("cache me"))

    paid = c.chat.completions.create(messages, max_tokens=10)
    free = c.chat.completions.create(messages, max_tokens=10)

    assert paid["cache_hit"] is False and paid["cost_cents"] > 0
    assert free["cache_hit"] is True and free["cost_cents"] == 0.0
    assert free["choices"] == paid["choices"]
    assert len(provider.requests_with(messages[0]["content"])) == 1
    status = c.get_status()
    assert status["cache"]["savings_cents"] == pytest.approx(paid["cost_cents"], rel=1e-9)
    assert status["budget"]["total"]["spent_cents"] == pytest.approx(paid["cost_cents"], rel=1e-9)


def test_enable_cache_false_asks_the_provider_every_time(provider):
    c = client(provider)
    messages = user(unique("fresh every time"))

    answers = [c.chat.completions.create(messages, enable_cache=False) for _ in range(2)]

    assert [a["cache_hit"] for a in answers] == [False, False]
    assert len(provider.requests_with(messages[0]["content"])) == 2
    assert c.get_status()["cache"]["hits"] == 0


def test_a_client_with_the_cache_off_never_serves_from_it(provider):
    c = client(provider, cache_enabled=False)
    prompt = unique("no cache")

    answers = [c.chat(prompt, max_tokens=5) for _ in range(2)]

    assert [a["cache_hit"] for a in answers] == [False, False]
    assert len(provider.requests_with(prompt)) == 2


def test_a_changed_parameter_is_another_entry(provider):
    c = client(provider)
    prompt = unique("temperature matters")

    c.chat(prompt, temperature=0.0, max_tokens=5)
    changed = c.chat(prompt, temperature=0.5, max_tokens=5)

    assert changed["cache_hit"] is False
    assert len(provider.requests_with(prompt)) == 2
