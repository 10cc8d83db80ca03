//! Every limit type stops calls with the right figures; pause is an emergency stop; status
//! adds up; soft mode warns instead of stopping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{ask, builder, mini_cost};
use budgetllm::core::Money;
use budgetllm::{
    BudgetExceeded, ChatCompletion, Client, ClientBuilder, Enforcement, Error, LimitType,
    ManualClock,
};
use serde_json::json;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use time::OffsetDateTime;
use time::macros::datetime;

/// Every call in these tests reports this usage: 5 prompt + 50 completion tokens.
fn reply() -> FakeReply {
    FakeReply::text("fifty tokens of text").usage(FakeUsage::new(5, 50))
}

fn call_cost() -> Money {
    mini_cost(5, 50)
}

/// Five thousandths of a cent: room for one call's reservation (about 0.0032 cents with
/// `max_tokens: 50`) but not for a second one after the first was charged.
const LIMIT_CENTS: f64 = 0.005;

fn expect_exceeded(result: Result<ChatCompletion, Error>) -> BudgetExceeded {
    match result {
        Err(Error::BudgetExceeded(e)) => e,
        other => panic!("expected BudgetExceeded, got {other:?}"),
    }
}

/// Checks the figures of a refusal after one charged call against a [`LIMIT_CENTS`] limit.
fn assert_one_call_over(e: &BudgetExceeded, limit_type: LimitType) {
    assert_eq!(e.limit_type, limit_type);
    assert_eq!(e.spent_cents, call_cost().cents());
    assert_eq!(e.limit_cents, LIMIT_CENTS);
}

