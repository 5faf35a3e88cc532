//! HTTPS and mutual TLS (`trust-anchor`, `cert-file`, `key-file`, `cert-required`), with
//! certificates made by `openssl` for the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use nestor_ctrl_agent::Limits;
use nestor_test_support::{require_tool, run_bounded};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

fn openssl(dir: &Path, args: &[&str]) {
    let mut command = Command::new("openssl");
    command.args(args).current_dir(dir);
    let output = run_bounded(&mut command, Duration::from_secs(30)).unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn make_pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=nestor-test-ca",
    ]);
    openssl(dir, &ca);
    for (name, usage, san) in [
        ("server", "serverAuth", "subjectAltName=IP:127.0.0.1\n"),
        ("client", "clientAuth", ""),
    ] {
        let mut req = vec!["req"];
        req.extend(ec);
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let subj = format!("/CN={name}");
        req.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(dir, &req);
        let ext = format!("{name}.ext");
        std::fs::write(
            dir.join(&ext),
            format!("{san}basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage={usage}\n"),
        )
        .unwrap();
        let pem = format!("{name}.pem");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

fn client_config(dir: &Path, with_cert: bool) -> Arc<ClientConfig> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = if with_cert {
        let chain = CertificateDer::pem_file_iter(dir.join("client.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(dir.join("client.key")).unwrap();
        builder.with_client_auth_cert(chain, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(config)
}

/// Posts `list-commands` over TLS; the raw answer, or the error text.
async fn tls_post(agent: &TestAgent, config: Arc<ClientConfig>) -> Result<String, String> {
    let tcp = tokio::net::TcpStream::connect(agent.addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let body = r#"{"command":"list-commands"}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out)).await {
        Ok(Ok(_)) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timeout".into()),
    }
}

async fn tls_agent(dir: &Path, cert_required: bool) -> TestAgent {
    TestAgent::start(
        json!({
            "trust-anchor": dir.join("ca.pem"),
            "cert-file": dir.join("server.pem"),
            "key-file": dir.join("server.key"),
            "cert-required": cert_required,
        }),
        Limits::default(),
    )
    .await
}

#[tokio::test]
async fn mutual_tls_required() {
    if require_tool("openssl", "openssl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    let agent = tls_agent(dir.path(), true).await;
    let answer = tls_post(&agent, client_config(dir.path(), true))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains(r#""list-commands""#), "{answer}");
    // Without a client certificate the server refuses the handshake: no HTTP answer.
    let refused = tls_post(&agent, client_config(dir.path(), false)).await;
    assert!(
        refused.as_ref().map_or(true, |a| !a.contains("HTTP/1.1")),
        "{refused:?}"
    );
    // Plain HTTP on the TLS port gets nothing either.
    let (bytes, _) = exchange(
        agent.addr,
        &post(r#"{"command":"list-commands"}"#),
        Duration::from_millis(500),
    )
    .await;
    assert!(!String::from_utf8_lossy(&bytes).contains("200 OK"));
    // And the agent still serves a good client afterwards.
    let answer = tls_post(&agent, client_config(dir.path(), true))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}

#[tokio::test]
async fn tls_without_client_certificates() {
    if require_tool("openssl", "openssl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    let agent = tls_agent(dir.path(), false).await;
    for with_cert in [false, true] {
        let answer = tls_post(&agent, client_config(dir.path(), with_cert))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    }
}

#[test]
fn tls_files_are_checked_at_load() {
    let text = json!({"Control-agent": {
        "trust-anchor": "/nonexistent/ca.pem", "cert-file": "/nonexistent/s.pem", "key-file": "/nonexistent/s.key"
    }})
    .to_string();
    let err = nestor_ctrl_agent::Snapshot::from_text(&text, "t")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/s.pem"), "{err}");
}
