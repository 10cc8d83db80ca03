"""The drop-in call: `from budgetllm import Client as OpenAI`, dicts back."""

import pytest

from helpers import ANSWER, client, price, unique, user


def test_create_returns_the_openai_body_plus_cost_and_cache_hit(provider):
    from budgetllm import Client as OpenAI

    openai = OpenAI(openai_key="sk-test", budget_cents=1000, base_url=provider.openai_base_url)
    response = openai.chat.completions.create(messages=user(unique("Hello!")), max_tokens=50)

    assert isinstance(response, dict)
    assert response["object"] == "chat.completion"
    assert response["model"] == "gpt-4o-mini"
    assert response["choices"][0]["message"]["content"] == ANSWER
    usage = response["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert response["cache_hit"] is False
    assert response["cost_cents"] == pytest.approx(price(usage), rel=1e-9)


def test_chat_is_a_shortcut_for_one_user_message_and_has_completions(provider):
    c = client(provider)
    prompt = unique("What is machine learning?")

    response = c.chat(prompt, model="gpt-4o", max_tokens=20)

    assert response["choices"][0]["message"]["content"] == ANSWER
    [sent] = provider.requests_with(prompt)
    assert sent["body"]["model"] == "gpt-4o"
    assert sent["body"]["messages"] == user(prompt)
    assert sent["body"]["max_tokens"] == 20
    assert callable(c.chat.completions.create)


def test_key_and_base_url_come_from_the_environment(provider, monkeypatch):
    import budgetllm

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", provider.openai_base_url)
    prompt = unique("from the environment")

    response = budgetllm.Client().chat(prompt, max_tokens=5)

    assert response["cache_hit"] is False
    assert len(provider.requests_with(prompt)) == 1
