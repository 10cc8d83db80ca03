//! Every row of the error table, in OpenAI's error shape.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::RedisServer;
use test_support::fake_provider::{FakeProvider, FakeReply};

use crate::common::{Setup, assert_error, chat_body, start};

#[tokio::test]
async fn a_key_budget_refusal_is_a_final_429_naming_the_key_with_its_numbers() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (id, key) = gw
        .create_key(json!({"name": "tiny", "daily_limit_cents": 0.0001}))
        .await;
    let response = gw.chat(&key, &chat_body("gpt-4o-mini", "Hello")).await;
    assert_eq!(response.headers()["x-should-retry"], "false");
    let error = assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "budget_exceeded",
        Some("daily_limit_exceeded"),
    )
    .await;
    assert_eq!(error["budget"], "key");
    assert_eq!(error["key_id"], id.as_str());
    assert_eq!(error["limit_type"], "daily");
    assert_eq!(error["limit_cents"], 0.0001);
    assert_eq!(error["spent_cents"], 0.0);
    assert!(error["requested_cents"].as_f64().unwrap() > 0.0001);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&id) && message.contains("daily"),
        "{message}"
    );
    assert_eq!(provider.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn a_gateway_budget_refusal_names_the_gateway_and_leaks_nothing_in_the_key() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        toml: "[budget]\ntotal_cents = 0.0001\n".to_owned(),
        ..Setup::default()
    })
    .await;
    let (id, key) = gw
        .create_key(json!({"name": "roomy", "total_limit_cents": 100}))
        .await;
    let response = gw.chat(&key, &chat_body("gpt-4o-mini", "Hello")).await;
    assert_eq!(response.headers()["x-should-retry"], "false");
    let error = assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "budget_exceeded",
        Some("total_limit_exceeded"),
    )
    .await;
    assert_eq!(error["budget"], "gateway");
    assert!(error["message"].as_str().unwrap().contains("gateway"));
    let budget = gw.key_budget(&id).await;
    assert_eq!(budget["total"]["spent_cents"], 0.0);
    assert_eq!(
        budget["total"]["reserved_cents"], 0.0,
        "the key's reservation was released"
    );
    assert_eq!(provider.request_count(), 0);
}

#[tokio::test]
async fn a_paused_key_or_gateway_is_a_final_429_and_resume_lets_calls_through() {
    paused_budgets_refuse_calls_and_cached_answers(None).await;
}

/// On Redis a cache hit reads the pause flags alongside its lookup: they still stop it.
#[tokio::test]
async fn a_paused_key_or_gateway_is_a_final_429_on_redis_too() {
    let redis = RedisServer::start();
    paused_budgets_refuse_calls_and_cached_answers(Some(redis.url())).await;
}

async fn paused_budgets_refuse_calls_and_cached_answers(redis_url: Option<String>) {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        redis_url,
        ..Setup::default()
    })
    .await;
    let (id, key) = gw.create_key(json!({"name": "pausable"})).await;
    let body = chat_body("gpt-4o-mini", "Hello");

    let (status, details) = gw
        .admin(Method::POST, &format!("/admin/keys/{id}/pause"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(details["paused"], true);
    let response = gw.chat(&key, &body).await;
    assert_eq!(response.headers()["x-should-retry"], "false");
    let error = assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "budget_paused",
        Some("key_paused"),
    )
    .await;
    assert_eq!(error["key_id"], id.as_str());
    gw.admin(Method::POST, &format!("/admin/keys/{id}/resume"), None)
        .await;
    assert_eq!(gw.chat(&key, &body).await.status(), StatusCode::OK);
    // The answer is cached now; pausing the key stops the cached answer too.
    gw.admin(Method::POST, &format!("/admin/keys/{id}/pause"), None)
        .await;
    let response = gw.chat(&key, &body).await;
    assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "budget_paused",
        Some("key_paused"),
    )
    .await;
    gw.admin(Method::POST, &format!("/admin/keys/{id}/resume"), None)
        .await;
    let response = gw.chat(&key, &body).await;
    assert_eq!(response.headers()["x-budgetllm-cache"], "hit");

    let (status, _) = gw.admin(Method::POST, "/admin/pause", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, status_body) = gw.admin(Method::GET, "/admin/status", None).await;
    assert_eq!(status_body["budget"]["paused"], true);
    // Pause stops cached answers too.
    let response = gw.chat(&key, &body).await;
    assert_eq!(response.headers()["x-should-retry"], "false");
    let error = assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "budget_paused",
        Some("gateway_paused"),
    )
    .await;
    assert_eq!(error["budget"], "gateway");
    gw.admin(Method::POST, "/admin/resume", None).await;
    assert_eq!(gw.chat(&key, &body).await.status(), StatusCode::OK);
    assert_eq!(
        provider.request_count(),
        1,
        "only the first answer went upstream"
    );
}