/// A fake provider answering every call with [`reply`], a clock set to `start`, and a client
/// on that clock with the limit `limit` sets.
async fn clocked_client(
    start: OffsetDateTime,
    limit: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (FakeProvider, ManualClock, Client) {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(reply());
    let clock = ManualClock::new(start);
    let client = limit(builder(&fake))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (fake, clock, client)
}

/// A call that skips the cache, so every one of them is charged.
async fn uncached(client: &Client, prompt: &str) -> Result<ChatCompletion, Error> {
    client
        .chat()
        .completions()
        .create(ask(prompt).enable_cache(false))
        .await
}

#[tokio::test]
async fn daily_limit_stops_the_day_and_the_next_day_starts_fresh() {
    let (fake, clock, client) = clocked_client(datetime!(2026-11-29 23:00 UTC), |b| {
        b.daily_limit_cents(LIMIT_CENTS)
    })
    .await;

    uncached(&client, "first").await.unwrap();
    let e = expect_exceeded(uncached(&client, "second").await);
    assert_one_call_over(&e, LimitType::Daily);
    assert_eq!(fake.request_count(), 1, "a refused call is never sent");

    clock.advance(Duration::from_secs(2 * 3600)); // 2026-11-30 01:00: a new day
    uncached(&client, "third").await.unwrap();
    let status = client.status().await.unwrap();
    assert_eq!(status.budget.daily.spent, call_cost());
    assert_eq!(
        status.budget.monthly.spent,
        call_cost().checked_add(call_cost()).unwrap()
    );
}

#[tokio::test]
async fn monthly_limit_holds_across_days_until_the_month_ends() {
    let (fake, clock, client) = clocked_client(datetime!(2026-11-29 12:00 UTC), |b| {
        b.monthly_limit_cents(LIMIT_CENTS)
    })
    .await;

    uncached(&client, "first").await.unwrap();
    clock.advance(Duration::from_secs(24 * 3600)); // 2026-11-30: same month
    let e = expect_exceeded(uncached(&client, "second").await);
    assert_one_call_over(&e, LimitType::Monthly);

    clock.advance(Duration::from_secs(24 * 3600)); // 2026-12-01: a new month
    uncached(&client, "third").await.unwrap();
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn total_budget_never_resets() {
    let (fake, clock, client) = clocked_client(datetime!(2026-11-29 12:00 UTC), |b| {
        b.budget_cents(LIMIT_CENTS)
    })
    .await;
    let completions = client.chat().completions();

    completions.create(ask("first")).await.unwrap();
    clock.advance(Duration::from_secs(40 * 24 * 3600)); // another month, another day
    let e = expect_exceeded(completions.create(ask("second")).await);
    assert_one_call_over(&e, LimitType::Total);

    // An exhausted budget still serves what is cached: it costs nothing.
    let cached = completions.create(ask("first")).await.unwrap();
    assert!(cached.cache_hit);
    assert_eq!(cached.cost_cents, 0.0);
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn pause_blocks_every_call_including_cache_hits_until_resume() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(reply());
    let client = builder(&fake).build().unwrap();
    let completions = client.chat().completions();
    completions.create(ask("cached")).await.unwrap();

    client.pause().await.unwrap();
    assert!(client.is_paused().await.unwrap());
    assert!(matches!(
        completions.create(ask("cached")).await,
        Err(Error::Paused)
    ));
    assert!(matches!(
        completions.create(ask("new")).await,
        Err(Error::Paused)
    ));
    assert!(matches!(client.ask("new").await, Err(Error::Paused)));
    assert!(matches!(
        completions.create_stream(ask("cached")).await,
        Err(Error::Paused)
    ));
    let status = client.status().await.unwrap();
    assert!(status.budget.paused);
    assert_eq!(
        (status.cache.hits, status.cache.misses),
        (0, 1),
        "paused calls are not counted in the cache statistics"
    );
    assert_eq!(fake.request_count(), 1);

    client.resume().await.unwrap();
    assert!(!client.is_paused().await.unwrap());
    assert!(completions.create(ask("cached")).await.unwrap().cache_hit);
    completions.create(ask("new")).await.unwrap();
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn status_adds_up_to_the_sum_of_call_costs() {
    let fake = FakeProvider::start().await;
    let usages = [(12, 5), (30, 8), (7, 20)];
    for (prompt, completion) in usages {
        fake.enqueue(FakeReply::text("answer").usage(FakeUsage::new(prompt, completion)));
    }
    let client = builder(&fake)
        .daily_limit_cents(50)
        .monthly_limit_cents(200)
        .build()
        .unwrap();
    let mut sum_of_responses = 0.0;
    for (i, _) in usages.iter().enumerate() {
        let response = client
            .chat()
            .completions()
            .create(ask(&format!("q{i}")))
            .await
            .unwrap();
        sum_of_responses += response.cost_cents;
    }
    let cached = client.chat().completions().create(ask("q0")).await.unwrap();
    assert!(cached.cache_hit);

    let expected = usages
        .iter()
        .map(|&(p, c)| mini_cost(p, c))
        .fold(Money::ZERO, |sum, cost| sum.checked_add(cost).unwrap());
    let status = client.status().await.unwrap();
    assert_eq!(status.budget.total.spent, expected);
    assert_eq!(status.budget.daily.spent, expected);
    assert_eq!(status.budget.monthly.spent, expected);
    assert!(status.budget.total.reserved.is_zero());
    assert!((sum_of_responses - expected.cents()).abs() < 1e-12);

    let json = serde_json::to_value(&status).unwrap();
    let daily = &json["budget"]["daily"];
    assert_eq!(daily["spent_cents"], json!(expected.cents()));
    assert_eq!(daily["limit_cents"], json!(50.0));
    assert_eq!(
        daily["remaining_cents"],
        json!(
            Money::from_whole_cents(50)
                .unwrap()
                .saturating_sub(expected)
                .cents()
        )
    );
    assert_eq!(json["budget"]["monthly"]["limit_cents"], json!(200.0));
    assert_eq!(json["budget"]["total"]["limit_cents"], json!(null));
    assert_eq!(json["budget"]["total"]["remaining_cents"], json!(null));
    assert_eq!(
        json["budget"]["total"]["spent_cents"],
        json!(expected.cents())
    );
    assert_eq!(json["budget"]["paused"], json!(false));
    let cache = &json["cache"];
    assert_eq!(cache["hits"], json!(1));
    assert_eq!(cache["misses"], json!(3));
    assert_eq!(cache["hit_rate"], json!(0.25));
    assert_eq!(cache["savings_cents"], json!(mini_cost(12, 5).cents()));

    client.reset().await.unwrap();
    let after = client.status().await.unwrap();
    assert!(after.budget.total.spent.is_zero());
    assert_eq!(after.cache.hits, 0);
}

#[tokio::test]
async fn soft_mode_allows_the_call_reports_over_limit_and_alerts() {
    soft_mode_with(|builder| builder.enforcement(Enforcement::Soft)).await;
}

#[tokio::test]
async fn auto_pause_false_is_soft_mode() {
    soft_mode_with(|builder| builder.auto_pause(false)).await;
}

async fn soft_mode_with(soft: impl FnOnce(ClientBuilder) -> ClientBuilder) {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(reply());
    let alerts: Arc<Mutex<Vec<BudgetExceeded>>> = Arc::default();
    let seen = alerts.clone();
    let client = soft(builder(&fake).budget_cents(LIMIT_CENTS))
        .on_budget_exceeded(move |e| seen.lock().unwrap().push(*e))
        .build()
        .unwrap();

    client
        .chat()
        .completions()
        .create(ask("first"))
        .await
        .unwrap();
    assert!(alerts.lock().unwrap().is_empty());
    let second = client.chat().completions().create(ask("second")).await;
    assert!(
        second.is_ok(),
        "soft mode lets the call through: {second:?}"
    );

    let alerts = alerts.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1);
    assert_one_call_over(&alerts[0], LimitType::Total);
    let status = client.status().await.unwrap();
    assert!(status.over_limit());
    assert_eq!(
        status.budget.total.spent,
        call_cost().checked_add(call_cost()).unwrap()
    );
    assert_eq!(status.budget.total.remaining, Some(Money::ZERO));
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn limits_take_any_integer_type_and_fractional_cents() {
    let fake = FakeProvider::start().await;
    let limit: u64 = 250;
    let per_day: u8 = 40;
    let client = builder(&fake)
        .budget_cents(limit)
        .daily_limit_cents(per_day)
        .monthly_limit_cents(99.5)
        .build()
        .unwrap();

    let budget = client.status().await.unwrap().budget;
    assert_eq!(
        budget.total.limit,
        Some(Money::from_nanos(250 * Money::NANOS_PER_CENT))
    );
    assert_eq!(
        budget.daily.limit,
        Some(Money::from_nanos(40 * Money::NANOS_PER_CENT))
    );
    assert_eq!(
        budget.monthly.limit,
        Some(Money::from_nanos(99_500_000_000))
    );

    let same = builder(&fake).total_limit_cents(250_i64).build().unwrap();
    assert_eq!(
        same.status().await.unwrap().budget.total.limit,
        budget.total.limit
    );

    for (bad, option) in [
        (builder(&fake).budget_cents(-5_i32), "budget_cents"),
        (
            builder(&fake).total_limit_cents(f64::NAN),
            "total_limit_cents",
        ),
        (
            builder(&fake).daily_limit_cents(u128::MAX),
            "daily_limit_cents",
        ),
    ] {
        match bad.build() {
            Err(Error::Config { option: named, .. }) => assert_eq!(named, option),
            other => panic!("{option}: expected a config error, got {other:?}"),
        }
    }
}
