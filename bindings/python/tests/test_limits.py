"""Hard limits per window, soft mode, the kill switch, and the status figures."""

import warnings

import pytest

from budgetllm import BudgetExceededError, BudgetLLMError, BudgetPausedError, BudgetWarning
from helpers import client, unique, user


@pytest.mark.parametrize(
    "option, limit_type",
    [("budget_cents", "total"), ("daily_limit_cents", "daily"), ("monthly_limit_cents", "monthly")],
)
def test_a_call_that_does_not_fit_is_refused_and_not_sent(provider, option, limit_type):
    c = client(provider, **{option: 0.01})
    first = c.chat(unique("fits"), max_tokens=20)
    refused = unique("does not fit")

    # Up to 1000 output tokens at 0.00006 cents each cannot fit in what is left of 0.01 cents.
    with pytest.raises(BudgetExceededError) as raised:
        c.chat(refused, max_tokens=1000)

    error = raised.value
    assert isinstance(error, BudgetLLMError)
    assert error.limit_type == limit_type
    assert error.spent == pytest.approx(first["cost_cents"], rel=1e-9)
    assert error.limit == pytest.approx(0.01)
    assert error.requested >= 1000 * 0.00006
    assert error.spent + error.requested > error.limit
    assert limit_type in str(error)
    assert provider.requests_with(refused) == []
    assert c.get_status()["budget"][limit_type]["spent_cents"] == pytest.approx(
        first["cost_cents"], rel=1e-9
    )


def test_soft_mode_lets_the_call_through_with_a_warning(provider):
    c = client(provider, budget_cents=0.01, auto_pause=False)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = c.chat(unique("over, but allowed"), max_tokens=1000)

    assert response["cost_cents"] > 0
    assert any(issubclass(w.category, BudgetWarning) for w in caught)


def test_pause_blocks_every_call_until_resume(provider):
    c = client(provider)
    prompt = unique("cached before the pause")
    c.chat(prompt, max_tokens=5)

    c.pause()
    assert c.is_paused() is True
    assert c.get_status()["budget"]["paused"] is True
    with pytest.raises(BudgetPausedError):
        c.chat(prompt, max_tokens=5)  # even a cache hit
    with pytest.raises(BudgetPausedError):
        c.chat(unique("new"), max_tokens=5)

    c.resume()
    assert c.is_paused() is False
    assert c.chat(prompt, max_tokens=5)["cache_hit"] is True


def test_status_reports_spend_limits_remaining_and_cache_figures(provider):
    c = client(provider, budget_cents=10, monthly_limit_cents=5)
    repeated = unique("asked twice")
    first = c.chat(repeated, max_tokens=10)
    second = c.chat(unique("asked once"), max_tokens=10)
    hit = c.chat(repeated, max_tokens=10)
    spent = first["cost_cents"] + second["cost_cents"]

    status = c.get_status()

    total, monthly, daily = (status["budget"][w] for w in ("total", "monthly", "daily"))
    assert hit["cache_hit"] is True and hit["cost_cents"] == 0.0
    for window in (total, monthly, daily):
        assert window["spent_cents"] == pytest.approx(spent, rel=1e-9)
    assert total["limit_cents"] == 10 and total["remaining_cents"] == pytest.approx(10 - spent)
    assert monthly["limit_cents"] == 5 and monthly["remaining_cents"] == pytest.approx(5 - spent)
    assert daily["limit_cents"] is None and daily["remaining_cents"] is None
    assert status["budget"]["paused"] is False
    cache = status["cache"]
    assert (cache["hits"], cache["misses"]) == (1, 2)
    assert cache["hit_rate"] == pytest.approx(1 / 3)
    assert cache["savings_cents"] == pytest.approx(first["cost_cents"], rel=1e-9)

    c.reset()

    status = c.get_status()
    assert status["budget"]["total"]["spent_cents"] == 0
    assert (status["cache"]["hits"], status["cache"]["misses"]) == (0, 0)
