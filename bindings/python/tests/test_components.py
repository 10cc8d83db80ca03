"""The components alone: BudgetTracker, PromptCache, MemoryBackend, RedisBackend."""

import pytest

from budgetllm import (
    BudgetExceededError,
    BudgetPausedError,
    BudgetTracker,
    MemoryBackend,
    PromptCache,
    RedisBackend,
)
from helpers import user


def test_tracker_records_spend_and_checks_limits():
    tracker = BudgetTracker(daily_limit_cents=10, hard_limit_cents=100)
    assert tracker.check_limits() is True

    tracker.record_cost(4)
    tracker.record_cost(6)

    assert tracker.get_daily_spend() == pytest.approx(10)
    with pytest.raises(BudgetExceededError) as raised:
        tracker.check_limits()
    assert raised.value.limit_type == "daily"
    assert raised.value.spent == pytest.approx(10)
    assert raised.value.limit == pytest.approx(10)
    status = tracker.get_status()
    assert status["daily"]["spent_cents"] == pytest.approx(10)
    assert status["daily"]["remaining_cents"] == pytest.approx(0)
    assert status["total"]["limit_cents"] == pytest.approx(100)
    assert status["monthly"]["limit_cents"] is None

    tracker.reset_all()

    assert tracker.get_daily_spend() == 0
    assert tracker.check_limits() is True


def test_tracker_in_soft_mode_answers_false_instead_of_raising():
    tracker = BudgetTracker(hard_limit_cents=1, auto_pause=False)
    tracker.record_cost(2)
    assert tracker.check_limits() is False


def test_tracker_pause_switch():
    tracker = BudgetTracker()
    tracker.pause()
    assert tracker.is_paused() is True
    assert tracker.get_status()["paused"] is True
    with pytest.raises(BudgetPausedError):
        tracker.check_limits()
    tracker.resume()
    assert tracker.is_paused() is False


def test_tracker_refuses_bad_amounts():
    tracker = BudgetTracker()
    for amount in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            tracker.record_cost(amount)
    with pytest.raises(TypeError):
        tracker.record_cost("5")
    with pytest.raises(ValueError):
        BudgetTracker(daily_limit_cents=-5)


def test_trackers_on_one_state_file_share_the_budget(tmp_path):
    path = str(tmp_path / "budget.db")
    BudgetTracker(state_path=path).record_cost(3)
    assert BudgetTracker(state_path=path).get_daily_spend() == pytest.approx(3)


def test_prompt_cache_stores_serves_and_counts():
    cache = PromptCache(backend=MemoryBackend(max_size=10, default_ttl=60))
    messages = user("What is 2 + 2?")
    answer = {"choices": [{"message": {"role": "assistant", "content": "4"}}]}

    assert cache.get("gpt-4o-mini", messages) is None
    assert cache.set("gpt-4o-mini", messages, answer, 0.5) is True

    assert cache.get("gpt-4o-mini", messages) == answer
    assert cache.get("gpt-4o-mini", messages, temperature=0.7) is None
    assert cache.get("gpt-4o-mini", messages, system_prompt="Be brief.") is None
    assert cache.get("gpt-4o", messages) is None
    stats = cache.get_stats()
    assert (stats["hits"], stats["misses"]) == (1, 4)
    assert stats["hit_rate"] == pytest.approx(0.2)
    assert stats["savings_cents"] == pytest.approx(0.5)

    assert cache.invalidate("gpt-4o-mini", messages) is True
    assert cache.invalidate("gpt-4o-mini", messages) is False
    assert cache.get("gpt-4o-mini", messages) is None
    cache.reset_stats()
    assert cache.get_stats()["hits"] == 0


def test_system_prompt_and_temperature_are_part_of_the_key():
    cache = PromptCache()
    messages = user("Hi")
    cache.set("gpt-4o-mini", messages, {"id": "warm"}, 0.1, temperature=0.7,
              system_prompt="Be brief.")

    assert cache.get("gpt-4o-mini", messages, temperature=0.7, system_prompt="Be brief.") == {
        "id": "warm"
    }
    same_request = [{"role": "system", "content": "Be brief."}, *messages]
    assert cache.get("gpt-4o-mini", same_request, temperature=0.7) == {"id": "warm"}
    assert cache.get("gpt-4o-mini", messages, temperature=0.7) is None


def test_a_disabled_cache_stores_nothing():
    cache = PromptCache(enabled=False)
    assert cache.set("gpt-4o-mini", user("Hi"), {"id": "x"}, 0.1) is False
    assert cache.get("gpt-4o-mini", user("Hi")) is None


def test_prompt_cache_rejects_wrong_types():
    with pytest.raises(TypeError):
        PromptCache(backend="memory")
    with pytest.raises(TypeError):
        PromptCache().get("gpt-4o-mini", "Hi")
    with pytest.raises(ValueError):
        PromptCache().set("gpt-4o-mini", user("Hi"), {"id": "x"}, -1)
    with pytest.raises(ValueError):
        RedisBackend("not-a-redis-url")


def test_redis_backend_is_shared_by_caches(redis_url):
    writer = PromptCache(backend=RedisBackend(redis_url))
    reader = PromptCache(backend=RedisBackend(redis_url))
    writer.set("gpt-4o-mini", user("shared"), {"id": "from-writer"}, 0.25)

    assert reader.get("gpt-4o-mini", user("shared")) == {"id": "from-writer"}
