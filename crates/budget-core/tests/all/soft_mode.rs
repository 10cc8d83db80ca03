//! Soft mode (`auto_pause(false)`): spend past a limit is allowed and recorded, and the
//! over-limit state is reported — a warning in the log and a flag in the status.

use std::io;
use std::sync::{Arc, Mutex};

use budget_core::{BudgetError, BudgetTracker, Enforcement, LimitType, ManualClock, Money};
use time::macros::datetime;
use tracing_subscriber::fmt::MakeWriter;

fn cents(c: u64) -> Money {
    Money::from_whole_cents(c).unwrap()
}

/// Collects everything logged, to check what the user would see.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Log {
    type Writer = Log;

    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn tracker(auto_pause: bool) -> BudgetTracker {
    BudgetTracker::builder()
        .daily_limit_cents(10.0)
        .auto_pause(auto_pause)
        .clock(Arc::new(ManualClock::new(datetime!(2026-11-29 12:00 UTC))))
        .build()
        .unwrap()
}

#[test]
fn soft_mode_records_past_the_limit_and_reports_it() {
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let tracker = tracker(false);
            assert_eq!(tracker.enforcement(), Enforcement::Soft);
            let first = tracker.reserve(cents(8)).await.unwrap();
            assert!(first.exceeded().is_none());
            tracker.settle(first, cents(8)).await.unwrap();
            assert!(!tracker.status().await.unwrap().over_limit);
            assert!(
                log.text().is_empty(),
                "no warning while under the limit: {}",
                log.text()
            );

            let over = tracker
                .reserve(cents(5))
                .await
                .expect("soft mode allows it");
            let exceeded = *over.exceeded().expect("and says which window is over");
            assert_eq!(exceeded.limit_type, LimitType::Daily);
            assert_eq!(
                (exceeded.spent(), exceeded.limit(), exceeded.requested()),
                (cents(8), cents(10), cents(5))
            );
            assert!(log.text().contains("soft mode"), "warned: {}", log.text());

            tracker.settle(over, cents(5)).await.unwrap();
            let status = tracker.status().await.unwrap();
            assert_eq!(
                status.daily.spent,
                cents(13),
                "the spend past the limit is recorded"
            );
            assert!(status.daily.over_limit && status.over_limit);
            assert_eq!(status.daily.remaining, Some(Money::ZERO));
            assert!(!status.paused, "an exhausted budget is not a pause");
            let json = serde_json::to_value(&status).unwrap();
            assert_eq!(json["over_limit"], true);
            assert_eq!(json["daily"]["over_limit"], true);

            // check_limits still answers truthfully.
            assert!(matches!(
                tracker.check_limits(cents(1)).await,
                Err(BudgetError::BudgetExceeded(_))
            ));
            // Pause is an emergency stop in soft mode too.
            tracker.pause().await.unwrap();
            assert!(matches!(
                tracker.reserve(cents(1)).await,
                Err(BudgetError::Paused)
            ));
        });
    });
}

#[tokio::test]
async fn hard_mode_refuses_the_same_spend() {
    let tracker = tracker(true);
    assert_eq!(tracker.enforcement(), Enforcement::Hard);
    let first = tracker.reserve(cents(8)).await.unwrap();
    tracker.settle(first, cents(8)).await.unwrap();
    let err = tracker.reserve(cents(5)).await.unwrap_err();
    assert!(matches!(err, BudgetError::BudgetExceeded(e) if e.limit_type == LimitType::Daily));
    let status = tracker.status().await.unwrap();
    assert_eq!(status.daily.spent, cents(8));
    assert!(!status.over_limit);
}

#[tokio::test]
async fn recorded_cost_past_the_limit_is_kept_and_flagged_in_either_mode() {
    for auto_pause in [true, false] {
        let tracker = tracker(auto_pause);
        let recorded = tracker.record_cost(cents(12)).await.unwrap();
        assert_eq!(
            recorded.exceeded.map(|e| e.limit_type),
            Some(LimitType::Daily)
        );
        let status = tracker.status().await.unwrap();
        assert_eq!(status.daily.spent, cents(12));
        assert!(status.daily.over_limit);
    }
}
