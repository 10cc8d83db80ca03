"""The exceptions BudgetLLM raises. Every one is a ``BudgetLLMError``."""

from typing import Any, Optional

__all__ = [
    "BudgetLLMError",
    "BudgetExceededError",
    "BudgetPausedError",
    "ProviderError",
    "UnknownModelError",
    "InvalidArgumentError",
    "StoreUnavailableError",
    "BudgetWarning",
]


class BudgetLLMError(Exception):
    """Base class of every error the package raises."""


class BudgetExceededError(BudgetLLMError):
    """A call's worst-case cost does not fit under a limit. Nothing was sent or spent.

    ``limit_type`` is ``"daily"``, ``"monthly"`` or ``"total"``; ``spent``, ``limit`` and
    ``requested`` are cents (``requested`` is the worst case the call needed), ``reserved`` the
    cents held by calls still in flight in that window.
    """

    def __init__(
        self,
        limit_type: str,
        spent: float,
        limit: float,
        requested: float,
        reserved: float = 0.0,
        message: Optional[str] = None,
    ) -> None:
        self.limit_type = limit_type
        self.spent = spent
        self.limit = limit
        self.requested = requested
        self.reserved = reserved
        if message is None:
            message = (
                f"{limit_type} budget exceeded: {spent:.6f} cents spent of a "
                f"{limit:.6f} cent limit ({requested:.6f} cents requested)"
            )
        super().__init__(message)


class BudgetPausedError(BudgetLLMError):
    """Spending is paused (the kill switch is on): every call is refused until ``resume()``."""


class ProviderError(BudgetLLMError):
    """The provider call failed.

    ``status_code`` is the HTTP status when the provider answered with an error (else
    ``None``: no connection, or no answer in time); ``body`` is the provider's error as
    ``{"error": {"message", "type", "code", "param"}}`` when it sent one.
    """

    def __init__(
        self,
        message: str,
        status_code: Optional[int] = None,
        body: Optional[Any] = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(message)


class UnknownModelError(BudgetLLMError, ValueError):
    """The model has no known price, so the call cannot be budgeted. Nothing was sent."""


class InvalidArgumentError(BudgetLLMError, ValueError):
    """An option or request is unusable (e.g. a negative limit, no messages). Nothing was sent."""


class StoreUnavailableError(BudgetLLMError, ConnectionError):
    """The shared store (Redis or the SQLite file) could not be used; budget calls fail closed."""


class BudgetWarning(UserWarning):
    """A call went over a limit while ``auto_pause=False`` (warn only): it was let through."""
