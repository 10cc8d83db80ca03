//! Which transport serves which model.

use std::fmt;
use std::sync::Arc;

use llm_transport::Transport;

/// The name of the built-in OpenAI-compatible transport (the default route).
pub const OPENAI: &str = "openai";
/// The name of the built-in Anthropic transport.
pub const ANTHROPIC: &str = "anthropic";

/// Transports by name, in registration order.
pub(crate) type NamedTransports = Vec<(String, Arc<dyn Transport>)>;

/// The provider prefix that selects Anthropic explicitly (`anthropic/claude-…`).
const ANTHROPIC_PREFIX: &str = "anthropic/";

/// A rule that picks the models a transport serves, for
/// [`ClientBuilder::route`](crate::ClientBuilder::route).
///
/// A plain string is a prefix: `.route("mistral-", "mistral")`.
#[derive(Clone)]
pub struct Route(Rule);

#[derive(Clone)]
enum Rule {
    Prefix(String),
    Exact(String),
    Matching(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl Route {
    /// Models whose name starts with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Route {
        Route(Rule::Prefix(prefix.into()))
    }

    /// Exactly this model name.
    pub fn exact(model: impl Into<String>) -> Route {
        Route(Rule::Exact(model.into()))
    }

    /// Models for which `predicate` returns `true`.
    pub fn matching(predicate: impl Fn(&str) -> bool + Send + Sync + 'static) -> Route {
        Route(Rule::Matching(Arc::new(predicate)))
    }

    fn matches(&self, model: &str) -> bool {
        match &self.0 {
            Rule::Prefix(prefix) => model.starts_with(prefix.as_str()),
            Rule::Exact(name) => model == name,
            Rule::Matching(predicate) => predicate(model),
        }
    }
}

impl From<&str> for Route {
    fn from(prefix: &str) -> Route {
        Route::prefix(prefix)
    }
}

impl From<String> for Route {
    fn from(prefix: String) -> Route {
        Route::prefix(prefix)
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Rule::Prefix(prefix) => f.debug_tuple("Route::prefix").field(prefix).finish(),
            Rule::Exact(model) => f.debug_tuple("Route::exact").field(model).finish(),
            Rule::Matching(_) => f.write_str("Route::matching(..)"),
        }
    }
}

/// The transports of a client and the rules that choose between them.
#[derive(Debug)]
pub(crate) struct Router {
    /// Registered transports, by name (built-in ones included).
    transports: NamedTransports,
    /// What identifies each transport's upstream in cache keys: its name, and its base URL
    /// (without credentials) where the client knows it.
    identities: Vec<String>,
    /// User rules (first match wins), as indexes into `transports`.
    rules: Vec<(Route, usize)>,
    /// The built-in Anthropic transport, when configured.
    anthropic: Option<usize>,
    /// Where everything else goes.
    default: usize,
}

/// The transport chosen for a model, and the prefix to take off the model name before sending.
#[derive(Debug)]
pub(crate) struct Selection<'a> {
    pub(crate) transport: &'a Arc<dyn Transport>,
    /// The upstream's identity, for the cache key.
    pub(crate) identity: &'a str,
    pub(crate) strip_prefix: Option<&'static str>,
}

impl Router {
    /// `transports` must contain [`OPENAI`]; `rules` name transports by name; `endpoints`
    /// gives the base URL of the transports whose URL the client knows (the built-in ones).
    pub(crate) fn new(
        transports: NamedTransports,
        rules: Vec<(Route, String)>,
        endpoints: &[(&str, String)],
    ) -> Result<Router, String> {
        let index = |name: &str| transports.iter().position(|(n, _)| n == name);
        let default = index(OPENAI).ok_or_else(|| format!("no `{OPENAI}` transport"))?;
        let anthropic = index(ANTHROPIC);
        let rules = rules
            .into_iter()
            .map(|(route, name)| match index(&name) {
                Some(i) => Ok((route, i)),
                None => Err(format!(
                    "{route:?} names the transport `{name}`, which is not registered; \
                     add it with .transport(\"{name}\", ..)"
                )),
            })
            .collect::<Result<_, _>>()?;
        let identities = transports
            .iter()
            .map(|(name, _)| {
                match endpoints
                    .iter()
                    .find(|(endpoint_name, _)| endpoint_name == name)
                {
                    Some((_, url)) => format!("{name} {}", without_credentials(url)),
                    None => name.clone(),
                }
            })
            .collect();
        Ok(Router {
            transports,
            identities,
            rules,
            anthropic,
            default,
        })
    }

    /// User rules first, then `claude-*` / `anthropic/*` to Anthropic (when configured), then
    /// the OpenAI-compatible default.
    pub(crate) fn select(&self, model: &str) -> Selection<'_> {
        let (index, strip_prefix) = self.choose(model);
        Selection {
            transport: &self.transports[index].1,
            identity: &self.identities[index],
            strip_prefix,
        }
    }

    /// The index of the transport that serves `model`, and the prefix to strip.
    fn choose(&self, model: &str) -> (usize, Option<&'static str>) {
        if let Some((_, i)) = self.rules.iter().find(|(route, _)| route.matches(model)) {
            return (*i, None);
        }
        if let Some(i) = self.anthropic {
            if model.starts_with(ANTHROPIC_PREFIX) {
                return (i, Some(ANTHROPIC_PREFIX));
            }
            if model.starts_with("claude-") {
                return (i, None);
            }
        }
        (self.default, None)
    }
}

/// `url` without a `user:password@` part, so no credential reaches a cache key.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}
