"""Type stubs of the native module `budgetllm._budgetllm`."""

from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Union

Message = Dict[str, Any]

class _ClientCore:
    def __init__(
        self,
        *,
        openai_key: Optional[str] = None,
        budget_cents: Optional[float] = None,
        daily_limit_cents: Optional[float] = None,
        monthly_limit_cents: Optional[float] = None,
        cache_enabled: bool = True,
        cache_ttl: int = 3600,
        redis_url: Optional[str] = None,
        auto_pause: bool = True,
        base_url: Optional[str] = None,
        anthropic_key: Optional[str] = None,
        anthropic_base_url: Optional[str] = None,
        state_path: Optional[str] = None,
        namespace: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> None: ...
    def create(self, body: Dict[str, Any], asynchronous: bool) -> Any: ...
    def stream(self, body: Dict[str, Any], asynchronous: bool) -> Any: ...
    def status(self, asynchronous: bool) -> Any: ...
    def pause(self, asynchronous: bool) -> Any: ...
    def resume(self, asynchronous: bool) -> Any: ...
    def is_paused(self, asynchronous: bool) -> Any: ...
    def reset(self, asynchronous: bool) -> Any: ...

class ChunkIterator(Iterator[Dict[str, Any]]):
    """Chunk dicts of a streamed answer; the last carries usage, cost_cents and cache_hit."""

    def __iter__(self) -> "ChunkIterator": ...
    def __next__(self) -> Dict[str, Any]: ...
    def close(self) -> None:
        """Stops the stream; an unfinished call is charged its whole reservation."""

class AsyncChunkIterator(AsyncIterator[Dict[str, Any]]):
    """Chunk dicts of a streamed answer, for `async for`."""

    def __aiter__(self) -> "AsyncChunkIterator": ...
    async def __anext__(self) -> Dict[str, Any]: ...
    async def aclose(self) -> None:
        """Stops the stream; an unfinished call is charged its whole reservation."""

class BudgetTracker:
    """Limits per window, the pause switch and exact accounting, in memory, SQLite or Redis."""

    def __init__(
        self,
        daily_limit_cents: Optional[float] = None,
        monthly_limit_cents: Optional[float] = None,
        hard_limit_cents: Optional[float] = None,
        auto_pause: bool = True,
        redis_url: Optional[str] = None,
        state_path: Optional[str] = None,
        namespace: Optional[str] = None,
    ) -> None: ...
    def record_cost(self, cents: float) -> None: ...
    def check_limits(self) -> bool: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def is_paused(self) -> bool: ...
    def get_status(self) -> Dict[str, Any]: ...
    def get_daily_spend(self) -> float: ...
    def reset_all(self) -> None: ...

class MemoryBackend:
    """Cache entries in this process's memory."""

    def __init__(self, max_size: int = 1000, default_ttl: int = 3600) -> None: ...

class RedisBackend:
    """Cache entries in Redis, shared by every process that names it."""

    def __init__(self, url: str, default_ttl: int = 3600) -> None: ...

class PromptCache:
    """Cached answers under the Rust prompt-cache key of the request, shared through Redis."""

    def __init__(
        self,
        backend: Optional[Union[MemoryBackend, RedisBackend]] = None,
        enabled: bool = True,
        default_ttl: int = 3600,
        *,
        namespace: Optional[str] = None,
    ) -> None: ...
    def set(
        self,
        model: str,
        messages: List[Message],
        response: Dict[str, Any],
        cost_cents: float,
        temperature: Optional[float] = None,
        system_prompt: Optional[str] = None,
        ttl: Optional[int] = None,
    ) -> bool: ...
    def get(
        self,
        model: str,
        messages: List[Message],
        temperature: Optional[float] = None,
        system_prompt: Optional[str] = None,
    ) -> Optional[Dict[str, Any]]: ...
    def invalidate(
        self,
        model: str,
        messages: List[Message],
        temperature: Optional[float] = None,
        system_prompt: Optional[str] = None,
    ) -> bool: ...
    def get_stats(self) -> Dict[str, Any]: ...
    def reset_stats(self) -> None: ...

class AbortOnCancel:
    """Done-callback of an awaitable: aborts its Rust task when the future is cancelled."""

    def __call__(self, future: Any) -> None: ...

def _shutdown() -> None:
    """At interpreter exit: waits until the runtime's threads have left Python."""
