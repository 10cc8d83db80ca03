//! [`Target`]: which Redis a URL names — one server or a cluster's seed nodes.

use redis::IntoConnectionInfo;

use crate::error::LinkError;
use crate::redact::redact;

/// Cluster URL schemes and the scheme each node is reached with.
const CLUSTER_SCHEMES: [(&str, &str); 2] = [
    ("redis+cluster://", "redis://"),
    ("rediss+cluster://", "rediss://"),
];

/// The one-server URL forms, for error messages.
const EXPECTED: &str = "expected redis://[user:password@]host[:port][/db], rediss://… (TLS), \
                        redis+unix:///path/to/socket, or \
                        redis+cluster://[user:password@]host1:port1,host2:port2,…";

/// Where a store's Redis is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// One server, by URL.
    Single(String),
    /// The seed nodes of a cluster, each a `redis://[auth@]host:port` URL.
    Cluster(Vec<String>),
}

impl Target {
    /// Reads `url`: `redis+cluster://[auth@]h1:p1,h2:p2,…` (or `rediss+cluster://`) as a
    /// cluster whose every node gets the credentials, anything else as one server. Checks
    /// every URL the client would connect to, so a bad one fails here and not on first use.
    pub(crate) fn parse(url: &str) -> Result<Target, LinkError> {
        let invalid = |reason| LinkError::InvalidUrl {
            url: redact(url),
            reason,
        };
        let Some(nodes) = cluster_nodes(url) else {
            // The client's own error may quote the URL, password included: not passed on.
            url.into_connection_info().map_err(|_| invalid(EXPECTED))?;
            return Ok(Target::Single(url.to_owned()));
        };
        for node in &nodes {
            let host = node.split_once("://").map_or("", |(_, rest)| rest);
            if host.is_empty()
                || host.ends_with('@')
                || node.as_str().into_connection_info().is_err()
            {
                return Err(invalid(
                    "a cluster node is not a valid address; expected \
                     redis+cluster://[user:password@]host1:port1,host2:port2,…",
                ));
            }
        }
        Ok(Target::Cluster(nodes))
    }
}

/// The node URLs of a cluster URL (credentials copied to every node), or `None` when `url`
/// names one server.
fn cluster_nodes(url: &str) -> Option<Vec<String>> {
    CLUSTER_SCHEMES.iter().find_map(|(scheme, node_scheme)| {
        let rest = url.strip_prefix(scheme)?;
        let (auth, hosts) = match rest.rsplit_once('@') {
            Some((auth, hosts)) => (format!("{auth}@"), hosts),
            None => (String::new(), rest),
        };
        Some(
            hosts
                .trim_end_matches('/')
                .split(',')
                .map(|host| format!("{node_scheme}{auth}{}", host.trim()))
                .collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_name_every_node_with_the_credentials() {
        assert_eq!(
            Target::parse("redis+cluster://u:pw@h1:7000,h2:7001/").unwrap(),
            Target::Cluster(vec![
                "redis://u:pw@h1:7000".to_owned(),
                "redis://u:pw@h2:7001".to_owned()
            ])
        );
        assert_eq!(
            Target::parse("redis://h1:7000/0").unwrap(),
            Target::Single("redis://h1:7000/0".to_owned())
        );
    }
}
