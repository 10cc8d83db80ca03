//! The simulated provider the examples run against when no API key is set: a local HTTP
//! server on loopback that answers in OpenAI's wire format and bills plausible token counts.

use budgetllm::{Client, ClientBuilder};
use test_support::fake_provider::FakeProvider;

/// A client builder pointed at a freshly started simulated provider. Keep the provider alive
/// as long as the client is used.
pub(crate) async fn simulated() -> (FakeProvider, ClientBuilder) {
    let provider = FakeProvider::start().await;
    let builder = Client::builder()
        .openai_key("sk-simulated")
        .openai_base_url(provider.base_url());
    (provider, builder)
}
