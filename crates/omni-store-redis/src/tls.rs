//! The TLS files of a `rediss://` link read into what the client takes: a
//! private CA and a client certificate for mutual TLS.

use std::path::Path;

use omni_core::config::LinkTls;
use omni_store::StoreError;
use redis::{ClientTlsConfig, TlsCertificates};

/// The PEM files of `tls`, read.
pub(crate) async fn certificates(tls: &LinkTls) -> Result<TlsCertificates, StoreError> {
    async fn read(path: &Path, what: &str) -> Result<Vec<u8>, StoreError> {
        tokio::fs::read(path).await.map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot read the redis {what} {}: {e}",
                path.display()
            ))
        })
    }
    let root_cert = match &tls.ca_file {
        Some(path) => Some(read(path, "CA file").await?),
        None => None,
    };
    let client_tls = match &tls.client {
        Some((cert, key)) => Some(ClientTlsConfig {
            client_cert: read(cert, "client certificate").await?,
            client_key: read(key, "client key").await?,
        }),
        None => None,
    };
    Ok(TlsCertificates {
        client_tls,
        root_cert,
    })
}
