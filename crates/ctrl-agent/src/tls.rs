//! HTTPS as kea-ctrl-agent 2.2 configures it: `trust-anchor` (CA file, or a directory of CA
//! files), `cert-file`, `key-file`, all three or none (checked by `nestor-config`), and
//! `cert-required` (default true): when true, a client without a certificate signed by the
//! trust anchor fails the handshake (mutual TLS), as Kea's OpenSSL setup does.
//!
//! rustls with the `ring` provider; TLS 1.2 and 1.3.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nestor_config::AgentConfig;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

/// Why the TLS setup failed; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot load {what} from {path}: {detail}")]
    Load {
        /// `trust-anchor`, `cert-file` or `key-file`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Cause.
        detail: String,
    },
    /// rustls refused the combination (e.g. the key does not match the certificate).
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

/// The acceptor for `config`, or `None` when TLS is not configured.
pub fn acceptor(config: &AgentConfig) -> Result<Option<TlsAcceptor>, TlsError> {
    let (Some(ca), Some(cert), Some(key)) = (
        config.trust_anchor.as_deref(),
        config.cert_file.as_deref(),
        config.key_file.as_deref(),
    ) else {
        return Ok(None);
    };
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let chain = load_certs(Path::new(cert), "cert-file")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Load {
        what: "key-file",
        path: key.into(),
        detail: e.to_string(),
    })?;
    let mut roots = RootCertStore::empty();
    for anchor in load_trust_anchor(Path::new(ca))? {
        roots.add(anchor).map_err(|e| TlsError::Load {
            what: "trust-anchor",
            path: ca.into(),
            detail: e.to_string(),
        })?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let verifier = if config.cert_required {
        builder.build()
    } else {
        builder.allow_unauthenticated().build()
    }
    .map_err(|e| TlsError::Config(e.to_string()))?;
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}

fn load_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |detail: String| TlsError::Load {
        what,
        path: path.to_path_buf(),
        detail,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("no certificate in the file".into()));
    }
    Ok(certs)
}

/// Kea's trust anchor may be a file or a directory (OpenSSL's `CApath`); every PEM file of a
/// directory is read.
fn load_trust_anchor(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    if !path.is_dir() {
        return load_certs(path, "trust-anchor");
    }
    let entries = std::fs::read_dir(path).map_err(|e| TlsError::Load {
        what: "trust-anchor",
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let mut certs = Vec::new();
    for entry in entries.flatten() {
        let file = entry.path();
        if file.is_file() {
            // Hash links and non-PEM files are skipped, as OpenSSL does with what it cannot use.
            if let Ok(mut found) = load_certs(&file, "trust-anchor") {
                certs.append(&mut found);
            }
        }
    }
    if certs.is_empty() {
        return Err(TlsError::Load {
            what: "trust-anchor",
            path: path.to_path_buf(),
            detail: "no certificate in the directory".into(),
        });
    }
    Ok(certs)
}
