//! One server for the tests that run at the same time: started by the first of them, stopped
//! when the last of them ends.
//!
//! Starting a Redis Cluster takes seconds, so the tests of one store share it. A `static`
//! server would never be dropped — and so never stopped — when the test binary exits; here no
//! `static` owns the server, only the running tests do, so it stops with the last one of them.

use std::sync::{Arc, Mutex, PoisonError, Weak};

/// A server shared by the tests that hold it.
pub struct SharedServer<T>(Mutex<Weak<T>>);

impl<T> SharedServer<T> {
    /// No server yet: the first [`SharedServer::get_or_start`] starts one.
    pub const fn new() -> Self {
        SharedServer(Mutex::new(Weak::new()))
    }

    /// The running server, or a new one from `start` when no test holds one; kept running for
    /// as long as the returned handle (or another test's) lives.
    pub fn get_or_start(&self, start: impl FnOnce() -> T) -> Arc<T> {
        // A test that panicked while starting a server leaves no server behind: the next one
        // simply tries again.
        let mut running = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(server) = running.upgrade() {
            return server;
        }
        let server = Arc::new(start());
        *running = Arc::downgrade(&server);
        server
    }
}

impl<T> Default for SharedServer<T> {
    fn default() -> Self {
        SharedServer::new()
    }
}
