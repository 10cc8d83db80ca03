//! Temporary timing probe (not part of the project).
use std::time::{Duration, Instant};

use budget_core::{Enforcement, Ledger, Limits, Money, Periods, RedisLedger, ReserveRequest};
use test_support::RedisServer;
use time::{OffsetDateTime, UtcOffset};

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn stats(port: u16) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "INFO", "commandstats"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("evalsha") || l.contains("ping") || l.contains("cmdstat_h") || l.contains("cmdstat_z"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn main() {
    let server = RedisServer::start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ledger = RedisLedger::builder(server.url()).namespace("probe").build().unwrap();
    let now = OffsetDateTime::now_utc();
    let max = Some(Money::from_nanos(i64::MAX as u64));
    let req = ReserveRequest {
        amount: Money::from_nanos(1_000),
        limits: Limits { total: max, daily: max, monthly: max },
        periods: Periods::at(now, UtcOffset::UTC),
        now,
        expires_at: now + Duration::from_secs(600),
        enforcement: Enforcement::Hard,
    };
    let n: usize = std::env::args().nth(1).map_or(5000, |s| s.parse().unwrap());
    rt.block_on(async {
        let mut conn = redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
        for _ in 0..500 {
            let r = ledger.reserve(&req).await.unwrap();
            ledger.settle(&r, Money::from_nanos(500), now).await.unwrap();
            let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
        }
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut conn).await.unwrap();
        let (mut ping, mut res, mut set, mut pair) = (vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let t = Instant::now();
            let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
            ping.push(t.elapsed());
            let t = Instant::now();
            let r = ledger.reserve(&req).await.unwrap();
            let t2 = Instant::now();
            ledger.settle(&r, Money::from_nanos(500), now).await.unwrap();
            res.push(t2 - t);
            set.push(t2.elapsed());
            pair.push(t.elapsed());
        }
        let p = median(&mut ping);
        let q = median(&mut pair);
        eprintln!("ping {:?} reserve {:?} settle {:?} pair {:?} ratio {:.2}", p, median(&mut res), median(&mut set), q, q.as_secs_f64() / p.as_secs_f64());
    });
    eprintln!("{}", stats(server.port()));
}
