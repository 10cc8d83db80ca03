//! What the facade's benches share: the runtime they run on and the local fake provider they
//! call.

use tokio::runtime::Runtime;

use test_support::fake_provider::{FakeProvider, FakeReply, FakeUsage};

/// A two-thread runtime (the machine's cores) and, on it, a fake provider answering every
/// request with a short text and `usage` of `prompt_tokens` in and 5 out.
pub(crate) fn runtime_and_provider(prompt_tokens: u64) -> (Runtime, FakeProvider) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let fake = runtime.block_on(FakeProvider::start());
    fake.set_default_reply(
        FakeReply::text("A short answer.").usage(FakeUsage::new(prompt_tokens, 5)),
    );
    (runtime, fake)
}
