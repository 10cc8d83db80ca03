"""Errors: provider errors keep status and body; bad input is refused before anything is sent."""

import pytest

import budgetllm
from budgetllm import (
    BudgetLLMError,
    InvalidArgumentError,
    ProviderError,
    StoreUnavailableError,
    UnknownModelError,
)
from helpers import client, eventually, unique, user


def test_a_provider_error_keeps_its_status_and_body_and_costs_nothing(provider):
    c = client(provider, budget_cents=1)
    provider.fail_next(401, {"error": {"message": "Incorrect API key provided",
                                       "type": "invalid_request_error",
                                       "code": "invalid_api_key", "param": None}})

    with pytest.raises(ProviderError) as raised:
        c.chat(unique("refused"), max_tokens=10)

    error = raised.value
    assert isinstance(error, BudgetLLMError)
    assert error.status_code == 401
    assert error.body["error"]["message"] == "Incorrect API key provided"
    assert error.body["error"]["code"] == "invalid_api_key"
    assert "401" in str(error)
    assert c.get_status()["budget"]["total"]["spent_cents"] == 0


def test_an_unknown_model_is_refused_before_sending(provider):
    prompt = unique("unknown model")

    with pytest.raises(UnknownModelError):
        client(provider).chat(prompt, model="no-such-model-anywhere")

    assert provider.requests_with(prompt) == []


def test_bad_requests_are_value_errors(provider):
    c = client(provider)
    with pytest.raises(InvalidArgumentError) as raised:
        c.chat.completions.create([])
    assert isinstance(raised.value, ValueError)
    assert "messages" in str(raised.value)
    with pytest.raises(ValueError):
        c.chat("hi", max_tokens=0)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda c: c.chat.completions.create("Hello"), "messages must be a list"),
        (lambda c: c.chat.completions.create(["Hello"]), "messages[0] must be a dict"),
        (lambda c: c.chat.completions.create(user("x"), model=4), "model must be a str"),
        (lambda c: c.chat.completions.create(user("x"), temperature="hot"), "temperature"),
        (lambda c: c.chat.completions.create(user("x"), max_tokens=1.5), "max_tokens"),
        (lambda c: c.chat.completions.create(user("x"), stop=3), "stop"),
        (lambda c: c.chat.completions.create(user("x"), enable_cache="no"), "enable_cache"),
        (lambda c: c.chat.completions.create(user("x"), stream="yes"), "stream"),
        (lambda c: c.chat.completions.create(user("x"), metadata=object()), "JSON data"),
        (lambda c: c.chat.completions.create(user("x"), seed=[1]), "OpenAI Chat Completions"),
        (lambda c: c.chat(42), "prompt must be a str"),
    ],
)
def test_wrong_python_types_are_type_errors(provider, call, fragment):
    with pytest.raises(TypeError) as raised:
        call(client(provider))
    assert fragment in str(raised.value)


@pytest.mark.parametrize(
    "options, error",
    [
        ({"budget_cents": -1}, ValueError),
        ({"daily_limit_cents": float("nan")}, ValueError),
        ({"cache_ttl": 0}, ValueError),
        ({"timeout": -2}, ValueError),
        ({"budget_cents": "ten"}, TypeError),
        ({"cache_ttl": "1h"}, TypeError),
        ({"auto_pause": "yes"}, TypeError),
        ({"base_url": "not a url"}, ValueError),
        ({"redis_url": "redis://h", "state_path": "x.db"}, ValueError),
    ],
)
def test_bad_options_are_refused_when_the_client_is_made(options, error):
    with pytest.raises(error):
        budgetllm.Client(openai_key="sk-test", **options)


def test_an_unreachable_store_fails_closed(provider):
    # Nothing listens on port 1; the Redis timeout (1 s) bounds the wait.
    c = client(provider, redis_url="redis://127.0.0.1:1/0")
    prompt = unique("store down")

    with pytest.raises(StoreUnavailableError) as raised:
        c.chat(prompt, max_tokens=5)

    assert isinstance(raised.value, BudgetLLMError)
    assert provider.requests_with(prompt) == []


def test_a_call_past_the_timeout_fails_and_is_charged(slow_provider):
    c = budgetllm.Client(
        openai_key="sk-test", base_url=slow_provider.openai_base_url, timeout=0.02
    )

    with pytest.raises(ProviderError) as raised:
        c.chat(unique("too slow"), max_tokens=5)

    assert raised.value.status_code is None
    assert "timeout" in str(raised.value)
    # The outcome is unknown, so the reservation is charged (never under-count).
    assert eventually(lambda: c.get_status()["budget"]["total"]["spent_cents"]) >= 5 * 0.00006
