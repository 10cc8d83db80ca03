"""One client shared by threads or tasks: the limit holds, and calls run in parallel."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from budgetllm import BudgetExceededError
from helpers import async_client, client, eventually, unique

# Each call may cost up to 16 output tokens (about 0.001 cents) plus its prompt; about 0.0006
# cents is actually billed. A 0.01 cent budget fits only a fraction of 200 calls.
LIMIT = 0.01


def check_budget(status, answered):
    spent = status["budget"]["total"]["spent_cents"]
    assert 0 < spent <= LIMIT
    assert spent == pytest.approx(sum(r["cost_cents"] for r in answered), abs=1e-9)
    assert status["budget"]["total"]["reserved_cents"] == 0


def test_eight_threads_share_one_budget(provider):
    c = client(provider, budget_cents=LIMIT)
    answered, refused, lock = [], [], threading.Lock()

    def worker(n):
        for i in range(25):
            try:
                response = c.chat(unique(f"thread {n} call {i}"), max_tokens=16)
            except BudgetExceededError as error:
                with lock:
                    refused.append(error)
            else:
                with lock:
                    answered.append(response)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answered) + len(refused) == 200
    assert answered and refused
    check_budget(c.get_status(), answered)


def test_two_hundred_tasks_share_one_budget(provider):
    async def main():
        c = async_client(provider, budget_cents=LIMIT)
        results = await asyncio.gather(
            *(c.chat(unique(f"task {i}"), max_tokens=16) for i in range(200)),
            return_exceptions=True,
        )
        return results, await c.get_status()

    results, status = asyncio.run(main())

    answered = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(answered) + len(refused) == 200
    assert answered and refused
    check_budget(status, answered)


def test_async_client_methods_are_awaitable(provider):
    async def main():
        c = async_client(provider)
        await c.pause()
        paused = await c.is_paused()
        await c.resume()
        answer = await c.chat.completions.create([{"role": "user", "content": unique("x")}])
        await c.reset()
        return paused, answer, await c.is_paused(), await c.get_status()

    paused, answer, paused_after, status = asyncio.run(main())

    assert paused is True and paused_after is False
    assert answer["cost_cents"] > 0
    assert status["budget"]["total"]["spent_cents"] == 0


def test_a_cancelled_async_call_is_charged_its_reservation(slow_provider):
    async def main():
        c = async_client(slow_provider)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(c.chat(unique("cancelled"), max_tokens=5), timeout=0.02)
        return c

    c = asyncio.run(main())

    # Cancelling drops the Rust call mid-flight: its outcome is unknown, so it is charged.
    spent = eventually(lambda: asyncio.run(c.get_status())["budget"]["total"]["spent_cents"])
    assert spent >= 5 * 0.00006


def test_calls_release_the_gil_while_they_wait(slow_provider):
    """8 threads calling an upstream that takes 100 ms finish in far less than 8 calls' time."""
    c = client(slow_provider, cache_enabled=False)
    c.chat(unique("warm up"), max_tokens=5)  # connection set up outside the timing
    started = time.perf_counter()
    c.chat(unique("one call"), max_tokens=5)
    one_call = time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: c.chat(unique(f"parallel {n}"), max_tokens=5), range(8)))
    eight_calls = time.perf_counter() - started

    print(f"\nGIL test: one call {one_call * 1000:.0f} ms, "
          f"8 threads {eight_calls * 1000:.0f} ms ({eight_calls / one_call:.2f}x one call)")
    assert one_call >= 0.1
    assert eight_calls < 3 * one_call
