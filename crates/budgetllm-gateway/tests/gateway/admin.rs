//! The admin API: keys from creation to revocation, and the whole gateway's switch.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::fake_provider::FakeProvider;

use crate::common::{Setup, assert_error, chat_body, start};

#[tokio::test]
async fn keys_are_created_listed_shown_changed_paused_reset_and_revoked() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (status, created) = gw
        .admin(
            Method::POST,
            "/admin/keys",
            Some(json!({
                "name": "search agent",
                "daily_limit_cents": 50,
                "allowed_models": ["gpt-4o-mini", "claude-*"],
                "metadata": {"team": "search"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("sk-bllm-") && secret.len() == 8 + 64,
        "{secret}"
    );
    assert_eq!(created["daily_limit_cents"], 50.0);
    assert_eq!(created["metadata"]["team"], "search");

    // The secret is shown once: never in a list or a detail view.
    let (_, list) = gw.admin(Method::GET, "/admin/keys", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret));
    assert_eq!(list["data"][0]["key_hint"], format!("{}…", &secret[..12]));
    let (_, shown) = gw
        .admin(Method::GET, &format!("/admin/keys/{id}"), None)
        .await;
    assert!(!shown.to_string().contains(&secret));
    assert_eq!(shown["paused"], false);
    assert_eq!(shown["budget"]["daily"]["limit_cents"], 50.0);

    assert_eq!(
        gw.chat(&secret, &chat_body("gpt-4o-mini", "Hi"))
            .await
            .status(),
        StatusCode::OK
    );
    let spent = gw.key_budget(&id).await["daily"]["spent_cents"]
        .as_f64()
        .unwrap();
    assert!(spent > 0.0);

    let (status, patched) = gw
        .admin(
            Method::PATCH,
            &format!("/admin/keys/{id}"),
            Some(
                json!({"name": "renamed", "daily_limit_cents": null, "total_limit_cents": 0.00001}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "renamed");
    assert_eq!(patched["daily_limit_cents"], Value::Null);
    assert_eq!(patched["revision"], 2);
    // The new limit applies to the next call.
    let refused = gw.chat(&secret, &chat_body("gpt-4o-mini", "Again")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);

    let (_, reset) = gw
        .admin(Method::POST, &format!("/admin/keys/{id}/reset"), None)
        .await;
    assert_eq!(reset["budget"]["total"]["spent_cents"], 0.0);

    let (status, bad) = gw
        .admin(
            Method::PATCH,
            &format!("/admin/keys/{id}"),
            Some(json!({"daily_limit_cents": -1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("daily_limit_cents")
    );
    let (status, bad) = gw
        .admin(
            Method::PATCH,
            &format!("/admin/keys/{id}"),
            Some(json!({"colour": "red"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["error"]["message"].as_str().unwrap().contains("colour"));

    let (status, revoked) = gw
        .admin(Method::DELETE, &format!("/admin/keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    let (status, missing) = gw
        .admin(Method::GET, "/admin/keys/key_0000000000000000", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_key_needs_a_name_and_usable_limits() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    for (body, says) in [
        (json!({"name": " "}), "name"),
        (
            json!({"name": "x", "total_limit_cents": -5}),
            "total_limit_cents",
        ),
        (json!({"nme": "typo"}), "nme"),
    ] {
        let response = gw
            .http
            .post(format!("{}/admin/keys", gw.url))
            .bearer_auth(crate::common::MASTER_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = assert_error(
            response,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
        )
        .await;
        assert!(error["message"].as_str().unwrap().contains(says), "{error}");
    }
}
