//! Failure paths of the reservation protocol: a refusal costs nothing, an unknown outcome is
//! charged its whole reservation (never under-count).

use std::sync::Arc;
use std::time::Duration;

use crate::common::{SECRET_KEY, ask, builder, eventually, reservation_for, spent};
use budgetllm::core::Money;
use budgetllm::transport::{CallOutcome, OpenAiTransport, RetryPolicy};
use budgetllm::{ChatRequest, Error};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use test_support::fixture;

async fn assert_nothing_spent_or_reserved(client: &budgetllm::Client) {
    let status = client.status().await.unwrap();
    assert!(status.budget.total.spent.is_zero(), "{status:?}");
    assert!(status.budget.total.reserved.is_zero(), "{status:?}");
}

/// Sends `request`, checks it fails with an unknown outcome and that exactly its reservation
/// was charged; returns what was charged.
async fn assert_unknown_outcome_charges_its_reservation(
    client: &budgetllm::Client,
    request: &ChatRequest,
) -> Money {
    let error = client
        .chat()
        .completions()
        .create(request.clone())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::Transport(e) if e.outcome() == CallOutcome::Unknown),
        "{error:?}"
    );
    let charged = spent(client).await;
    assert_eq!(charged, reservation_for(client, request));
    charged
}

#[tokio::test]
async fn a_refused_call_is_released_and_costs_nothing() {
    for (status, body) in [
        (401, fixture("openai/error_401.json")),
        (400, fixture("openai/error_400_invalid_request.json")),
    ] {
        let fake = FakeProvider::start().await;
        fake.enqueue(FakeReply::error(status, body));
        let client = builder(&fake).build().unwrap();

        let error = client
            .chat()
            .completions()
            .create(ask("hi"))
            .await
            .unwrap_err();
        match &error {
            Error::Transport(e) => {
                assert_eq!(e.status(), Some(status));
                assert_eq!(e.outcome(), CallOutcome::Refused);
            }
            other => panic!("expected a transport error, got {other:?}"),
        }
        assert!(!error.to_string().contains(SECRET_KEY), "{error}");
        assert!(!format!("{error:?}").contains(SECRET_KEY));
        assert_nothing_spent_or_reserved(&client).await;
        assert_eq!(fake.request_count(), 1);
    }
}

#[tokio::test]
async fn an_undecodable_success_is_charged_its_reservation() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::raw(
        200,
        "application/json",
        "{\"not\": \"a completion\"",
    ));
    let client = builder(&fake).build().unwrap();
    let request = ask("hi");

    assert_unknown_outcome_charges_its_reservation(&client, &request).await;
}

#[tokio::test]
async fn a_cut_connection_is_charged_its_reservation_which_covers_the_bill() {
    let fake = FakeProvider::start().await;
    fake.enqueue(
        FakeReply::text("a long answer that never arrives")
            .usage(FakeUsage::new(9, 7))
            .cut_after(20),
    );
    let client = builder(&fake).build().unwrap();
    let request = ask("hi");

    let charged = assert_unknown_outcome_charges_its_reservation(&client, &request).await;
    assert!(
        charged >= crate::common::mini_cost(9, 7),
        "never under-count what the provider billed"
    );
}

#[tokio::test]
async fn a_timeout_is_charged_its_reservation() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::text("slow").latency(Duration::from_secs(3)));
    let impatient = OpenAiTransport::builder()
        .base_url(fake.base_url())
        .request_timeout(Duration::from_millis(150))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let client = builder(&fake)
        .transport("openai", Arc::new(impatient))
        .build()
        .unwrap();
    let request = ask("hi");

    assert_unknown_outcome_charges_its_reservation(&client, &request).await;
}

#[tokio::test]
async fn a_call_dropped_mid_flight_is_charged_its_reservation() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::text("never read").latency(Duration::from_secs(3)));
    let client = builder(&fake).build().unwrap();
    let request = ask("hi").enable_cache(false);
    let expected = reservation_for(&client, &ask("hi"));

    let call = client.chat().completions().create(request);
    let outcome = tokio::time::timeout(Duration::from_millis(150), call).await;
    assert!(outcome.is_err(), "the call should still be waiting");

    eventually(|| async { spent(&client).await == expected }).await;
    let status = client.status().await.unwrap();
    assert!(status.budget.total.reserved.is_zero());
}

#[tokio::test]
async fn a_gateway_error_is_charged_not_released_nor_retried() {
    for (status, body) in [
        (502, "<html>Bad Gateway</html>"),
        (504, "upstream timed out"),
        (522, ""),
        (500, "{}"),
    ] {
        let fake = FakeProvider::start().await;
        fake.enqueue(FakeReply::error(status, body));
        let client = builder(&fake).build().unwrap();

        let charged = assert_unknown_outcome_charges_its_reservation(&client, &ask("hi")).await;

        assert!(
            !charged.is_zero(),
            "{status}: the provider may have billed the work"
        );
        assert_eq!(fake.request_count(), 1, "{status} must not be retried");
    }
}

#[tokio::test]
async fn an_anthropic_answer_without_usage_is_charged_its_reservation() {
    let fake = FakeProvider::start().await;
    let mut answer = test_support::fixture_json("anthropic/messages_response_basic.json");
    answer["usage"]
        .as_object_mut()
        .unwrap()
        .remove("output_tokens");
    fake.enqueue(FakeReply::raw(200, "application/json", answer.to_string()));
    let client = builder(&fake)
        .anthropic_key(SECRET_KEY)
        .anthropic_base_url(fake.anthropic_base_url())
        .build()
        .unwrap();
    let request = ChatRequest::new("claude-haiku-4-5")
        .message(budgetllm::Message::user("hi"))
        .max_tokens(100);

    let charged = assert_unknown_outcome_charges_its_reservation(&client, &request).await;

    assert!(!charged.is_zero(), "no usage is never a free call");
}
