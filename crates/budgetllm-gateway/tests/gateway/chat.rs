//! `POST /v1/chat/completions`: JSON and streamed answers, their cost, the cache, and the
//! charge of a stream the client walks away from.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::RedisServer;
use test_support::fake_provider::{FakeProvider, FakeReply};

use crate::common::{Setup, chat_body, sse_events, start};

#[tokio::test]
async fn a_call_returns_the_upstream_body_with_its_cost_and_a_repeat_is_a_free_cache_hit() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (id, key) = gw
        .create_key(json!({"name": "agent", "total_limit_cents": 100}))
        .await;

    let response = gw.chat(&key, &chat_body("gpt-4o-mini", "Hello")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from the fake provider."
    );
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let cost = body["cost_cents"].as_f64().unwrap();
    assert!(cost > 0.0, "{body}");
    assert_eq!(body["cache_hit"], false);
    assert_eq!(headers["x-budgetllm-cache"], "miss");
    let header_cost: f64 = headers["x-budgetllm-cost-cents"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(header_cost, cost);
    let remaining: f64 = headers["x-budgetllm-remaining-cents"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (remaining - (100.0 - cost)).abs() < 1e-9,
        "{remaining} vs {cost}"
    );
    // The upstream got the gateway's own key, never the virtual one.
    let sent = &provider.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-upstream-secret-never-shown")
    );

    let again = gw.chat(&key, &chat_body("gpt-4o-mini", "Hello")).await;
    assert_eq!(again.headers()["x-budgetllm-cache"], "hit");
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["cache_hit"], true);
    assert_eq!(body["cost_cents"], 0.0);
    assert_eq!(provider.request_count(), 1, "a hit is not sent upstream");

    let spent = gw.key_budget(&id).await["total"]["spent_cents"]
        .as_f64()
        .unwrap();
    assert!(
        (spent - cost).abs() < 1e-9,
        "the key is charged exactly the answer's cost"
    );
}

#[tokio::test]
async fn each_key_has_its_own_cache_unless_the_gateway_shares_it() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (_, first) = gw.create_key(json!({"name": "a"})).await;
    let (_, second) = gw.create_key(json!({"name": "b"})).await;
    let body = chat_body("gpt-4o-mini", "same question");
    assert_eq!(gw.chat(&first, &body).await.status(), StatusCode::OK);
    let other: Value = gw.chat(&second, &body).await.json().await.unwrap();
    assert_eq!(
        other["cache_hit"], false,
        "one tenant never sees another's answers"
    );
    assert_eq!(provider.request_count(), 2);

    let shared = start(Setup {
        base_url: provider.base_url(),
        toml: "cache_scope = \"gateway\"\n".to_owned(),
        ..Setup::default()
    })
    .await;
    let (_, first) = shared.create_key(json!({"name": "a"})).await;
    let (_, second) = shared.create_key(json!({"name": "b"})).await;
    assert_eq!(shared.chat(&first, &body).await.status(), StatusCode::OK);
    let other: Value = shared.chat(&second, &body).await.json().await.unwrap();
    assert_eq!(
        other["cache_hit"], true,
        "cache_scope = \"gateway\" shares answers"
    );
}

