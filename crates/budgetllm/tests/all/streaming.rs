//! Streaming within the budget: reserved before the first byte, settled from the final usage,
//! charged in full when dropped early, cached when complete, replayed from the cache.

use std::time::Duration;

use crate::common::{ask, builder, eventually, mini_cost, reservation_for, reserved, spent};
use budgetllm::core::Money;
use budgetllm::{ChatStream, Client, Error};
use futures_util::StreamExt;
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

/// Reads a stream to its end; returns the concatenated text of choice 0.
async fn read_all(stream: &mut ChatStream) -> Result<String, Error> {
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if let Some(content) = chunk
            .choices
            .first()
            .and_then(|c| c.delta.content.as_deref())
        {
            text.push_str(content);
        }
    }
    Ok(text)
}

/// Opens a stream for a one-message request; returns it with the reservation the call holds.
async fn open_stream(client: &Client, prompt: &str) -> (ChatStream, Money) {
    let request = ask(prompt);
    let reservation = reservation_for(client, &request);
    let stream = client
        .chat()
        .completions()
        .create_stream(request)
        .await
        .unwrap();
    (stream, reservation)
}

#[tokio::test]
async fn a_stream_is_settled_from_its_final_usage() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::text("one two three four").usage(FakeUsage::new(9, 4)));
    let client = builder(&fake).build().unwrap();

    let mut stream = client
        .chat()
        .completions()
        .create_stream(ask("count"))
        .await
        .unwrap();
    assert!(stream.summary().is_none());
    let text = read_all(&mut stream).await.unwrap();

    assert_eq!(text, "one two three four");
    let summary = stream.summary().expect("a finished stream has a summary");
    assert_eq!(summary.cost_cents, mini_cost(9, 4).cents());
    assert!(!summary.cache_hit);
    assert_eq!(
        (
            summary.usage.input_tokens_total,
            summary.usage.output_tokens_total
        ),
        (9, 4)
    );
    assert_eq!(spent(&client).await, mini_cost(9, 4));
    assert!(reserved(&client).await.is_zero());
    let sent = &fake.requests()[0].body;
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn a_completed_stream_is_cached_and_a_hit_can_be_streamed() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::text("cached words here").usage(FakeUsage::new(6, 3)));
    let client = builder(&fake).build().unwrap();
    let completions = client.chat().completions();

    let mut live = completions.create_stream(ask("remember")).await.unwrap();
    read_all(&mut live).await.unwrap();

    let whole = completions.create(ask("remember")).await.unwrap();
    assert!(whole.cache_hit);
    assert_eq!(whole.content(), Some("cached words here"));
    assert_eq!(whole.usage.prompt_tokens, 6);
    assert_eq!(whole.usage.completion_tokens, 3);
    assert_eq!(whole.object, "chat.completion");

    let mut replay = completions.create_stream(ask("remember")).await.unwrap();
    let summary = replay.summary().expect("a cache hit is settled at once");
    assert!(summary.cache_hit);
    assert_eq!(summary.cost_cents, 0.0);
    assert_eq!(read_all(&mut replay).await.unwrap(), "cached words here");

    assert_eq!(fake.request_count(), 1);
    assert_eq!(spent(&client).await, mini_cost(6, 3));
    let status = client.status().await.unwrap();
    assert_eq!(status.cache.hits, 2);
    assert_eq!(
        status.cache.savings,
        mini_cost(6, 3).checked_mul(2).unwrap()
    );
}

#[tokio::test]
async fn a_stream_dropped_early_is_charged_its_reservation() {
    let fake = FakeProvider::start().await;
    fake.enqueue(
        FakeReply::text("many words that arrive slowly one by one")
            .usage(FakeUsage::new(9, 8))
            .chunk_size(40)
            .chunk_delay(Duration::from_millis(200)),
    );
    let client = builder(&fake).build().unwrap();
    let (mut stream, expected) = open_stream(&client, "slow").await;
    let _first = stream.next().await.expect("a first chunk").unwrap();
    drop(stream);

    eventually(|| async { spent(&client).await == expected }).await;
    assert!(reserved(&client).await.is_zero());
    // Nothing incomplete was cached.
    assert!(
        !client
            .chat()
            .completions()
            .create(ask("slow"))
            .await
            .unwrap()
            .cache_hit
    );
}

#[tokio::test]
async fn a_cut_stream_ends_with_an_error_and_is_charged_its_reservation() {
    let fake = FakeProvider::start().await;
    fake.enqueue(
        FakeReply::text("this stream is cut")
            .usage(FakeUsage::new(9, 8))
            .cut_after(300),
    );
    let client = builder(&fake).build().unwrap();
    let (mut stream, expected) = open_stream(&client, "cut").await;
    let error = read_all(&mut stream).await.unwrap_err();

    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert!(
        stream.next().await.is_none(),
        "the stream ends after its error"
    );
    assert_eq!(spent(&client).await, expected);
}

#[tokio::test]
async fn a_refused_stream_costs_nothing() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::error(
        401,
        test_support::fixture("openai/error_401.json"),
    ));
    let client = builder(&fake).build().unwrap();

    let error = client
        .chat()
        .completions()
        .create_stream(ask("no"))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    let status = client.status().await.unwrap();
    assert!(status.budget.total.spent.is_zero());
    assert!(status.budget.total.reserved.is_zero());
}
