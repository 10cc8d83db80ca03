//! A call with the caller's check (`create_checked`, `create_stream_checked`): nothing is
//! served, reserved or sent until the check says yes, and a call it stops costs nothing.

use crate::common::{ask, builder, drain, mini_cost, reserved, spent};
use budgetllm::core::Money;
use budgetllm::{ChatRequest, Client, Error, Message};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

/// The cache's (hits, misses), as the client's status counts them.
async fn lookups(client: &Client) -> (u64, u64) {
    let status = client.status().await.expect("status");
    (status.cache.hits, status.cache.misses)
}

#[tokio::test]
async fn a_check_that_says_no_stops_a_paid_call_before_anything_is_spent() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).budget_cents(100).build().unwrap();
    let completions = client.chat().completions();

    let stopped = completions.create_checked(ask("hi"), async { false }).await;
    assert!(matches!(stopped, Err(Error::Stopped)), "{stopped:?}");
    let stopped = completions
        .create_stream_checked(ask("hi"), async { false })
        .await;
    assert!(matches!(stopped, Err(Error::Stopped)));

    assert_eq!(fake.request_count(), 0, "nothing was sent");
    assert_eq!(spent(&client).await, Money::ZERO);
    assert_eq!(reserved(&client).await, Money::ZERO, "nothing is held");
    assert_eq!(lookups(&client).await, (0, 0), "no lookup was counted");
}

#[tokio::test]
async fn a_check_that_says_no_stops_a_cache_hit() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).budget_cents(100).build().unwrap();
    let completions = client.chat().completions();
    let paid = completions.create(ask("hi")).await.unwrap();
    assert!(!paid.cache_hit);

    let stopped = completions.create_checked(ask("hi"), async { false }).await;
    assert!(matches!(stopped, Err(Error::Stopped)), "{stopped:?}");
    let stopped = completions
        .create_stream_checked(ask("hi"), async { false })
        .await;
    assert!(matches!(stopped, Err(Error::Stopped)));
    assert_eq!(lookups(&client).await, (0, 1), "only the first call's miss");

    let hit = completions
        .create_checked(ask("hi"), async { true })
        .await
        .unwrap();
    assert!(
        hit.cache_hit,
        "a check that says yes lets the hit be served"
    );
    assert_eq!(lookups(&client).await, (1, 1));
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn a_check_that_says_yes_changes_nothing() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("one two").usage(FakeUsage::new(9, 4)));
    let client = builder(&fake).budget_cents(100).build().unwrap();
    let completions = client.chat().completions();

    let checked = completions
        .create_checked(ask("a"), async { true })
        .await
        .unwrap();
    let plain = completions.create(ask("b")).await.unwrap();
    assert!(!checked.cache_hit);
    assert_eq!(checked.cost_cents, mini_cost(9, 4).cents());
    assert_eq!(checked.cost_cents, plain.cost_cents);

    let mut stream = completions
        .create_stream_checked(ask("c"), async { true })
        .await
        .unwrap();
    drain(&mut stream).await;
    let summary = stream.summary().expect("settled at its end");
    assert_eq!(summary.cost_cents, plain.cost_cents);
    assert_eq!(fake.request_count(), 3);
    assert_eq!(
        spent(&client).await,
        mini_cost(9, 4).checked_mul(3).unwrap()
    );
    assert_eq!(reserved(&client).await, Money::ZERO);
}

#[tokio::test]
async fn a_request_that_fails_admission_is_refused_without_waiting_for_the_check() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).build().unwrap();
    let refused = client
        .chat()
        .completions()
        .create_checked(
            ChatRequest::new("no-such-model").message(Message::user("hi")),
            std::future::pending(),
        )
        .await;
    assert!(matches!(refused, Err(Error::Pricing(_))), "{refused:?}");
    assert_eq!(fake.request_count(), 0);
}
