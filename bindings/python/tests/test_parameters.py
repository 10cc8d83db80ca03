"""Every OpenAI parameter reaches the provider; `enable_cache` never does."""

from helpers import client, unique, user


def test_named_parameters_and_kwargs_are_sent_as_given(provider):
    prompt = unique("parameters")
    tools = [{
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }]

    client(provider).chat.completions.create(
        messages=[{"role": "system", "content": "Be brief."}, *user(prompt)],
        model="gpt-4o-mini",
        temperature=0.25,
        max_tokens=40,
        top_p=0.5,
        frequency_penalty=0.1,
        presence_penalty=0.2,
        stop=["\n\n", "END"],
        enable_cache=False,
        seed=7,
        n=2,
        response_format={"type": "json_object"},
        tools=tools,
        logprobs=True,
        metadata={"run": "tests"},
    )

    [sent] = provider.requests_with(prompt)
    body = sent["body"]
    assert sent["path"].endswith("/chat/completions")
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    expected = {
        "temperature": 0.25, "max_tokens": 40, "top_p": 0.5, "frequency_penalty": 0.1,
        "presence_penalty": 0.2, "stop": ["\n\n", "END"], "seed": 7, "n": 2,
        "response_format": {"type": "json_object"}, "tools": tools, "logprobs": True,
        "metadata": {"run": "tests"},
    }
    assert {name: body.get(name) for name in expected} == expected
    assert "enable_cache" not in body


def test_unset_parameters_are_not_sent(provider):
    prompt = unique("defaults")

    client(provider).chat.completions.create(user(prompt))

    [sent] = provider.requests_with(prompt)
    for name in ("temperature", "max_tokens", "top_p", "frequency_penalty",
                 "presence_penalty", "stop", "enable_cache"):
        assert name not in sent["body"]
