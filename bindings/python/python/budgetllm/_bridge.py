"""Hands the outcome of a Rust task to its asyncio future, on the future's loop."""

from typing import Any, Optional


def resolve(future: Any, value: Any, error: Optional[BaseException]) -> None:
    """Sets ``future``'s result or exception, unless it was cancelled meanwhile."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
