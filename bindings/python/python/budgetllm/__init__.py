"""BudgetLLM: hard budget limits and prompt caching for LLM API calls.

Change one import line to get hard limits::

    from budgetllm import Client as OpenAI   # was: from openai import OpenAI
    client = OpenAI(openai_key="sk-...", budget_cents=1000)
"""

import atexit

from ._budgetllm import BudgetTracker, MemoryBackend, PromptCache, RedisBackend, _shutdown
from ._client import AsyncClient, Client
from ._errors import (
    BudgetExceededError,
    BudgetLLMError,
    BudgetPausedError,
    BudgetWarning,
    InvalidArgumentError,
    ProviderError,
    StoreUnavailableError,
    UnknownModelError,
)

# Before the interpreter is torn down, the extension's threads leave Python (see its docs).
atexit.register(_shutdown)

__all__ = [
    "Client",
    "AsyncClient",
    "BudgetTracker",
    "PromptCache",
    "MemoryBackend",
    "RedisBackend",
    "BudgetLLMError",
    "BudgetExceededError",
    "BudgetPausedError",
    "ProviderError",
    "UnknownModelError",
    "InvalidArgumentError",
    "StoreUnavailableError",
    "BudgetWarning",
]
