"""Shared helpers of the tests."""

import time
import uuid
from typing import Any, Callable, Dict, List

import budgetllm

# gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens, in cents.
INPUT_CENTS = 0.15 * 100 / 1_000_000
OUTPUT_CENTS = 0.60 * 100 / 1_000_000
ANSWER = "Hello from the fake provider."


def unique(text: str) -> str:
    """A prompt no other test sends, so the fake provider's record of it is this test's."""
    return f"{text} [{uuid.uuid4().hex}]"


def user(prompt: str) -> List[Dict[str, Any]]:
    return [{"role": "user", "content": prompt}]


def client(provider: Any, **options: Any) -> budgetllm.Client:
    return budgetllm.Client(openai_key="sk-test", base_url=provider.openai_base_url, **options)


def async_client(provider: Any, **options: Any) -> budgetllm.AsyncClient:
    return budgetllm.AsyncClient(
        openai_key="sk-test", base_url=provider.openai_base_url, **options
    )


def price(usage: Dict[str, Any]) -> float:
    """What gpt-4o-mini charges for `usage`, in cents."""
    return usage["prompt_tokens"] * INPUT_CENTS + usage["completion_tokens"] * OUTPUT_CENTS


def eventually(read: Callable[[], Any], timeout: float = 5.0) -> Any:
    """`read()` once it is truthy: a dropped call's reservation is charged by a background task."""
    deadline = time.monotonic() + timeout
    value = read()
    while not value and time.monotonic() < deadline:
        time.sleep(0.01)
        value = read()
    return value
