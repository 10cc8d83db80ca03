//! The drop-in promise: OpenAI-shaped calls and answers, parameters passed through untouched,
//! clear errors for bad input and bad configuration, and no secrets in Debug output.

use crate::common::{SECRET_KEY, ask, builder, mini_cost, spent};
use budgetllm::{ChatRequest, Client, Error, Message};
use serde_json::{Value, json};
use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};
use test_support::{fixture, fixture_json};

#[tokio::test]
async fn response_is_the_openai_body_plus_cost_and_cache_hit() {
    let fake = FakeProvider::start().await;
    let body = fixture("openai/chat_completion_response_basic.json");
    fake.enqueue(FakeReply::raw(200, "application/json", body).usage(FakeUsage::new(19, 10)));
    let client = builder(&fake).build().unwrap();

    let response = client
        .chat()
        .completions()
        .create(
            ChatRequest::new("gpt-4o-mini")
                .message(Message::user("Hello!"))
                .max_tokens(100),
        )
        .await
        .unwrap();

    assert_eq!(
        response.content(),
        Some("Hello! How can I assist you today?")
    );
    assert_eq!(response.usage.total_tokens, 29);
    assert!(!response.cache_hit);
    let expected_cost = mini_cost(19, 10);
    assert_eq!(response.cost_cents, expected_cost.cents());

    let mut expected = fixture_json("openai/chat_completion_response_basic.json");
    expected["cost_cents"] = json!(expected_cost.cents());
    expected["cache_hit"] = json!(false);
    assert_eq!(serde_json::to_value(&response).unwrap(), expected);
    assert_eq!(spent(&client).await, expected_cost);
}

#[tokio::test]
async fn seed_parameters_and_unknown_ones_reach_the_provider_but_enable_cache_does_not() {
    let fake = FakeProvider::start().await;
    // A field the price table does not know may carry input: it is refused unless allowed.
    let client = builder(&fake)
        .allow_request_fields(["my_vendor_flag"])
        .build()
        .unwrap();

    let request = ChatRequest::new("gpt-4o-mini")
        .message(Message::system("Be brief."))
        .message(Message::user("Hi"))
        .temperature(0.25)
        .max_tokens(64)
        .top_p(0.5)
        .frequency_penalty(0.75)
        .presence_penalty(-0.5)
        .stop(["END", "STOP"])
        .param("logit_bias", json!({"50256": -100}))
        .param("my_vendor_flag", json!({"nested": [1, 2, 3]}))
        .enable_cache(false);
    client.chat().completions().create(request).await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0].body;
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["temperature"], 0.25);
    assert_eq!(sent["max_tokens"], 64);
    assert_eq!(sent["top_p"], 0.5);
    assert_eq!(sent["frequency_penalty"], 0.75);
    assert_eq!(sent["presence_penalty"], -0.5);
    assert_eq!(sent["stop"], json!(["END", "STOP"]));
    assert_eq!(sent["logit_bias"], json!({"50256": -100}));
    assert_eq!(sent["my_vendor_flag"], json!({"nested": [1, 2, 3]}));
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert!(
        sent.get("enable_cache").is_none(),
        "enable_cache leaked upstream: {sent}"
    );
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
}

#[tokio::test]
async fn a_request_body_written_as_json_works_including_enable_cache() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).build().unwrap();
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "From JSON"}],
        "max_tokens": 20,
        "seed": 7,
        "enable_cache": false,
    });
    let request = ChatRequest::try_from(body).unwrap();
    assert_eq!(request.enable_cache, Some(false));

    client
        .chat()
        .completions()
        .create(request.clone())
        .await
        .unwrap();
    let again = client.chat().completions().create(request).await.unwrap();

    assert!(
        !again.cache_hit,
        "enable_cache: false in the JSON body must bypass the cache"
    );
    assert_eq!(fake.request_count(), 2);
    for recorded in fake.requests() {
        assert_eq!(recorded.body["seed"], 7);
        assert!(recorded.body.get("enable_cache").is_none());
    }
}

#[tokio::test]
async fn ask_uses_gpt_4o_mini_and_charges_the_reported_usage() {
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::text("Machine learning is…").usage(FakeUsage::new(13, 7)));
    let client = builder(&fake).build().unwrap();

    let response = client.ask("What is machine learning?").await.unwrap();

    assert_eq!(response.content(), Some("Machine learning is…"));
    assert_eq!(fake.requests()[0].body["model"], "gpt-4o-mini");
    assert_eq!(
        fake.requests()[0].body["messages"],
        json!([{"role": "user", "content": "What is machine learning?"}])
    );
    assert_eq!(spent(&client).await, mini_cost(13, 7));
}

