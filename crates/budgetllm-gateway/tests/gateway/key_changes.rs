//! A change to a key takes effect on its very next call, on every replica: the gateway starts
//! a call from the key's last record while it reads the record again, and serves or spends
//! nothing until both agree — so a lowered limit, a narrower model list or a revocation made
//! through another replica is never outrun by a call on the old record.

use budgetllm_gateway::{GatewayConfig, KeyUpdate, NewKey, ServeOptions, open_keys};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use test_support::RedisServer;
use test_support::fake_provider::FakeProvider;

use crate::common::{Setup, TestGateway, assert_error, chat_body, start};

#[tokio::test]
async fn a_change_made_on_another_replica_holds_on_the_next_call() {
    let provider = FakeProvider::start().await;
    let redis = RedisServer::start();
    let replica = || {
        start(Setup {
            base_url: provider.base_url(),
            redis_url: Some(redis.url()),
            ..Setup::default()
        })
    };
    let (serving, changing) = (replica().await, replica().await);
    changes_hold_on_the_next_call(&provider, &serving, &changing).await;
}

#[tokio::test]
async fn a_change_made_through_the_admin_api_holds_on_the_next_call() {
    let provider = FakeProvider::start().await;
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    changes_hold_on_the_next_call(&provider, &gw, &gw).await;
}

/// Calls through `serving` (so it has the key's record to start from), changes the key
/// through `changing`, and checks that `serving`'s next calls — cached answers included —
/// follow the change, with nothing sent or spent that the change forbids.
async fn changes_hold_on_the_next_call(
    provider: &FakeProvider,
    serving: &TestGateway,
    changing: &TestGateway,
) {
    let (id, key) = changing
        .create_key(json!({"name": "changing", "total_limit_cents": 100}))
        .await;
    let cached = chat_body("gpt-4o-mini", "remembered");
    let first = serving.chat(&key, &cached).await;
    assert_eq!(first.status(), StatusCode::OK);
    let spent = first.json::<Value>().await.unwrap()["cost_cents"]
        .as_f64()
        .unwrap();
    let hit = serving.chat(&key, &cached).await;
    assert_eq!(hit.headers()["x-budgetllm-cache"], "hit");

    // A lower limit: the next paid call is reserved against it.
    change(
        changing,
        &id,
        json!({"total_limit_cents": spent + 0.000_001}),
    )
    .await;
    let error = assert_error(
        serving
            .chat(&key, &chat_body("gpt-4o-mini", "a new question"))
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "budget_exceeded",
        Some("total_limit_exceeded"),
    )
    .await;
    assert_eq!(error["limit_cents"], spent + 0.000_001);

    // A narrower model list: refused, the cached answer included.
    change(
        changing,
        &id,
        json!({"total_limit_cents": 100, "allowed_models": ["gpt-4o"]}),
    )
    .await;
    assert_error(
        serving.chat(&key, &cached).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
        Some("model_not_allowed"),
    )
    .await;
    change(changing, &id, json!({"allowed_models": null})).await;
    let hit = serving.chat(&key, &cached).await;
    assert_eq!(hit.status(), StatusCode::OK);
    assert_eq!(hit.headers()["x-budgetllm-cache"], "hit");

    // Revoked: neither a cached answer nor a new call, streamed or not.
    let (status, _) = changing
        .admin(Method::DELETE, &format!("/admin/keys/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut streamed = chat_body("gpt-4o-mini", "one more");
    streamed["stream"] = json!(true);
    for body in [&cached, &chat_body("gpt-4o-mini", "another"), &streamed] {
        assert_error(
            serving.chat(&key, body).await,
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            Some("invalid_api_key"),
        )
        .await;
    }

    assert_eq!(provider.request_count(), 1, "only the first call was sent");
    let budget = changing.key_budget(&id).await;
    assert_eq!(budget["total"]["spent_cents"], spent);
    assert_eq!(budget["total"]["reserved_cents"], 0.0);
}

/// `PATCH /admin/keys/{id}` with `update`.
async fn change(gateway: &TestGateway, id: &str, update: Value) {
    let (status, body) = gateway
        .admin(Method::PATCH, &format!("/admin/keys/{id}"), Some(update))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_registry_remembers_what_a_secret_last_authenticated_as_and_forgets_revoked_keys() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        state_path: Some(dir.path().join("state.db")),
        // The registry alone, as `budgetllm keys` opens it.
        no_admin: true,
        ..ServeOptions::default()
    };
    let keys = open_keys(&GatewayConfig::load(options, |_| None).unwrap()).unwrap();
    let created = keys
        .create(NewKey {
            name: "remembered".to_owned(),
            ..NewKey::default()
        })
        .await
        .unwrap();
    let secret = created.key.expose_secret();
    assert!(
        keys.last_authenticated(secret).is_none(),
        "never authenticated"
    );
    assert!(keys.last_authenticated("not-a-virtual-key").is_none());

    let record = keys.authenticate(secret).await.unwrap().unwrap();
    assert_eq!(keys.last_authenticated(secret).as_deref(), Some(&record));
    let debug = format!("{keys:?}");
    assert!(!debug.contains(secret), "{debug}");

    // A change is only seen by the next authentication: the remembered record is a guess.
    let update = KeyUpdate {
        total_limit_cents: Some(Some(5.0)),
        ..KeyUpdate::default()
    };
    let updated = keys.update(&record.id, &update).await.unwrap();
    assert_eq!(keys.last_authenticated(secret).as_deref(), Some(&record));
    assert_eq!(
        keys.authenticate(secret).await.unwrap(),
        Some(updated.clone())
    );
    assert_eq!(keys.last_authenticated(secret).as_deref(), Some(&updated));

    keys.revoke(&record.id).await.unwrap();
    assert_eq!(keys.authenticate(secret).await.unwrap(), None);
    assert!(
        keys.last_authenticated(secret).is_none(),
        "a revoked key is forgotten"
    );
}
