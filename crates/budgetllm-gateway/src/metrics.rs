//! The gateway's Prometheus metrics (`GET /metrics`, OpenMetrics text).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`]'s output.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SpendLabels {
    key: String,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

type CentsCounter = Counter<f64, AtomicU64>;

/// Every metric the gateway exports, registered once.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    refusals: Family<ReasonLabels, Counter>,
    spend: Family<SpendLabels, CentsCounter>,
    savings: Family<SpendLabels, CentsCounter>,
    cache: Family<CacheLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    overhead: Histogram,
}

/// Latency buckets from 50 µs to about 26 s.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("budgetllm_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "refusals",
            "Calls refused, by reason (budget, pause, key, model, store)",
            refusals.clone(),
        );
        let spend = Family::<SpendLabels, CentsCounter>::default();
        registry.register(
            "spend_cents",
            "What answered calls cost, in cents, by key and model",
            spend.clone(),
        );
        let savings = Family::<SpendLabels, CentsCounter>::default();
        registry.register(
            "savings_cents",
            "What cached answers would have cost, in cents, by key and model",
            savings.clone(),
        );
        let cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_lookups",
            "Chat completions answered from the cache (hit) or by the provider (miss)",
            cache.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(latency_buckets);
        registry.register(
            "request_duration_seconds",
            "Time from request to response head, by route",
            latency.clone(),
        );
        let overhead = latency_buckets();
        registry.register(
            "overhead_seconds",
            "Time a chat completion spent in the gateway outside the facade call \
             (authentication, key lookup, parsing, answering)",
            overhead.clone(),
        );
        Metrics {
            registry,
            requests,
            refusals,
            spend,
            savings,
            cache,
            latency,
            overhead,
        }
    }

    pub(crate) fn request(&self, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn refusal(&self, reason: &str) {
        self.refusals
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// An answered call: its cost, or for a cache hit what it would have cost.
    pub(crate) fn answered(&self, key: &str, model: &str, cache_hit: bool, cents: f64) {
        let labels = SpendLabels {
            key: key.to_owned(),
            model: model.to_owned(),
        };
        let (counter, result) = if cache_hit {
            (&self.savings, "hit")
        } else {
            (&self.spend, "miss")
        };
        counter.get_or_create(&labels).inc_by(cents);
        self.cache.get_or_create(&CacheLabels { result }).inc();
    }

    pub(crate) fn overhead(&self, elapsed: Duration) {
        self.overhead.observe(elapsed.as_secs_f64());
    }

    /// The metrics in OpenMetrics text (which Prometheus scrapes natively).
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
