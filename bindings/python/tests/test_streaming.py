"""`stream=True`: chunk dicts, the last with usage and cost; settled, cached, never under-counted."""

import asyncio
import gc

import pytest

from helpers import ANSWER, async_client, client, eventually, price, unique, user


def text_of(chunks):
    return "".join(
        choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
    )


def test_a_stream_yields_chunks_and_ends_with_its_cost(provider):
    c = client(provider)
    messages = user(unique("stream me"))

    chunks = list(c.chat.completions.create(messages, max_tokens=50, stream=True))

    assert len(chunks) > 2
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert text_of(chunks) == ANSWER
    last = chunks[-1]
    assert last["cache_hit"] is False
    assert last["cost_cents"] == pytest.approx(price(last["usage"]), rel=1e-9)
    assert all("cost_cents" not in chunk for chunk in chunks[:-1])
    spent = c.get_status()["budget"]["total"]["spent_cents"]
    assert spent == pytest.approx(last["cost_cents"], rel=1e-9)

    replay = list(c.chat.completions.create(messages, max_tokens=50, stream=True))

    assert text_of(replay) == ANSWER
    assert replay[-1]["cache_hit"] is True and replay[-1]["cost_cents"] == 0.0
    assert len(provider.requests_with(messages[0]["content"])) == 1


def test_a_stream_left_early_is_charged_at_least_what_it_cost(provider):
    c = client(provider)
    full = list(c.chat.completions.create(user(unique("whole")), max_tokens=50, stream=True))
    c.reset()

    stream = c.chat.completions.create(user(unique("left early")), max_tokens=50, stream=True)
    for _ in stream:
        break
    del stream
    gc.collect()

    charged = eventually(lambda: c.get_status()["budget"]["total"]["spent_cents"])
    assert charged >= full[-1]["cost_cents"] > 0
    assert charged >= 50 * 0.00006  # the whole output the call could have produced


def test_async_streams_are_async_iterators(provider):
    async def main():
        c = async_client(provider)
        stream = await c.chat.completions.create(
            user(unique("async stream")), max_tokens=50, stream=True
        )
        chunks = [chunk async for chunk in stream]
        return chunks, await c.get_status()

    chunks, status = asyncio.run(main())

    assert text_of(chunks) == ANSWER
    assert chunks[-1]["cost_cents"] > 0
    assert status["budget"]["total"]["spent_cents"] == pytest.approx(
        chunks[-1]["cost_cents"], rel=1e-9
    )