#[tokio::test]
async fn bad_requests_cost_nothing_and_send_nothing() {
    let fake = FakeProvider::start().await;
    let client = builder(&fake).build().unwrap();

    let empty = client
        .chat()
        .completions()
        .create(ChatRequest::new("gpt-4o-mini"))
        .await;
    assert!(
        matches!(empty, Err(Error::InvalidRequest { .. })),
        "{empty:?}"
    );

    let unknown = client
        .chat()
        .completions()
        .create(ChatRequest::new("no-such-model-xyz").message(Message::user("hi")))
        .await;
    match unknown {
        Err(Error::Pricing(e)) => assert!(e.to_string().contains("no-such-model-xyz"), "{e}"),
        other => panic!("expected a pricing error, got {other:?}"),
    }

    assert_eq!(fake.request_count(), 0);
    assert!(spent(&client).await.is_zero());
}

#[tokio::test]
async fn a_fallback_price_lets_unknown_models_through_at_that_price() {
    use budgetllm::core::Money;
    use budgetllm::pricing::ModelPrice;
    let fake = FakeProvider::start().await;
    fake.enqueue(FakeReply::text("ok").usage(FakeUsage::new(100, 10)));
    let price = ModelPrice::new(Money::from_nanos(1_000), Money::from_nanos(2_000));
    let client = builder(&fake).fallback_price(price).build().unwrap();

    let response = client
        .chat()
        .completions()
        .create(
            ChatRequest::new("my-local-llama")
                .message(Message::user("hi"))
                .max_tokens(10),
        )
        .await
        .unwrap();

    assert_eq!(
        response.cost_cents,
        Money::from_nanos(100 * 1_000 + 10 * 2_000).cents()
    );
}

#[test]
fn builder_errors_name_the_option_and_the_reason() {
    let cases: Vec<(&str, budgetllm::ClientBuilder)> = vec![
        (
            "openai_base_url",
            Client::builder()
                .openai_key("k")
                .openai_base_url("not a url"),
        ),
        (
            "openai_base_url",
            Client::builder()
                .openai_key("k")
                .openai_base_url("ftp://example.com"),
        ),
        (
            "anthropic_base_url",
            Client::builder().openai_key("k").anthropic_base_url("::"),
        ),
        (
            "budget_cents",
            Client::builder().openai_key("k").budget_cents(-1),
        ),
        (
            "daily_limit_cents",
            Client::builder()
                .openai_key("k")
                .daily_limit_cents(f64::NAN),
        ),
        (
            "monthly_limit_cents",
            Client::builder()
                .openai_key("k")
                .monthly_limit_cents(f64::INFINITY),
        ),
        (
            "cache_ttl",
            Client::builder()
                .openai_key("k")
                .cache_ttl(std::time::Duration::ZERO),
        ),
        (
            "cache_max_entries",
            Client::builder().openai_key("k").cache_max_entries(0),
        ),
        (
            "openai_key",
            Client::builder().openai_key("sk-with-newline\n"),
        ),
        (
            "route",
            Client::builder()
                .openai_key("k")
                .route("mistral-", "mistral"),
        ),
        ("namespace", Client::builder().openai_key("k").namespace("")),
    ];
    for (option, builder) in cases {
        match builder.build() {
            Err(Error::Config {
                option: got,
                reason,
            }) => {
                assert_eq!(got, option, "{reason}");
                assert!(!reason.is_empty());
                let message = Error::Config {
                    option: got,
                    reason,
                }
                .to_string();
                assert!(message.contains(option), "{message}");
                assert!(!message.contains("sk-with-newline"), "{message}");
            }
            other => panic!("{option}: expected a config error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn debug_output_never_shows_keys() {
    let fake = FakeProvider::start().await;
    let builder = builder(&fake)
        .anthropic_key("sk-ant-5ecret-do-not-print")
        .anthropic_base_url(fake.anthropic_base_url());
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let client_debug = format!("{client:?} {:#?}", client.clone());
    for debug in [builder_debug, client_debug] {
        assert!(!debug.contains(SECRET_KEY), "{debug}");
        assert!(!debug.contains("5ecret"), "{debug}");
    }
}

#[test]
fn client_is_a_cheap_shareable_handle() {
    fn assert_send_sync_static<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_static::<Client>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
}

#[tokio::test]
async fn unknown_response_fields_are_kept() {
    let fake = FakeProvider::start().await;
    let mut body: Value = fixture_json("openai/chat_completion_response_basic.json");
    body["provider_extension"] = json!({"region": "eu"});
    fake.enqueue(
        FakeReply::raw(200, "application/json", body.to_string()).usage(FakeUsage::new(19, 10)),
    );
    let client = builder(&fake).build().unwrap();
    let response = client.chat().completions().create(ask("hi")).await.unwrap();
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["provider_extension"], json!({"region": "eu"}));
    assert_eq!(json["choices"][0]["message"]["refusal"], Value::Null);
}
