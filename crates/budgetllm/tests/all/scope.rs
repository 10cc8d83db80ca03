//! Scoped clients: every paid call fits in two budgets (a tenant's and the client's own), a
//! refusal by either spends nothing in both, and each budget's refusals say whose they are.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{ask, builder, call, mini_cost, reservation_for};
use budgetllm::core::{BudgetTracker, MemoryLedger, Money};
use budgetllm::{Error, LimitType, Scope};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

fn key_budget(limit_cents: f64) -> BudgetTracker {
    BudgetTracker::builder()
        .hard_limit_cents(limit_cents)
        .ledger(Arc::new(MemoryLedger::new()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_scoped_call_is_settled_in_both_budgets() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(FakeReply::text("ok").usage(FakeUsage::new(20, 10)));
    let gateway = builder(&fake).budget_cents(10).build().unwrap();
    let key = key_budget(5.0);
    let tenant = gateway.scoped(Scope::new("key-1", key.clone()));

    let answer = call(&tenant, ask("hi")).await.unwrap();

    assert_eq!(answer.cost_cents, mini_cost(20, 10).cents());
    let own = gateway.tracker().status().await.unwrap();
    let scoped = key.status().await.unwrap();
    assert_eq!(own.total.spent, mini_cost(20, 10));
    assert_eq!(scoped.total.spent, mini_cost(20, 10));
    assert_eq!(own.total.reserved, Money::ZERO);
    assert_eq!(scoped.total.reserved, Money::ZERO);
}

#[tokio::test]
async fn a_refusal_by_the_scope_sends_nothing_and_names_the_scope() {
    let fake = FakeProvider::start().await;
    let gateway = builder(&fake).budget_cents(10).build().unwrap();
    let request = ask("hi");
    let needed = reservation_for(&gateway, &request);
    let key = key_budget(needed.cents() / 2.0);
    let tenant = gateway.scoped(Scope::new("key-1", key.clone()));

    let error = call(&tenant, request).await.unwrap_err();

    match &error {
        Error::ScopeBudgetExceeded { scope, exceeded } => {
            assert_eq!(scope, "key-1");
            assert_eq!(exceeded.limit_type, LimitType::Total);
            assert_eq!(exceeded.requested(), needed);
        }
        other => panic!("expected the scope's refusal, got {other:?}"),
    }
    assert!(error.to_string().contains("key-1"), "{error}");
    assert!(fake.requests().is_empty(), "nothing may be sent");
    let own = gateway.tracker().status().await.unwrap();
    assert_eq!(
        own.total.spent.checked_add(own.total.reserved).unwrap(),
        Money::ZERO
    );
}

#[tokio::test]
async fn a_refusal_by_the_client_releases_the_scope_reservation() {
    let fake = FakeProvider::start().await;
    let request = ask("hi");
    let probe = builder(&fake).build().unwrap();
    let needed = reservation_for(&probe, &request);
    let gateway = builder(&fake)
        .budget_cents(needed.cents() / 2.0)
        .build()
        .unwrap();
    let key = key_budget(100.0);
    let tenant = gateway.scoped(Scope::new("key-1", key.clone()));

    let error = call(&tenant, request).await.unwrap_err();

    assert!(matches!(error, Error::BudgetExceeded(_)), "{error:?}");
    let scoped = key.status().await.unwrap();
    assert_eq!(
        scoped.total.reserved,
        Money::ZERO,
        "the scope's reservation leaked"
    );
    assert_eq!(scoped.total.spent, Money::ZERO);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn pausing_the_scope_stops_its_calls_and_cache_hits_only() {
    let fake = FakeProvider::start().await;
    let gateway = builder(&fake).build().unwrap();
    let key = key_budget(100.0);
    let tenant = gateway.scoped(Scope::new("key-1", key.clone()));
    call(&tenant, ask("cached")).await.unwrap();

    key.pause().await.unwrap();

    for request in [ask("cached"), ask("fresh")] {
        let error = call(&tenant, request).await.unwrap_err();
        assert!(
            matches!(&error, Error::ScopePaused { scope } if scope == "key-1"),
            "{error:?}"
        );
    }
    call(&gateway, ask("fresh")).await.unwrap();
    assert_eq!(fake.requests().len(), 2, "only the unscoped call was sent");
}

#[tokio::test]
async fn scopes_with_their_own_cache_namespace_never_share_answers() {
    let fake = FakeProvider::start().await;
    let gateway = builder(&fake).build().unwrap();
    let a = gateway.scoped(Scope::new("a", key_budget(100.0)).cache_namespace("key-a"));
    let b = gateway.scoped(Scope::new("b", key_budget(100.0)).cache_namespace("key-b"));

    assert!(!call(&a, ask("q")).await.unwrap().cache_hit);
    assert!(call(&a, ask("q")).await.unwrap().cache_hit);
    assert!(!call(&b, ask("q")).await.unwrap().cache_hit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scoped_calls_hold_both_limits() {
    let fake = FakeProvider::start().await;
    fake.set_default_reply(
        FakeReply::text("ok")
            .usage(FakeUsage::new(20, 10))
            .latency(Duration::from_millis(2)),
    );
    let gateway = builder(&fake)
        .budget_cents(0.05)
        .cache_enabled(false)
        .build()
        .unwrap();
    let keys: Vec<BudgetTracker> = (0..4).map(|_| key_budget(0.02)).collect();

    let tasks: Vec<_> = (0..160)
        .map(|i| {
            let tenant = gateway.scoped(Scope::new(format!("key-{}", i % 4), keys[i % 4].clone()));
            tokio::spawn(async move { call(&tenant, ask("go")).await })
        })
        .collect();
    let mut answered = Money::ZERO;
    for task in tasks {
        match task.await.unwrap() {
            Ok(answer) => {
                assert_eq!(answer.cost_cents, mini_cost(20, 10).cents());
                answered = answered.checked_add(mini_cost(20, 10)).unwrap();
            }
            Err(Error::BudgetExceeded(_) | Error::ScopeBudgetExceeded { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let own = gateway.tracker().status().await.unwrap().total;
    assert!(own.spent <= Money::from_cents(0.05).unwrap());
    assert_eq!(own.spent, answered);
    assert_eq!(own.reserved, Money::ZERO);
    let mut keys_spent = Money::ZERO;
    for key in &keys {
        let window = key.status().await.unwrap().total;
        assert!(window.spent <= Money::from_cents(0.02).unwrap());
        assert_eq!(window.reserved, Money::ZERO);
        keys_spent = keys_spent.checked_add(window.spent).unwrap();
    }
    assert_eq!(
        keys_spent, own.spent,
        "every call is in exactly one key and the gateway"
    );
}
