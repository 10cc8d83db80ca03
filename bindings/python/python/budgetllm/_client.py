"""``Client`` and ``AsyncClient``: OpenAI-style clients with hard budget limits and a cache."""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ._budgetllm import _ClientCore

__all__ = ["Client", "AsyncClient"]

DEFAULT_MODEL = "gpt-4o-mini"


def _check_number(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise TypeError(f"{name} must be a number or None, got {type(value).__name__}")


def _request_body(
    messages: Any,
    model: Any,
    params: Mapping[str, Any],
    enable_cache: Any,
    kwargs: Mapping[str, Any],
) -> Dict[str, Any]:
    """The OpenAI request body for ``create``: named parameters that are set, then kwargs."""
    if not isinstance(model, str):
        raise TypeError(f"model must be a str, got {type(model).__name__}")
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TypeError(
            "messages must be a list of dicts like {'role': 'user', 'content': 'Hello'}, "
            f"got {type(messages).__name__}"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise TypeError(
                f"messages[{index}] must be a dict like {{'role': 'user', 'content': 'Hello'}}, "
                f"got {type(message).__name__}"
            )
    if not isinstance(enable_cache, bool):
        raise TypeError(f"enable_cache must be True or False, got {type(enable_cache).__name__}")
    for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty"):
        _check_number(name, params.get(name))
    max_tokens = params.get("max_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)):
        raise TypeError(f"max_tokens must be an int or None, got {type(max_tokens).__name__}")
    if max_tokens is not None and max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    stop = params.get("stop")
    if stop is not None and not isinstance(stop, str) and not (
        isinstance(stop, Sequence) and all(isinstance(s, str) for s in stop)
    ):
        raise TypeError("stop must be a str, a list of str, or None")
    body: Dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages]}
    body.update((name, value) for name, value in params.items() if value is not None)
    for name in ("stream", "enable_cache"):
        if name in kwargs:
            raise TypeError(f"{name} is a parameter of create(); pass it once")
    body.update(kwargs)
    body["enable_cache"] = enable_cache
    return body


def _core(
    openai_key: Optional[str],
    budget_cents: Optional[float],
    daily_limit_cents: Optional[float],
    monthly_limit_cents: Optional[float],
    cache_enabled: bool,
    cache_ttl: int,
    redis_url: Optional[str],
    auto_pause: bool,
    extra: Mapping[str, Any],
) -> _ClientCore:
    for name, value in (
        ("budget_cents", budget_cents),
        ("daily_limit_cents", daily_limit_cents),
        ("monthly_limit_cents", monthly_limit_cents),
        ("timeout", extra.get("timeout")),
    ):
        _check_number(name, value)
    for name, value in (("cache_enabled", cache_enabled), ("auto_pause", auto_pause)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    if isinstance(cache_ttl, bool) or not isinstance(cache_ttl, int):
        raise TypeError(f"cache_ttl must be an int (seconds), got {type(cache_ttl).__name__}")
    if cache_ttl <= 0:
        raise ValueError(
            f"cache_ttl must be a positive number of seconds, got {cache_ttl}; "
            "use cache_enabled=False to turn the cache off"
        )
    return _ClientCore(
        openai_key=openai_key,
        budget_cents=budget_cents,
        daily_limit_cents=daily_limit_cents,
        monthly_limit_cents=monthly_limit_cents,
        cache_enabled=cache_enabled,
        cache_ttl=cache_ttl,
        redis_url=redis_url,
        auto_pause=auto_pause,
        **extra,
    )


class _Completions:
    """``client.chat.completions``."""

    _asynchronous = False

    def __init__(self, core: _ClientCore) -> None:
        self._core = core

    def create(
        self,
        messages: List[Dict[str, Any]],
        model: str = DEFAULT_MODEL,
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        top_p: Optional[float] = None,
        frequency_penalty: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        stop: Optional[Union[str, List[str]]] = None,
        enable_cache: bool = True,
        stream: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Sends a chat completion within the budget; see ``budgetllm.Client``."""
        if not isinstance(stream, bool):
            raise TypeError(f"stream must be True or False, got {type(stream).__name__}")
        params = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "top_p": top_p,
            "frequency_penalty": frequency_penalty,
            "presence_penalty": presence_penalty,
            "stop": stop,
        }
        body = _request_body(messages, model, params, enable_cache, kwargs)
        return self._send(body, stream)

    def _send(self, body: Dict[str, Any], stream: bool) -> Any:
        if stream:
            return self._core.stream(body, self._asynchronous)
        return self._core.create(body, self._asynchronous)


class _AsyncCompletions(_Completions):
    """``client.chat.completions`` of an ``AsyncClient``: ``create`` is a coroutine."""

    _asynchronous = True

    async def create(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Sends a chat completion within the budget; see ``budgetllm.AsyncClient``."""
        return await super().create(*args, **kwargs)


class _Chat:
    """``client.chat``: callable (one user message) and home of ``.completions``."""

    def __init__(self, completions: _Completions) -> None:
        self.completions = completions

    def __call__(self, prompt: str, model: str = DEFAULT_MODEL, **kwargs: Any) -> Any:
        """Asks ``model`` one question: ``prompt`` as the only user message."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        return self.completions.create(
            [{"role": "user", "content": prompt}], model=model, **kwargs
        )


class _BaseClient:
    _asynchronous = False
    _completions = _Completions

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
    ) -> None:
        self._core = _core(
            openai_key,
            budget_cents,
            daily_limit_cents,
            monthly_limit_cents,
            cache_enabled,
            cache_ttl,
            redis_url,
            auto_pause,
            {
                "base_url": base_url,
                "anthropic_key": anthropic_key,
                "anthropic_base_url": anthropic_base_url,
                "state_path": state_path,
                "namespace": namespace,
                "timeout": timeout,
            },
        )
        self.chat = _Chat(self._completions(self._core))

    def get_status(self) -> Any:
        """Spend, limits and remaining per window, the pause flag, and cache figures."""
        return self._core.status(self._asynchronous)

    def pause(self) -> Any:
        """Emergency stop: every call (cache hits included) fails until ``resume()``."""
        return self._core.pause(self._asynchronous)

    def resume(self) -> Any:
        """Lifts ``pause()``."""
        return self._core.resume(self._asynchronous)

    def is_paused(self) -> Any:
        """Whether calls are paused."""
        return self._core.is_paused(self._asynchronous)

    def reset(self) -> Any:
        """Zeroes spend in every window and the cache statistics (for tests)."""
        return self._core.reset(self._asynchronous)


class Client(_BaseClient):
    """An OpenAI-style client that stops before it overspends and never pays twice.

    ``client.chat.completions.create(messages, model=..., ...)`` returns the provider's JSON
    body as a dict, plus ``"cost_cents"`` and ``"cache_hit"``. Calls wait with the GIL
    released; one client may be shared by many threads.
    """


class AsyncClient(_BaseClient):
    """``Client`` for asyncio: every method is a coroutine, and
    ``await client.chat.completions.create(..., stream=True)`` gives an async iterator."""

    _asynchronous = True
    _completions = _AsyncCompletions

    async def get_status(self) -> Any:  # type: ignore[override]
        """Spend, limits and remaining per window, the pause flag, and cache figures."""
        return await super().get_status()

    async def pause(self) -> Any:  # type: ignore[override]
        """Emergency stop: every call (cache hits included) fails until ``resume()``."""
        return await super().pause()

    async def resume(self) -> Any:  # type: ignore[override]
        """Lifts ``pause()``."""
        return await super().resume()

    async def is_paused(self) -> Any:  # type: ignore[override]
        """Whether calls are paused."""
        return await super().is_paused()

    async def reset(self) -> Any:  # type: ignore[override]
        """Zeroes spend in every window and the cache statistics (for tests)."""
        return await super().reset()
