//! [`ReservationGuard`]: a reservation that cannot be forgotten.

use crate::error::{BudgetError, BudgetExceeded};
use crate::ledger::{Reservation, ReservationId, Settlement};
use crate::money::Money;
use crate::tracker::BudgetTracker;

/// A reservation made by [`BudgetTracker::reserve`], to be settled with the actual cost or
/// released.
///
/// If it is dropped instead — the call was cancelled, panicked, or its outcome is unknown — it
/// is charged its **full amount**, never silently freed: on the current tokio runtime a task
/// settles it at once; outside a runtime (or if that task never runs) the ledger's lease expiry
/// charges it. Either way it is charged exactly once.
#[derive(Debug)]
#[must_use = "settle or release the reservation; dropping it charges its full amount"]
pub struct ReservationGuard {
    reservation: Option<Reservation>,
    tracker: BudgetTracker,
}

impl ReservationGuard {
    pub(crate) fn new(reservation: Reservation, tracker: BudgetTracker) -> ReservationGuard {
        ReservationGuard {
            reservation: Some(reservation),
            tracker,
        }
    }

    /// The reservation.
    pub fn reservation(&self) -> &Reservation {
        self.reservation
            .as_ref()
            .expect("a guard holds its reservation until settled, released or dropped")
    }

    /// The ledger's id for it.
    pub fn id(&self) -> ReservationId {
        self.reservation().id
    }

    /// The amount reserved.
    pub fn amount(&self) -> Money {
        self.reservation().amount
    }

    /// Soft mode only: the window this reservation put over its limit.
    pub fn exceeded(&self) -> Option<&BudgetExceeded> {
        self.reservation().exceeded.as_ref()
    }

    /// Settles with the actual cost, in the day and month the reservation was made in.
    ///
    /// If the lease already ran out (and charged the full amount), only the part of `actual`
    /// above the reserved amount is charged now, and [`Settlement::expired`] is `true`.
    /// If the ledger fails, the reservation stays in it and its lease charges it in full.
    pub async fn settle(mut self, actual: Money) -> Result<Settlement, BudgetError> {
        let reservation = self.disarm_at(actual);
        let now = self.tracker.clock().now();
        self.tracker
            .ledger()
            .settle(&reservation, actual, now)
            .await
    }

    /// Frees the reservation without charging it (the spend did not happen).
    pub async fn release(mut self) -> Result<Settlement, BudgetError> {
        let reservation = self.disarm();
        let now = self.tracker.clock().now();
        self.tracker.ledger().release(&reservation, now).await
    }

    /// Settles this reservation and `other` (the pair [`BudgetTracker::reserve_both`] made) at
    /// the same actual cost, each in the periods it was made in — in one atomic step where
    /// their ledgers share a store ([`Ledger::settle_both`](crate::Ledger::settle_both)). Each
    /// settles, or fails, on its own: the results are this one's, then `other`'s. `Money::ZERO`
    /// releases both. Leases that ran out are judged by this guard's clock.
    pub async fn settle_both(
        mut self,
        mut other: ReservationGuard,
        actual: Money,
    ) -> [Result<Settlement, BudgetError>; 2] {
        let (reservation, theirs) = (self.disarm_at(actual), other.disarm_at(actual));
        let now = self.tracker.clock().now();
        self.tracker
            .ledger()
            .settle_both(
                [&reservation, &theirs],
                [actual; 2],
                other.tracker.ledger().as_ref(),
                now,
            )
            .await
    }

    /// Takes the reservation out to settle it at `actual`, warning when that is above the
    /// amount reserved (an estimate too low).
    fn disarm_at(&mut self, actual: Money) -> Reservation {
        let reservation = self.disarm();
        if actual > reservation.amount {
            tracing::warn!(
                reservation = %reservation.id,
                reserved_cents = reservation.amount.cents(),
                actual_cents = actual.cents(),
                "actual cost is above its reservation: the estimate was too low"
            );
        }
        reservation
    }

    fn disarm(&mut self) -> Reservation {
        self.reservation
            .take()
            .expect("a guard holds its reservation until settled, released or dropped")
    }
}

impl Drop for ReservationGuard {
    fn drop(&mut self) {
        let Some(reservation) = self.reservation.take() else {
            return;
        };
        let tracker = self.tracker.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                tracing::warn!(
                    reservation = %reservation.id,
                    amount_cents = reservation.amount.cents(),
                    "reservation dropped without settle or release: charging its full amount"
                );
                runtime.spawn(async move {
                    let now = tracker.clock().now();
                    let charged = tracker
                        .ledger()
                        .settle(&reservation, reservation.amount, now)
                        .await;
                    if let Err(error) = charged {
                        tracing::warn!(
                            reservation = %reservation.id,
                            %error,
                            "could not charge a dropped reservation now; its lease will charge it"
                        );
                    }
                });
            }
            Err(_) => tracing::warn!(
                reservation = %reservation.id,
                amount_cents = reservation.amount.cents(),
                expires_at = %reservation.expires_at,
                "reservation dropped outside a tokio runtime: its lease will charge its full amount"
            ),
        }
    }
}
