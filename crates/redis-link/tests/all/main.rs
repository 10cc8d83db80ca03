//! The integration tests of `redis-link`, as modules of one test binary (the same layout as
//! every crate of the workspace, so a new test file is a new module, not a new link).

mod tls;
mod urls;
