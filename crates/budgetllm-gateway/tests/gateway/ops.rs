//! `/health`, `/ready`, `/metrics`, `/v1/models` and `/v1/budget`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::fake_provider::FakeProvider;

use crate::common::{Setup, chat_body, start};

#[tokio::test]
async fn health_ready_and_metrics_report_requests_refusals_spend_and_cache() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let get = |path: &str| gw.http.get(format!("{}{path}", gw.url)).send();
    assert_eq!(get("/health").await.unwrap().status(), StatusCode::OK);
    let ready: Value = get("/ready").await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");

    let (id, key) = gw.create_key(json!({"name": "metered"})).await;
    let body = chat_body("gpt-4o-mini", "count me");
    assert_eq!(gw.chat(&key, &body).await.status(), StatusCode::OK);
    assert_eq!(gw.chat(&key, &body).await.status(), StatusCode::OK);
    assert_eq!(
        gw.chat("sk-bllm-wrong", &body).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let response = get("/metrics").await.unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("openmetrics-text")
    );
    let text = response.text().await.unwrap();
    for expected in [
        "budgetllm_gateway_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2",
        "budgetllm_gateway_requests_total{route=\"/v1/chat/completions\",status=\"401\"} 1",
        "budgetllm_gateway_refusals_total{reason=\"invalid_api_key\"} 1",
        "budgetllm_gateway_cache_lookups_total{result=\"hit\"} 1",
        "budgetllm_gateway_cache_lookups_total{result=\"miss\"} 1",
        "budgetllm_gateway_request_duration_seconds_bucket",
        "budgetllm_gateway_overhead_seconds_count 3",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let spend_line =
        format!("budgetllm_gateway_spend_cents_total{{key=\"{id}\",model=\"gpt-4o-mini\"}}");
    assert!(text.contains(&spend_line), "{text}");
    let savings_line =
        format!("budgetllm_gateway_savings_cents_total{{key=\"{id}\",model=\"gpt-4o-mini\"}}");
    assert!(text.contains(&savings_line), "{text}");
    assert!(!text.contains("sk-upstream-secret-never-shown"));
}

#[tokio::test]
async fn models_lists_what_the_key_may_call_with_prices_and_budget_shows_its_status() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (_, key) = gw
        .create_key(
            json!({"name": "narrow", "allowed_models": ["gpt-4o-mini"], "total_limit_cents": 10}),
        )
        .await;
    let models: Value = gw
        .http
        .get(format!("{}/v1/models", gw.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["object"], "list");
    let data = models["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{models}");
    assert_eq!(data[0]["id"], "gpt-4o-mini");
    assert_eq!(data[0]["pricing"]["input_cents_per_million_tokens"], 15.0);
    assert_eq!(data[0]["pricing"]["output_cents_per_million_tokens"], 60.0);

    assert_eq!(
        gw.chat(&key, &chat_body("gpt-4o-mini", "hi"))
            .await
            .status(),
        StatusCode::OK
    );
    let budget: Value = gw
        .http
        .get(format!("{}/v1/budget", gw.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(budget["key"]["name"], "narrow");
    assert_eq!(budget["budget"]["total"]["limit_cents"], 10.0);
    assert!(budget["budget"]["total"]["spent_cents"].as_f64().unwrap() > 0.0);
    assert_eq!(budget["budget"]["paused"], false);
    assert_eq!(budget["cache"]["misses"], 1);
    let unauthorised = gw
        .http
        .get(format!("{}/v1/budget", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), StatusCode::UNAUTHORIZED);
}
