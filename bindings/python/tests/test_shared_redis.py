"""A Python process and a Rust process (the `budgetllm` command) share one Redis budget."""

import hashlib
import json
import socket
import subprocess

import pytest

from budgetllm import BudgetPausedError, BudgetTracker, PromptCache, RedisBackend
from helpers import client, unique, user

NAMESPACE = "python-and-rust"


def budgetllm_cli(binary, redis_url, *args):
    done = subprocess.run(
        [binary, *args, "--redis-url", redis_url, "--namespace", NAMESPACE],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_python_and_rust_see_the_same_spend_and_pause_switch(provider, redis_url, budgetllm_bin):
    c = client(provider, redis_url=redis_url, namespace=NAMESPACE, budget_cents=100)
    answer = c.chat(unique("shared budget"), max_tokens=10)

    seen_by_rust = json.loads(budgetllm_cli(budgetllm_bin, redis_url, "status", "--json"))
    assert seen_by_rust["budget"]["total"]["spent_cents"] == pytest.approx(
        answer["cost_cents"], rel=1e-9
    )

    budgetllm_cli(budgetllm_bin, redis_url, "pause")
    assert c.is_paused() is True
    with pytest.raises(BudgetPausedError):
        c.chat(unique("stopped by the operator"), max_tokens=10)

    budgetllm_cli(budgetllm_bin, redis_url, "resume")
    assert c.is_paused() is False
    c.pause()
    seen_by_rust = json.loads(budgetllm_cli(budgetllm_bin, redis_url, "status", "--json"))
    assert seen_by_rust["budget"]["paused"] is True


def test_clients_and_components_on_one_redis_share_spend_and_entries(provider, redis_url):
    first = client(provider, redis_url=redis_url, namespace=NAMESPACE)
    second = client(provider, redis_url=redis_url, namespace=NAMESPACE)
    messages = user(unique("cached by the first client"))
    answer = first.chat.completions.create(messages, temperature=0.5)

    served = second.chat.completions.create(messages, temperature=0.5)
    tracker = BudgetTracker(redis_url=redis_url, namespace=NAMESPACE)

    assert served["cache_hit"] is True
    assert served["choices"] == answer["choices"]
    assert tracker.get_daily_spend() == pytest.approx(answer["cost_cents"], rel=1e-9)
    assert second.get_status()["cache"]["savings_cents"] == pytest.approx(
        answer["cost_cents"], rel=1e-9
    )


def test_prompt_cache_entries_are_stored_under_the_rust_key(redis_url):
    cache = PromptCache(backend=RedisBackend(redis_url), namespace=NAMESPACE)
    messages = user("What is the Rust key?")

    cache.set("gpt-4o-mini", messages, {"id": "x"}, 0.1, system_prompt="Be brief.")

    # The documented key of the `prompt-cache` crate: SHA-256 of the request's canonical JSON
    # (keys sorted, no whitespace) under the namespace's hash tag.
    request = {"model": "gpt-4o-mini",
               "messages": [{"role": "system", "content": "Be brief."}, *messages]}
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    assert redis_command(redis_url, f"EXISTS {{budgetllm:{NAMESPACE}}}:cache:v1:{digest}") == b":1"


def redis_command(url, command):
    host, port = url.removeprefix("redis://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(command.encode() + b"\r\n")
        return connection.recv(64).strip()
