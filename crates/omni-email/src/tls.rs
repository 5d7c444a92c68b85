//! TLS for the inbound SMTP server's STARTTLS (RFC 3207), with rustls (ring).
//!
//! The certificate chain and private key are PEM files named by
//! `email.tls_cert` and `email.tls_key`; without them the server does not
//! offer STARTTLS.

use std::io;
use std::path::Path;
use std::sync::Arc;

use omni_core::config::EmailConfig;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS acceptor for `config`, or `None` when no certificate is configured.
pub fn acceptor(config: &EmailConfig) -> io::Result<Option<TlsAcceptor>> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let invalid = |path: &Path, what: &str, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let cert_pem = std::fs::read(cert).map_err(|e| invalid(cert, "email.tls_cert", &e))?;
    let key_pem = std::fs::read(key).map_err(|e| invalid(key, "email.tls_key", &e))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert, "email.tls_cert", &e))?;
    if chain.is_empty() {
        return Err(invalid(
            cert,
            "email.tls_cert",
            &"no certificate in the file",
        ));
    }
    let key_der =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| invalid(key, "email.tls_key", &e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key_der))
        .map_err(|e| invalid(cert, "email.tls_cert/tls_key", &e))?;
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}
