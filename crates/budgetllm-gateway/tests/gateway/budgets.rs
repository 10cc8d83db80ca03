//! Where the keys' budgets live on SQLite: each key is a ledger namespace (`key-<id>`) of the
//! state file itself, independent of the other keys, and no file is made per key.

use budget_core::{Ledger, Periods, SqliteLedger};
use reqwest::StatusCode;
use serde_json::json;
use test_support::fake_provider::{FakeProvider, FakeReply};

use crate::common::{Setup, chat_body, start};

#[tokio::test]
async fn each_key_budget_is_a_namespace_of_the_state_file() {
    let provider = FakeProvider::start().await;
    provider.set_default_reply(FakeReply::text("fine"));
    let gw = start(Setup {
        base_url: provider.base_url(),
        ..Setup::default()
    })
    .await;
    let (paying, key) = gw.create_key(json!({"name": "paying"})).await;
    let (idle, _) = gw.create_key(json!({"name": "idle"})).await;

    let response = gw.chat(&key, &chat_body("gpt-4o-mini", "Hello")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let spent = gw.key_budget(&paying).await["total"]["spent_cents"]
        .as_f64()
        .unwrap();
    assert!(spent > 0.0);
    assert_eq!(gw.key_budget(&idle).await["total"]["spent_cents"], 0.0);

    let mut per_key_folder = gw.state_path.clone().into_os_string();
    per_key_folder.push(".keys");
    assert!(
        !std::path::Path::new(&per_key_folder).exists(),
        "no file per key"
    );
    let file = SqliteLedger::builder(&gw.state_path).build().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let periods = Periods::of_date(now.date());
    let in_file = file
        .with_namespace(format!("key-{paying}"))
        .unwrap()
        .snapshot(periods, now)
        .await
        .unwrap();
    assert!(
        (in_file.total.spent.cents() - spent).abs() < 1e-12,
        "the key's spend is in the state file: {in_file:?}"
    );
}
