//! Access to the recorded provider payloads kept in `tests/fixtures/`.

use std::path::PathBuf;

/// The path of a fixture file, relative to `tests/fixtures/` (e.g. `"openai/error_401.json"`).
pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative)
}

/// The text of a fixture file. Panics with the path when it is missing (a broken checkout).
pub fn fixture(relative: &str) -> String {
    let path = fixture_path(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// A fixture file parsed as JSON. Panics when it is not JSON.
pub fn fixture_json(relative: &str) -> serde_json::Value {
    serde_json::from_str(&fixture(relative))
        .unwrap_or_else(|e| panic!("fixture {relative} is not JSON: {e}"))
}
