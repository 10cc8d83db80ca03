//! Cache keys: what changes them and what must not.

use prompt_cache::{CacheKey, KEY_FORMAT_VERSION, TRANSPORT_ONLY_FIELDS};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use test_support::{fixture, fixture_json};

const REQUEST_FIXTURES: &[&str] = &[
    "openai/chat_completion_request_basic.json",
    "openai/chat_completion_request_multimodal.json",
    "openai/chat_completion_request_response_format.json",
    "openai/chat_completion_request_tools.json",
];

fn key(request: &Value) -> CacheKey {
    CacheKey::new("test", request)
}

/// `value` with every object's keys in reverse order (a map that keeps insertion order keeps
/// it; the default map re-sorts, which the key must be indifferent to either way).
fn reversed(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter().rev() {
                out.insert(k.clone(), reversed(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

fn with(request: &Value, field: &str, value: Value) -> Value {
    let mut changed = request.clone();
    changed
        .as_object_mut()
        .expect("fixture requests are objects")
        .insert(field.to_owned(), value);
    changed
}

#[test]
fn field_order_and_whitespace_never_change_the_key() {
    for name in REQUEST_FIXTURES {
        let pretty = fixture(name);
        let request: Value = serde_json::from_str(&pretty).expect("fixture is JSON");
        let compact: Value =
            serde_json::from_str(&serde_json::to_string(&request).expect("serialises"))
                .expect("JSON");
        let base = key(&request);
        assert_eq!(base, key(&compact), "{name}: whitespace");
        assert_eq!(base, key(&reversed(&request)), "{name}: key order");
        // The raw text, re-indented differently, is still the same request.
        let reindented = pretty.replace("\n", "\n\t\t").replace(": ", ":\t");
        let reparsed: Value = serde_json::from_str(&reindented).expect("still JSON");
        assert_eq!(base, key(&reparsed), "{name}: re-indented text");
    }
}

#[test]
fn field_order_in_the_raw_text_never_changes_the_key() {
    let a: Value = serde_json::from_str(
        r#"{"model":"gpt-4o-mini","temperature":0.5,"messages":[{"role":"user","content":"Hi"}]}"#,
    )
    .expect("JSON");
    let b: Value = serde_json::from_str(
        r#"{ "messages" : [ { "content" : "Hi" , "role" : "user" } ] ,
             "temperature" : 0.5 , "model" : "gpt-4o-mini" }"#,
    )
    .expect("JSON");
    assert_eq!(key(&a), key(&b));
}

#[test]
fn every_output_affecting_parameter_changes_the_key() {
    let base_request = fixture_json("openai/chat_completion_request_basic.json");
    let base = key(&base_request);
    let tools = fixture_json("openai/chat_completion_request_tools.json")["tools"].clone();
    let response_format =
        fixture_json("openai/chat_completion_request_response_format.json")["response_format"]
            .clone();
    let changes = [
        ("model", json!("gpt-4o")),
        (
            "messages",
            json!([{"role": "user", "content": "Hello, assistant!"}]),
        ),
        ("tools", tools),
        ("tool_choice", json!("required")),
        ("response_format", response_format),
        ("seed", json!(42)),
        ("temperature", json!(0.2)),
        ("top_p", json!(0.9)),
        ("stop", json!(["\n"])),
        ("max_tokens", json!(100)),
        ("max_completion_tokens", json!(100)),
        ("n", json!(2)),
        ("logit_bias", json!({"50256": -100})),
        ("frequency_penalty", json!(0.5)),
        ("presence_penalty", json!(0.5)),
        ("logprobs", json!(true)),
        ("reasoning_effort", json!("low")),
        ("some_future_parameter", json!({"anything": 1})),
    ];
    let mut seen = vec![base.clone()];
    for (field, value) in changes {
        let changed = key(&with(&base_request, field, value));
        assert_ne!(changed, base, "changing `{field}` must change the key");
        assert!(
            !seen.contains(&changed),
            "`{field}` collides with another change"
        );
        seen.push(changed);
    }
}

#[test]
fn changing_a_value_deep_inside_a_parameter_changes_the_key() {
    let request = fixture_json("openai/chat_completion_request_tools.json");
    let mut changed = request.clone();
    changed["tools"][0]["function"]["parameters"]["properties"]["unit"]["enum"][0] =
        json!("kelvin");
    assert_ne!(key(&request), key(&changed));
    let mut changed = request.clone();
    changed["messages"][0]["content"] = json!("What is the weather like in Boston today? ");
    assert_ne!(key(&request), key(&changed));
}

#[test]
fn transport_only_fields_never_change_the_key() {
    assert_eq!(
        TRANSPORT_ONLY_FIELDS,
        ["stream", "stream_options", "user", "enable_cache"]
    );
    for name in REQUEST_FIXTURES {
        let request = fixture_json(name);
        let base = key(&request);
        let mut noisy = with(&request, "stream", json!(true));
        noisy = with(&noisy, "stream_options", json!({"include_usage": true}));
        noisy = with(&noisy, "user", json!("user-1234"));
        noisy = with(&noisy, "enable_cache", json!(true));
        assert_eq!(key(&noisy), base, "{name}");
    }
}

#[test]
fn namespaces_separate_keys_and_show_in_the_prefix() {
    let request = fixture_json("openai/chat_completion_request_basic.json");
    let a = CacheKey::new("project-a", &request);
    let b = CacheKey::new("project-b", &request);
    assert_ne!(a, b);
    assert_eq!(a.digest_hex(), b.digest_hex());
    assert_eq!(a.namespace(), "project-a");
    assert_eq!(
        a.as_str(),
        format!(
            "{{budgetllm:project-a}}:cache:v{KEY_FORMAT_VERSION}:{}",
            a.digest_hex()
        )
    );
    assert_eq!(a.to_string(), a.as_str());
}

#[test]
fn numbers_equal_in_json_give_one_key() {
    let parse = |text: &str| -> Value { serde_json::from_str(text).expect("JSON") };
    let base = key(&parse(
        r#"{"model":"m","temperature":1,"max_tokens":100,"top_p":0.5}"#,
    ));
    for spelling in [
        r#"{"model":"m","temperature":1.0,"max_tokens":100,"top_p":0.5}"#,
        r#"{"model":"m","temperature":1e0,"max_tokens":1e2,"top_p":5e-1}"#,
        r#"{"model":"m","temperature":1.00,"max_tokens":100.0,"top_p":0.50}"#,
    ] {
        assert_eq!(key(&parse(spelling)), base, "{spelling}");
    }
    assert_ne!(
        key(&parse(
            r#"{"model":"m","temperature":1.5,"max_tokens":100,"top_p":0.5}"#
        )),
        base
    );
}

#[test]
fn the_digest_is_sha256_of_the_documented_canonical_form() {
    // Written out by hand from the documented rules: sorted keys, no whitespace, integral
    // numbers as integers, transport-only fields dropped.
    let request = json!({"stream": true, "model": "m", "temperature": 1.0,
                         "messages": [{"role": "user", "content": "a\"b"}]});
    let canonical =
        r#"{"messages":[{"content":"a\"b","role":"user"}],"model":"m","temperature":1}"#;
    use sha2::{Digest, Sha256};
    assert_eq!(
        key(&request).digest_hex(),
        hex::encode(Sha256::digest(canonical))
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1.0e6f64..1.0e6).prop_map(|f| json!(f)),
        "[a-z\"\\\\\n é]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn key_is_a_function_of_the_json_value_only(
        fields in prop::collection::btree_map("[a-z_]{1,8}", json_value(), 1..6),
    ) {
        let request = Value::Object(fields.into_iter().collect());
        let text = serde_json::to_string_pretty(&reversed(&request)).expect("serialises");
        let reparsed: Value = serde_json::from_str(&text).expect("round trips");
        prop_assert_eq!(key(&request), key(&reparsed));
    }

    #[test]
    fn different_requests_have_different_keys(a in json_value(), b in json_value()) {
        let (a, b) = (json!({"p": a}), json!({"p": b}));
        prop_assume!(a != b);
        prop_assert_ne!(key(&a), key(&b));
    }
}
