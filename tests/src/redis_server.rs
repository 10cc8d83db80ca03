//! A real `redis-server` for tests: started on a free loopback port with persistence off,
//! stoppable and restartable on the same port (for fault tests), killed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a freshly started server may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` process owned by one test.
///
/// It listens on `127.0.0.1` only, on a port that was free when it started, with RDB and AOF
/// persistence off (so a restart comes back empty, like a crash of an unpersisted Redis). It
/// never connects to, or stops, a Redis it did not start.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    extra_args: Vec<String>,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers `PING`.
    ///
    /// Panics with a message naming the fix when `redis-server` is not installed.
    pub fn start() -> RedisServer {
        Self::start_with_args(&[])
    }

    /// Like [`RedisServer::start`], with extra `redis-server` arguments
    /// (e.g. `["--cluster-enabled", "yes"]`).
    pub fn start_with_args(extra_args: &[&str]) -> RedisServer {
        let mut last_error = String::new();
        // A free port can be taken by someone else between our probe and the server's bind;
        // a few attempts make that race irrelevant.
        for _ in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "budgetllm-test-redis-{}-{port}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).expect("create a temporary directory for redis-server");
            let server = RedisServer {
                port,
                extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
                dir,
                child: Mutex::new(None),
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    /// The URL of database 0, e.g. `redis://127.0.0.1:6390/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL, like a crash) and waits for it to exit.
    pub fn stop(&self) {
        let mut child = self.child.lock().expect("redis child lock");
        if let Some(mut c) = child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers `PING`.
    pub fn restart(&self) {
        self.stop();
        let deadline = Instant::now() + READY_TIMEOUT;
        // The old socket may linger for a moment after the kill; retry until the port is ours.
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!("could not restart redis-server: {e}")
                }
                Err(_) => sleep(Duration::from_millis(50)),
            }
        }
    }

    /// The server's process id while it runs (e.g. to read its CPU time from `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.child
            .lock()
            .expect("redis child lock")
            .as_ref()
            .map(Child::id)
    }

    /// Whether the server process is running (it was started and not stopped).
    pub fn is_running(&self) -> bool {
        self.child.lock().expect("redis child lock").is_some()
    }

    fn spawn(&self) -> Result<(), String> {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--protected-mode", "yes"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn().map_err(|e| {
            format!("redis-server could not be run ({e}); install it (Debian: apt-get install redis-server)")
        })?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if ping(self.port) {
                *self.child.lock().expect("redis child lock") = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server exited at start with {status}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "redis-server did not answer PING on port {}",
                    self.port
                ));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port that is free on the loopback interface now, and whose cluster-bus port
/// (`port + 10000`) is free too, so the same helper serves cluster nodes.
pub(crate) fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// Sends `PING` and checks for `+PONG`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_stops_and_restarts_on_the_same_port() {
        let server = RedisServer::start();
        let port = server.port();
        assert!(ping(port));
        assert!(server.url().ends_with(&format!(":{port}/0")));
        server.stop();
        assert!(!server.is_running());
        assert!(!ping(port));
        server.restart();
        assert!(server.is_running());
        assert_eq!(server.port(), port);
        assert!(ping(port));
    }

    #[test]
    fn drop_kills_the_server() {
        let port = {
            let server = RedisServer::start();
            server.port()
        };
        assert!(!ping(port));
    }
}
