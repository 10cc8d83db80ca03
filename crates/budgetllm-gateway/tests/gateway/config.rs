//! Settings: flags over environment over file, and bad settings refused with their name.

use std::collections::HashMap;

use budgetllm_gateway::{CacheScope, ConfigError, GatewayConfig, ServeOptions, StateStore};

fn load(
    options: ServeOptions,
    env: &[(&str, &str)],
    toml: &str,
) -> Result<GatewayConfig, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budgetllm.toml");
    std::fs::write(&path, toml).unwrap();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    GatewayConfig::load(
        ServeOptions {
            config: Some(path),
            ..options
        },
        |name| env.get(name).cloned(),
    )
}

const MASTER: (&str, &str) = ("BUDGETLLM_MASTER_KEY", "a-master-key-long-enough");

#[test]
fn defaults_then_file_then_environment_then_flags() {
    let config = load(ServeOptions::default(), &[MASTER], "").unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8787");
    assert_eq!(
        config.store,
        StateStore::Sqlite {
            path: "budgetllm.db".into()
        }
    );
    assert_eq!(config.cache_scope, CacheScope::Key);
    assert_eq!(config.lease, budget_core::DEFAULT_LEASE);

    let toml = "listen = \"127.0.0.1:1000\"\nstate_path = \"file.db\"\ncache_scope = \"gateway\"\nlease_secs = 90\n[budget]\ndaily_cents = 500\n[openai]\napi_key = \"sk-from-file\"\n";
    let config = load(ServeOptions::default(), &[MASTER], toml).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:1000");
    assert_eq!(
        config.store,
        StateStore::Sqlite {
            path: "file.db".into()
        }
    );
    assert_eq!(config.budget.daily_cents, Some(500.0));
    assert_eq!(config.cache_scope, CacheScope::Gateway);
    assert_eq!(config.lease, std::time::Duration::from_secs(90));
    assert!(config.openai.api_key.is_some());
    assert!(
        !format!("{config:?}").contains("sk-from-file"),
        "secrets never reach Debug"
    );

    let env = [
        MASTER,
        ("BUDGETLLM_LISTEN", "127.0.0.1:2000"),
        ("BUDGETLLM_REDIS_URL", "redis://127.0.0.1:1/0"),
    ];
    let config = load(ServeOptions::default(), &env, toml).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:2000");
    assert!(
        matches!(config.store, StateStore::Redis { .. }),
        "env Redis beats the file's state path"
    );

    let flags = ServeOptions {
        listen: Some("127.0.0.1:3000".into()),
        state_path: Some("flag.db".into()),
        ..ServeOptions::default()
    };
    let config = load(flags, &env, toml).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
    assert_eq!(
        config.store,
        StateStore::Sqlite {
            path: "flag.db".into()
        }
    );
}

#[test]
fn a_bad_setting_is_refused_naming_it() {
    for (toml, env, says) in [
        ("listen = \"nowhere\"\n", vec![MASTER], "listen"),
        (
            "[budget]\ndaily_cents = -1\n",
            vec![MASTER],
            "budget.daily_cents",
        ),
        ("cache_ttl_secs = 0\n", vec![MASTER], "cache_ttl_secs"),
        ("lease_secs = 0\n", vec![MASTER], "lease_secs"),
        ("lease_secs = 99999999999\n", vec![MASTER], "lease_secs"),
        ("colour = \"red\"\n", vec![MASTER], "colour"),
        ("redis_url = \"http://x\"\n", vec![MASTER], "redis_url"),
        ("", vec![], "BUDGETLLM_MASTER_KEY"),
        ("", vec![("BUDGETLLM_MASTER_KEY", "short")], "master_key"),
    ] {
        let error = load(ServeOptions::default(), &env, toml)
            .unwrap_err()
            .to_string();
        assert!(error.contains(says), "{toml:?}: {error}");
        assert!(
            !error.contains("short"),
            "the master key is never echoed: {error}"
        );
    }
    let both = ServeOptions {
        redis_url: Some("redis://h/0".into()),
        state_path: Some("x.db".into()),
        ..ServeOptions::default()
    };
    let error = load(both, &[MASTER], "").unwrap_err().to_string();
    assert!(error.contains("state_path"), "{error}");
    let config = load(
        ServeOptions {
            no_admin: true,
            ..ServeOptions::default()
        },
        &[],
        "",
    )
    .unwrap();
    assert!(config.master_key.is_none());
}
