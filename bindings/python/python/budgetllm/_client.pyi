"""Type stubs of `budgetllm.Client` and `budgetllm.AsyncClient`."""

from typing import Any, Dict, List, Optional, Union

from ._budgetllm import AsyncChunkIterator, ChunkIterator

Message = Dict[str, Any]
DEFAULT_MODEL: str

class _Completions:
    def create(
        self,
        messages: List[Message],
        model: str = "gpt-4o-mini",
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        top_p: Optional[float] = None,
        frequency_penalty: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        stop: Optional[Union[str, List[str]]] = None,
        enable_cache: bool = True,
        stream: bool = False,
        **kwargs: Any,
    ) -> Union[Dict[str, Any], ChunkIterator]: ...

class _Chat:
    completions: _Completions
    def __call__(self, prompt: str, model: str = "gpt-4o-mini", **kwargs: Any) -> Dict[str, Any]: ...

class _AsyncCompletions:
    async def create(
        self,
        messages: List[Message],
        model: str = "gpt-4o-mini",
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        top_p: Optional[float] = None,
        frequency_penalty: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        stop: Optional[Union[str, List[str]]] = None,
        enable_cache: bool = True,
        stream: bool = False,
        **kwargs: Any,
    ) -> Union[Dict[str, Any], AsyncChunkIterator]: ...

class _AsyncChat:
    completions: _AsyncCompletions
    async def __call__(
        self, prompt: str, model: str = "gpt-4o-mini", **kwargs: Any
    ) -> Dict[str, Any]: ...

class Client:
    chat: _Chat
    def __init__(
        self,
        openai_key: Optional[str] = None,
        budget_cents: Optional[float] = None,
        daily_limit_cents: Optional[float] = None,
        monthly_limit_cents: Optional[float] = None,
        cache_enabled: bool = True,
        cache_ttl: int = 3600,
        redis_url: Optional[str] = None,
        auto_pause: bool = True,
        *,
        base_url: Optional[str] = None,
        anthropic_key: Optional[str] = None,
        anthropic_base_url: Optional[str] = None,
        state_path: Optional[str] = None,
        namespace: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> None: ...
    def get_status(self) -> Dict[str, Any]: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def is_paused(self) -> bool: ...
    def reset(self) -> None: ...

class AsyncClient:
    chat: _AsyncChat
    def __init__(
        self,
        openai_key: Optional[str] = None,
        budget_cents: Optional[float] = None,
        daily_limit_cents: Optional[float] = None,
        monthly_limit_cents: Optional[float] = None,
        cache_enabled: bool = True,
        cache_ttl: int = 3600,
        redis_url: Optional[str] = None,
        auto_pause: bool = True,
        *,
        base_url: Optional[str] = None,
        anthropic_key: Optional[str] = None,
        anthropic_base_url: Optional[str] = None,
        state_path: Optional[str] = None,
        namespace: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> None: ...
    async def get_status(self) -> Dict[str, Any]: ...
    async def pause(self) -> None: ...
    async def resume(self) -> None: ...
    async def is_paused(self) -> bool: ...
    async def reset(self) -> None: ...
