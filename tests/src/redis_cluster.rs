//! A local Redis Cluster of three masters for tests, built from [`RedisServer`]s.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::RedisServer;

/// How long the cluster may take to agree on its slots after `redis-cli --cluster create`.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(20);

/// Three `redis-server --cluster-enabled yes` masters on free loopback ports, joined with
/// `redis-cli --cluster create` so every hash slot is served. Killed when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three masters, creates the cluster and waits until every node reports
    /// `cluster_state:ok`.
    ///
    /// Panics with a message naming the fix when `redis-server` or `redis-cli` is missing.
    pub fn start() -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                RedisServer::start_with_args(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "2000",
                ])
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| {
                panic!("redis-cli could not be run ({e}); install it (Debian: apt-get install redis-tools)")
            });
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok();
        cluster
    }

    /// The node URLs, e.g. `["redis://127.0.0.1:7000", …]`, for a cluster client.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port()))
            .collect()
    }

    /// One URL naming every node: `redis+cluster://127.0.0.1:7000,127.0.0.1:7001,…`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    fn wait_until_ok(&self) {
        let deadline = Instant::now() + CONVERGE_TIMEOUT;
        for node in &self.nodes {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &node.port().to_string(), "cluster", "info"])
                    .output()
                    .expect("run redis-cli cluster info");
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "Redis Cluster did not reach cluster_state:ok in {CONVERGE_TIMEOUT:?}"
                );
                sleep(Duration::from_millis(100));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_serves_every_slot() {
        let cluster = RedisCluster::start();
        assert_eq!(cluster.urls().len(), 3);
        assert!(cluster.url().starts_with("redis+cluster://127.0.0.1:"));
        let port = cluster.urls()[0].rsplit(':').next().unwrap().to_string();
        let out = Command::new("redis-cli")
            .args(["-p", &port, "cluster", "info"])
            .output()
            .unwrap();
        let info = String::from_utf8_lossy(&out.stdout);
        assert!(info.contains("cluster_slots_assigned:16384"), "{info}");
        assert!(info.contains("cluster_known_nodes:3"), "{info}");
    }
}
