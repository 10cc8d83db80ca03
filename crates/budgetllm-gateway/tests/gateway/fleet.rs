//! Two gateway replicas sharing one Redis and one key budget, hammered concurrently: the limit
//! holds exactly, every answered call is accounted, every refusal is a 429 with the numbers.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::RedisServer;
use test_support::fake_provider::FakeProvider;

use crate::common::{Setup, chat_body, start};

const CALLS: usize = 240;
const LIMIT_CENTS: f64 = 0.05;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_never_let_one_key_overspend() {
    let provider = FakeProvider::start().await;
    let redis = RedisServer::start();
    let replica = || {
        start(Setup {
            base_url: provider.base_url(),
            redis_url: Some(redis.url()),
            // Hundreds of calls at once on a small debug build: room enough that no call
            // fails closed for slowness, so every refusal is the budget's.
            toml: "redis_timeout_ms = 10000\n".to_owned(),
            ..Setup::default()
        })
    };
    let (a, b) = (replica().await, replica().await);
    // A key created on one replica works on the other at once.
    let (id, key) = a
        .create_key(json!({"name": "hammered", "total_limit_cents": LIMIT_CENTS}))
        .await;

    let calls = (0..CALLS).map(|i| {
        let gateway = if i % 2 == 0 { &a } else { &b };
        let key = key.clone();
        async move {
            // Distinct prompts: no call is a cache hit.
            let response = gateway
                .chat(&key, &chat_body("gpt-4o-mini", &format!("call {i}")))
                .await;
            let status = response.status();
            let retry = response.headers().get("x-should-retry").cloned();
            let body: Value = response.json().await.expect("JSON body");
            (status, retry, body)
        }
    });
    let results = join_all(calls).await;

    let mut answered_cents = 0.0;
    let mut answered = 0;
    for (status, retry, body) in &results {
        match *status {
            StatusCode::OK => {
                answered += 1;
                answered_cents += body["cost_cents"].as_f64().unwrap();
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(retry.as_ref().unwrap(), "false");
                let error = &body["error"];
                assert_eq!(error["code"], "total_limit_exceeded", "{body}");
                assert_eq!(error["budget"], "key");
                assert_eq!(error["limit_cents"], LIMIT_CENTS);
                assert!(error["spent_cents"].is_f64() && error["requested_cents"].is_f64());
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        answered > 0 && answered < CALLS,
        "the budget both allowed and refused calls: {answered}"
    );
    let budget = b.key_budget(&id).await;
    let spent = budget["total"]["spent_cents"].as_f64().unwrap();
    assert!(
        spent <= LIMIT_CENTS,
        "spent {spent} over the limit {LIMIT_CENTS}"
    );
    assert!(
        (spent - answered_cents).abs() < 1e-9,
        "spent {spent} = Σ answered {answered_cents}"
    );
    assert_eq!(
        budget["total"]["reserved_cents"], 0.0,
        "nothing left reserved"
    );
    assert_eq!(
        provider.request_count(),
        answered,
        "only answered calls reached the provider"
    );

    // Both replicas see one gateway-wide pause switch.
    let (status, _) = a.admin(Method::POST, "/admin/pause", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, status) = b.admin(Method::GET, "/admin/status", None).await;
    assert_eq!(status["budget"]["paused"], true);
}

#[tokio::test]
async fn a_gateway_on_a_redis_cluster_keeps_keys_and_budgets_there() {
    let provider = FakeProvider::start().await;
    let cluster = test_support::RedisCluster::start();
    let gw = start(Setup {
        base_url: provider.base_url(),
        redis_url: Some(cluster.url()),
        ..Setup::default()
    })
    .await;
    let (id, key) = gw
        .create_key(json!({"name": "clustered", "total_limit_cents": 1}))
        .await;
    let response = gw
        .chat(&key, &chat_body("gpt-4o-mini", "hello cluster"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cost = response.json::<Value>().await.unwrap()["cost_cents"]
        .as_f64()
        .unwrap();
    let spent = gw.key_budget(&id).await["total"]["spent_cents"]
        .as_f64()
        .unwrap();
    assert!((spent - cost).abs() < 1e-9);
}
