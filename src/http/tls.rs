//! HTTPS without a proxy: a rustls server configuration from PEM files, and the
//! `Strict-Transport-Security` header every response then carries.

use std::path::Path;
use std::sync::Arc;

use actix_web::http::header::{HeaderName, HeaderValue, STRICT_TRANSPORT_SECURITY};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

/// HSTS of HTTPS responses: one year, this host only (a subdomain may serve plain
/// HTTP for all Roster knows).
pub const HSTS: (HeaderName, HeaderValue) = (
    STRICT_TRANSPORT_SECURITY,
    HeaderValue::from_static("max-age=31536000"),
);

/// Why the certificate or key cannot be served.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain {path}: {cause}")]
    Certificate { path: String, cause: pem::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("cannot read a PEM private key from {path}: {cause}")]
    Key { path: String, cause: pem::Error },
    #[error("the certificate and key cannot be served: {0}")]
    Rejected(#[from] rustls::Error),
}

/// The server configuration of the certificate chain in `cert` (PEM, leaf first)
/// and the private key in `key` (PEM: PKCS#8, PKCS#1 or SEC1).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_path = || cert.display().to_string();
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|cause| TlsError::Certificate {
            path: cert_path(),
            cause,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: cert_path() });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|cause| TlsError::Key {
        path: key.display().to_string(),
        cause,
    })?;
    // ring rather than rustls' default aws-lc-rs: no C library to build beside
    // SQLite's. It offers no post-quantum key exchange, hence the deprecation.
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}
