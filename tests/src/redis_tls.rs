//! A real `redis-server` that also speaks TLS, with a certificate for `localhost` signed by a
//! certificate authority made for it alone, so tests can show that a client verifies the
//! server: it connects when told to trust that authority (`SSL_CERT_FILE`), and refuses
//! otherwise.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::RedisServer;
use crate::redis_server::free_port;

/// A `redis-server` with a TLS port beside its plain one; both stop when it is dropped.
#[derive(Debug)]
pub struct TlsRedisServer {
    server: RedisServer,
    tls_port: u16,
    dir: PathBuf,
}

impl TlsRedisServer {
    /// Makes the authority and the server's certificate, then starts the server and waits
    /// until it answers on its plain port (the TLS port opens with it).
    pub fn start() -> TlsRedisServer {
        let tls_port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "budgetllm-test-redis-tls-{}-{tls_port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create a folder for the certificates");
        write_certificates(&dir);
        let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let server = RedisServer::start_with_args(&[
            "--tls-port",
            &tls_port.to_string(),
            "--tls-cert-file",
            &file("server.pem"),
            "--tls-key-file",
            &file("server.key"),
            "--tls-ca-cert-file",
            &file("ca.pem"),
            "--tls-auth-clients",
            "no",
        ]);
        TlsRedisServer {
            server,
            tls_port,
            dir,
        }
    }

    /// The TLS URL of database 0, by the name the certificate is for:
    /// `rediss://localhost:<port>/0`.
    pub fn url(&self) -> String {
        format!("rediss://localhost:{}/0", self.tls_port)
    }

    /// The plain (`redis://`) URL of the same server.
    pub fn plain_url(&self) -> String {
        self.server.url()
    }

    /// The authority's certificate (PEM): what `SSL_CERT_FILE` names to trust the server.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Another authority's certificate, which signed nothing of this server's: with
    /// `SSL_CERT_FILE` naming it, the server is untrusted whatever the system's store holds.
    pub fn unrelated_ca_file(&self) -> PathBuf {
        self.dir.join("unrelated-ca.pem")
    }
}

impl Drop for TlsRedisServer {
    fn drop(&mut self) {
        self.server.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `ca.pem`, `server.pem` / `server.key` for `localhost` and `127.0.0.1` signed by it,
/// and `unrelated-ca.pem`, an authority of its own.
fn write_certificates(dir: &Path) {
    let ca = authority("BudgetLLM test authority");
    let unrelated = authority("BudgetLLM unrelated authority");

    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server parameters");
    let server_key = KeyPair::generate().expect("a server key");
    let server_cert = server
        .signed_by(&server_key, &ca)
        .expect("the server's certificate");

    for (name, pem) in [
        ("ca.pem", ca.pem()),
        ("server.pem", server_cert.pem()),
        ("server.key", server_key.serialize_pem()),
        ("unrelated-ca.pem", unrelated.pem()),
    ] {
        std::fs::write(dir.join(name), pem).expect("write a certificate file");
    }
}

/// A self-signed certificate authority named `name`.
fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("authority parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("an authority key");
    CertifiedIssuer::self_signed(params, key).expect("the authority's certificate")
}
