//! Counting large requests on the crate's own threads, so an async caller's worker thread is
//! never held up by a long count.
//!
//! The pool does not depend on any async runtime: a job's result is handed back through a
//! future that any executor can await.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

/// The counting threads: one fewer than the available cores, at least one, so a core stays
/// free for the caller's own threads. Jobs wait in order when all are busy, so a flood of
/// large prompts queues up instead of taking every core of the process.
static POOL: LazyLock<Mutex<Sender<Job>>> = LazyLock::new(|| {
    let (sender, receiver) = channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.saturating_sub(1).max(1);
    for index in 0..threads {
        let receiver = Arc::clone(&receiver);
        thread::Builder::new()
            .name(format!("llm-pricing-count-{index}"))
            .spawn(move || run_jobs(&receiver))
            .expect("the operating system refused to start a token counting thread");
    }
    Mutex::new(sender)
});

fn run_jobs(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        match job {
            Ok(job) => job(),
            // The sender lives in a static, so this happens only at process exit.
            Err(_) => return,
        }
    }
}

/// Runs `work` on a counting thread; the returned future completes with its result (and
/// re-raises its panic, if it panicked, in the awaiting task).
pub(crate) fn spawn<T, F>(work: F) -> Pending<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let filled = Arc::clone(&slot);
    let job: Job = Box::new(move || {
        // Nobody waits for the result any more (the caller was cancelled): skip the work.
        if Arc::strong_count(&filled) == 1 {
            return;
        }
        let result = catch_unwind(AssertUnwindSafe(work));
        let waker = {
            let mut slot = filled.lock().unwrap_or_else(PoisonError::into_inner);
            slot.result = Some(result);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    });
    POOL.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(job)
        .expect("the token counting threads stopped; they run until the process exits");
    Pending { slot }
}

/// The result of a job sent to the counting threads.
pub(crate) struct Pending<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

struct Slot<T> {
    result: Option<thread::Result<T>>,
    waker: Option<Waker>,
}

impl<T> Future for Pending<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.result.take() {
            Some(Ok(value)) => Poll::Ready(value),
            Some(Err(panic)) => {
                drop(slot);
                resume_unwind(panic)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