async fn stream_text(
    gw: &crate::common::TestGateway,
    key: &str,
    body: &Value,
) -> (reqwest::header::HeaderMap, Vec<String>) {
    let response = gw.chat(key, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/event-stream");
    (headers, sse_events(&response.text().await.unwrap()))
}

#[tokio::test]
async fn a_stream_ends_with_its_cost_and_carries_usage_only_when_asked() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (id, key) = gw.create_key(json!({"name": "streamer"})).await;

    let mut body = chat_body("gpt-4o-mini", "stream this");
    body["stream"] = json!(true);
    let (headers, events) = stream_text(&gw, &key, &body).await;
    assert_eq!(headers["x-budgetllm-cache"], "miss");
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from the fake provider.");
    let last = chunks.last().unwrap();
    let cost = last["cost_cents"].as_f64().unwrap();
    assert!(cost > 0.0, "{last}");
    assert_eq!(last["cache_hit"], false);
    assert!(
        last.get("usage").is_none_or(Value::is_null),
        "usage only when asked: {last}"
    );
    let upstream = &provider.requests()[0].body;
    assert_eq!(
        upstream["stream_options"]["include_usage"], true,
        "usage is always requested upstream"
    );
    let spent = gw.key_budget(&id).await["total"]["spent_cents"]
        .as_f64()
        .unwrap();
    assert!(
        (spent - cost).abs() < 1e-9,
        "streamed calls are charged at their cost"
    );

    let mut asked = chat_body("gpt-4o-mini", "stream that");
    asked["stream"] = json!(true);
    asked["stream_options"] = json!({"include_usage": true});
    let (_, events) = stream_text(&gw, &key, &asked).await;
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert!(
        last["usage"]["completion_tokens"].as_u64().unwrap() > 0,
        "{last}"
    );
    assert!(last["cost_cents"].as_f64().unwrap() > 0.0);

    // The same request again is answered from the cache, streamed, for free.
    let (headers, events) = stream_text(&gw, &key, &asked).await;
    assert_eq!(headers["x-budgetllm-cache"], "hit");
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(last["cache_hit"], true);
    assert_eq!(last["cost_cents"], 0.0);
    assert_eq!(provider.request_count(), 2);
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_is_charged_never_under_counted() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (id, key) = gw.create_key(json!({"name": "leaver"})).await;
    provider.enqueue(
        FakeReply::text("a long answer ".repeat(50))
            .chunk_size(16)
            .chunk_delay(Duration::from_millis(20)),
    );
    let mut body = chat_body("gpt-4o-mini", "long please");
    body["stream"] = json!(true);
    body["max_tokens"] = json!(400);
    let mut response = gw.chat(&key, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let first = response.chunk().await.unwrap().expect("a first piece");
    assert!(!first.is_empty());
    drop(response);

    // The dropped call is charged its whole reservation, which covers anything billed.
    let mut spent = 0.0;
    for _ in 0..100 {
        spent = gw.key_budget(&id).await["total"]["spent_cents"]
            .as_f64()
            .unwrap();
        if spent > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let billed = provider.billed_total();
    let billed_cents = (billed.prompt_tokens as f64) * 0.15 / 10_000.0
        + (billed.completion_tokens as f64) * 0.60 / 10_000.0;
    assert!(spent > 0.0, "the cut stream was charged");
    assert!(
        spent + 1e-9 >= billed_cents,
        "charged {spent} ≥ billed {billed_cents}"
    );
}

#[tokio::test]
async fn a_stream_cut_upstream_ends_with_an_error_event_and_is_charged() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (id, key) = gw.create_key(json!({"name": "cut"})).await;
    provider.enqueue(
        FakeReply::text("an answer that will not arrive whole")
            .chunk_size(40)
            .cut_after(200),
    );
    let mut body = chat_body("gpt-4o-mini", "cut me off");
    body["stream"] = json!(true);
    let (_, events) = stream_text(&gw, &key, &body).await;
    assert_eq!(events.last().unwrap(), "[DONE]");
    let error: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(error["error"]["type"], "upstream_error", "{error}");
    let spent = gw.key_budget(&id).await["total"]["spent_cents"]
        .as_f64()
        .unwrap();
    assert!(spent > 0.0, "an unknown outcome is charged its reservation");
}

/// `x-budgetllm-remaining-cents` is the smallest amount left across the key's windows and the
/// gateway's: here the gateway's daily limit is the tighter one, then the key's total. A cache
/// hit, as JSON or streamed, reports the same amount (it spent nothing); a paid stream reports
/// the amount with its reservation held. On both stores: on Redis a hit's amount is read
/// alongside the cache lookup, on SQLite after it.
#[tokio::test]
async fn the_remaining_header_is_the_smallest_left_across_key_and_gateway() {
    remaining_header_follows_the_tighter_budget(None).await;
}

#[tokio::test]
async fn the_remaining_header_is_the_smallest_left_across_key_and_gateway_on_redis() {
    let redis = RedisServer::start();
    remaining_header_follows_the_tighter_budget(Some(redis.url())).await;
}

async fn remaining_header_follows_the_tighter_budget(redis_url: Option<String>) {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        redis_url,
        toml: "[budget]\ndaily_cents = 50\n".to_owned(),
        ..Setup::default()
    })
    .await;
    let left_in = |response: &reqwest::Response| -> f64 {
        response.headers()["x-budgetllm-remaining-cents"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    // (key name, its total limit, the limit the header follows, prompt)
    for (name, key_limit, tighter, prompt) in
        [("roomy", 100.0, 50.0, "One"), ("tight", 10.0, 10.0, "Two")]
    {
        let (_, key) = gw
            .create_key(json!({"name": name, "total_limit_cents": key_limit}))
            .await;
        let paid = gw.chat(&key, &chat_body("gpt-4o-mini", prompt)).await;
        let left = left_in(&paid);
        let cost = paid.json::<Value>().await.unwrap()["cost_cents"]
            .as_f64()
            .unwrap();
        assert!(
            (left - (tighter - cost)).abs() < 1e-9,
            "{name}: {left} vs {cost}"
        );

        let hit = gw.chat(&key, &chat_body("gpt-4o-mini", prompt)).await;
        assert_eq!(hit.headers()["x-budgetllm-cache"], "hit");
        assert_eq!(
            left_in(&hit),
            left,
            "{name}: a hit leaves the amount as it was"
        );
        let mut streamed = chat_body("gpt-4o-mini", prompt);
        streamed["stream"] = json!(true);
        let hit = gw.chat(&key, &streamed).await;
        assert_eq!(left_in(&hit), left, "{name}: a streamed hit, too");
        let events = sse_events(&hit.text().await.unwrap());
        assert_eq!(events.last().map(String::as_str), Some("[DONE]"));

        // A paid stream's amount is read as its reservation left it: the whole worst case is
        // held while it streams, at least the call's final cost.
        let mut paid_stream = chat_body("gpt-4o-mini", &format!("{prompt}, streamed"));
        paid_stream["stream"] = json!(true);
        let response = gw.chat(&key, &paid_stream).await;
        let held_left = left_in(&response);
        let events = sse_events(&response.text().await.unwrap());
        let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
        let cost = last["cost_cents"].as_f64().unwrap();
        assert!(cost > 0.0, "{last}");
        assert!(
            held_left <= left - cost + 1e-9,
            "{name}: {held_left} left with the reservation held, {left} before, cost {cost}"
        );
    }
    assert_eq!(
        provider.request_count(),
        4,
        "only the paid calls were sent upstream"
    );
}
