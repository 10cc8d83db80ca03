"""The official `openai` Python SDK as the gateway's client, changed only in base URL and key."""

import openai
import pytest

MESSAGES = [{"role": "user", "content": "Hello"}]


def client_for(gateway, key, **options):
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, **options)


def test_a_plain_call_reads_its_cost_from_the_response(gateway):
    key = gateway.create_key(total_limit_cents=100)["key"]
    client = client_for(gateway, key)

    response = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=20)

    assert response.choices[0].message.content == "Hello from the fake provider."
    assert response.usage.total_tokens > 0
    assert response.cost_cents > 0
    assert response.cache_hit is False
    again = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=20)
    assert again.cache_hit is True
    assert again.cost_cents == 0


def test_a_stream_ends_with_its_cost(gateway):
    client = client_for(gateway, gateway.create_key()["key"])

    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "stream please"}],
            max_tokens=20,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the fake provider."
    last = chunks[-1]
    assert last.usage.completion_tokens > 0
    assert last.cost_cents > 0
    assert last.cache_hit is False

    plain = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "no usage asked"}],
            max_tokens=20,
            stream=True,
        )
    )
    assert plain[-1].usage is None
    assert plain[-1].cost_cents > 0


def test_an_exhausted_key_raises_rate_limit_error_after_exactly_one_request(gateway):
    created = gateway.create_key(total_limit_cents=0.00001)
    client = client_for(gateway, created["key"], max_retries=2)

    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=20)

    # The gateway saw one chat request: x-should-retry: false stopped the SDK's retries.
    chat_lines = [
        line
        for line in gateway.metrics().splitlines()
        if line.startswith('budgetllm_gateway_requests_total{route="/v1/chat/completions"')
    ]
    assert chat_lines == [
        'budgetllm_gateway_requests_total{route="/v1/chat/completions",status="429"} 1'
    ]
    error = refused.value
    assert error.status_code == 429
    assert error.code == "total_limit_exceeded"
    assert error.body["budget"] == "key"
    assert error.body["key_id"] == created["id"]
    assert error.body["limit_cents"] == 0.00001
    assert created["id"] in str(error)


def test_a_revoked_key_is_refused_with_401(gateway):
    created = gateway.create_key()
    client = client_for(gateway, created["key"])
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=20)
    gateway.revoke(created["id"])

    with pytest.raises(openai.AuthenticationError) as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=20)

    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"