#[tokio::test]
async fn missing_unknown_revoked_and_expired_keys_are_401() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let body = chat_body("gpt-4o-mini", "Hello");
    let unauthenticated = gw
        .http
        .post(format!("{}/v1/chat/completions", gw.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(
        unauthenticated,
        StatusCode::UNAUTHORIZED,
        "authentication_error",
        Some("invalid_api_key"),
    )
    .await;
    let unknown = gw.chat(&format!("sk-bllm-{}", "0".repeat(64)), &body).await;
    assert_error(
        unknown,
        StatusCode::UNAUTHORIZED,
        "authentication_error",
        Some("invalid_api_key"),
    )
    .await;

    let (id, key) = gw.create_key(json!({"name": "doomed"})).await;
    assert_eq!(gw.chat(&key, &body).await.status(), StatusCode::OK);
    let (status, revoked) = gw
        .admin(Method::DELETE, &format!("/admin/keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    assert_error(
        gw.chat(&key, &body).await,
        StatusCode::UNAUTHORIZED,
        "authentication_error",
        Some("invalid_api_key"),
    )
    .await;

    let (_, expired) = gw
        .create_key(json!({"name": "old", "expires_at": "2020-01-01T00:00:00Z"}))
        .await;
    assert_error(
        gw.chat(&expired, &body).await,
        StatusCode::UNAUTHORIZED,
        "authentication_error",
        Some("invalid_api_key"),
    )
    .await;
    assert_eq!(provider.request_count(), 1);
}

#[tokio::test]
async fn models_outside_the_key_list_are_403_and_unpriced_models_400_with_nothing_sent() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (_, key) = gw
        .create_key(json!({"name": "mini only", "allowed_models": ["gpt-4o-mini"]}))
        .await;
    let error = assert_error(
        gw.chat(&key, &chat_body("gpt-4o", "Hello")).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
        Some("model_not_allowed"),
    )
    .await;
    assert_eq!(error["param"], "model");

    let (_, open) = gw.create_key(json!({"name": "any"})).await;
    let error = assert_error(
        gw.chat(&open, &chat_body("no-such-model-anywhere", "Hello"))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("model_not_found"),
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no-such-model-anywhere")
    );
    assert_eq!(provider.request_count(), 0, "nothing was sent upstream");
}

#[tokio::test]
async fn malformed_bodies_are_400_saying_what_is_wrong() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (_, key) = gw.create_key(json!({"name": "sloppy"})).await;
    let send = |body: &'static str| {
        gw.http
            .post(format!("{}/v1/chat/completions", gw.url))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (body, says) in [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (
            r#"{"model": 5, "messages": []}"#,
            "not a chat completion request",
        ),
        (r#"{"model": "gpt-4o-mini", "messages": []}"#, "no messages"),
    ] {
        let error = assert_error(
            send(body).await.unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
        )
        .await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(provider.request_count(), 0);
}

#[tokio::test]
async fn upstream_errors_pass_through_with_their_status_and_release_the_reservation() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (id, key) = gw.create_key(json!({"name": "unlucky"})).await;
    provider.enqueue(FakeReply::error(
        400,
        r#"{"error":{"message":"This model's maximum context length is 5 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    ));
    let response = gw.chat(&key, &chat_body("gpt-4o-mini", "Hello")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "context_length_exceeded");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["param"], "messages");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum context length")
    );
    let budget = gw.key_budget(&id).await;
    assert_eq!(budget["total"]["spent_cents"], 0.0);
    assert_eq!(budget["total"]["reserved_cents"], 0.0);
}

#[tokio::test]
async fn an_unreachable_store_fails_closed_with_503() {
    let provider = FakeProvider::start().await;
    let redis = RedisServer::start();
    let gw = start(Setup {
        base_url: provider.base_url(),
        redis_url: Some(redis.url()),
        toml: "redis_timeout_ms = 300\n".to_owned(),
        ..Setup::default()
    })
    .await;
    let (_, key) = gw.create_key(json!({"name": "fleet"})).await;
    assert_eq!(
        gw.chat(&key, &chat_body("gpt-4o-mini", "Hello"))
            .await
            .status(),
        StatusCode::OK
    );
    redis.stop();
    let error = assert_error(
        gw.chat(&key, &chat_body("gpt-4o-mini", "Hello again"))
            .await,
        StatusCode::SERVICE_UNAVAILABLE,
        "budget_store_unavailable",
        Some("budget_store_unavailable"),
    )
    .await;
    assert!(error["message"].as_str().unwrap().contains("unavailable"));
    let ready = gw
        .http
        .get(format!("{}/ready", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        provider.request_count(),
        1,
        "nothing is let through unmetered"
    );
    redis.restart();
    let mut ready = false;
    for _ in 0..50 {
        let response = gw
            .http
            .get(format!("{}/ready", gw.url))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the gateway is ready again once Redis is back");
}

#[tokio::test]
async fn the_admin_api_needs_the_master_key_and_is_absent_with_no_admin() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    for token in [None, Some("wrong-master-key-000000"), Some("sk-bllm-nope")] {
        let mut request = gw.http.get(format!("{}/admin/keys", gw.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        assert_error(
            request.send().await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            Some("invalid_api_key"),
        )
        .await;
    }
    let closed = start(Setup {
        base_url: provider.base_url(),
        no_admin: true,
        ..Setup::default()
    })
    .await;
    let response = closed
        .http
        .get(format!("{}/admin/keys", closed.url))
        .bearer_auth(crate::common::MASTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
