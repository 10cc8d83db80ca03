//! What a call reports its budgets have left: after its settlement, with a stream's
//! reservation held, as read for a cache hit, and the least of a scoped client's two budgets.

use std::sync::Arc;

use crate::common::{ask, builder, call, drain, mini_cost, open, reservation_for};
use budgetllm::core::{BudgetTracker, MemoryLedger, Money};
use budgetllm::{Client, Scope};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

/// The least the client's own budget has left, as a fresh read says.
async fn left_now(client: &Client) -> Option<f64> {
    client
        .status()
        .await
        .expect("status")
        .budget
        .remaining()
        .map(Money::cents)
}

#[tokio::test]
async fn a_paid_call_and_its_cache_hit_report_what_the_budget_has_left() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(20, 10)));
    let client = builder(&fake)
        .budget_cents(10)
        .daily_limit_cents(4.0)
        .build()
        .unwrap();

    let paid = call(&client, ask("hi")).await.unwrap();
    // The daily window is the smaller one; the settlement released the reservation.
    let expected = Money::from_cents(4.0)
        .unwrap()
        .saturating_sub(mini_cost(20, 10))
        .cents();
    assert_eq!(paid.remaining_cents, Some(expected));
    assert_eq!(left_now(&client).await, Some(expected));

    let hit = call(&client, ask("hi")).await.unwrap();
    assert!(hit.cache_hit);
    assert_eq!(hit.remaining_cents, Some(expected), "a hit spends nothing");
    assert_eq!(fake.requests().len(), 1);
    // The figure is for the caller, not part of the OpenAI-shaped body.
    let body = serde_json::to_value(&paid).unwrap();
    assert!(body.get("remaining_cents").is_none(), "{body}");
}

#[tokio::test]
async fn a_client_without_limits_reports_no_remaining() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).build().unwrap();
    let paid = call(&client, ask("hi")).await.unwrap();
    assert!(paid.cost_cents > 0.0);
    assert_eq!(paid.remaining_cents, None);
    let hit = call(&client, ask("hi")).await.unwrap();
    assert!(hit.cache_hit);
    assert_eq!(hit.remaining_cents, None);
}

#[tokio::test]
async fn a_scoped_call_reports_the_least_of_both_budgets() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(20, 10)));
    let gateway = builder(&fake).budget_cents(10).build().unwrap();
    let key = BudgetTracker::builder()
        .hard_limit_cents(3.0)
        .ledger(Arc::new(MemoryLedger::new()))
        .build()
        .unwrap();
    let tenant = gateway.scoped(Scope::new("key-1", key.clone()));

    let paid = call(&tenant, ask("hi")).await.unwrap();
    let key_left = key.status().await.unwrap().remaining().unwrap();
    assert_eq!(
        key_left,
        Money::from_cents(3.0)
            .unwrap()
            .saturating_sub(mini_cost(20, 10))
    );
    assert_eq!(paid.remaining_cents, Some(key_left.cents()));

    // Once the gateway's own budget is the tighter one, it is the one reported.
    let roomy = gateway.scoped(Scope::new(
        "key-2",
        BudgetTracker::builder()
            .hard_limit_cents(1_000.0)
            .ledger(Arc::new(MemoryLedger::new()))
            .build()
            .unwrap(),
    ));
    let paid = call(&roomy, ask("another")).await.unwrap();
    assert_eq!(paid.remaining_cents, left_now(&gateway).await);
}

#[tokio::test]
async fn a_stream_reports_what_was_left_with_its_reservation_held() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("one two").usage(FakeUsage::new(9, 4)));
    let client = builder(&fake).budget_cents(10).build().unwrap();
    let request = ask("count");
    let held = reservation_for(&client, &request);

    let mut stream = open(&client, request).await;
    let expected = Money::from_cents(10.0)
        .unwrap()
        .saturating_sub(held)
        .cents();
    assert_eq!(stream.remaining_cents(), Some(expected));
    assert_eq!(left_now(&client).await, Some(expected));
    drain(&mut stream).await;

    let mut replay = open(&client, ask("count")).await;
    let after_settle = Money::from_cents(10.0)
        .unwrap()
        .saturating_sub(mini_cost(9, 4))
        .cents();
    assert_eq!(replay.remaining_cents(), Some(after_settle));
    drain(&mut replay).await;
    assert!(replay.summary().unwrap().cache_hit);
}
