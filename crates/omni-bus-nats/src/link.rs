//! How the bus authenticates and encrypts its link to NATS beyond the URL:
//! a private CA, a client certificate for mutual TLS, and an NKey seed or a
//! `.creds` file (user JWT and seed) instead of a password.

use std::path::PathBuf;

use async_nats::ConnectOptions;
use omni_core::config::{LinkTls, NatsConfig};

/// The link options of [`crate::NatsBus::connect_with`]; the default is a
/// link as the URL says (`tls://` for TLS with the system roots).
#[derive(Debug, Clone, Default)]
pub struct NatsLink {
    /// A private CA (TLS is then required) and a client certificate.
    pub tls: LinkTls,
    /// A `.creds` file: the user JWT and the NKey seed that signs the nonce.
    pub creds_file: Option<PathBuf>,
    /// A file holding only an NKey user seed (`SU...`).
    pub nkey_seed_file: Option<PathBuf>,
}

impl From<&NatsConfig> for NatsLink {
    fn from(config: &NatsConfig) -> Self {
        NatsLink {
            tls: config.tls(),
            creds_file: config.creds_file.clone(),
            nkey_seed_file: config.nkey_seed_file.clone(),
        }
    }
}

impl NatsLink {
    /// `options` with these settings; a file that cannot be read or parsed
    /// is an error naming it (never quoting its content).
    pub(crate) async fn apply(
        &self,
        mut options: ConnectOptions,
    ) -> Result<ConnectOptions, String> {
        if let Some(ca) = &self.tls.ca_file {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some((cert, key)) = &self.tls.client {
            options = options
                .add_client_certificate(cert.clone(), key.clone())
                .require_tls(true);
        }
        if let Some(path) = &self.creds_file {
            options = options
                .credentials_file(path)
                .await
                .map_err(|e| format!("cannot read the nats creds file {}: {e}", path.display()))?;
        }
        if let Some(path) = &self.nkey_seed_file {
            let seed = tokio::fs::read_to_string(path).await.map_err(|e| {
                format!(
                    "cannot read the nats nkey seed file {}: {e}",
                    path.display()
                )
            })?;
            let seed = seed.trim();
            if !seed.starts_with("SU") {
                return Err(format!(
                    "the nats nkey seed file {} does not hold a user seed (SU...)",
                    path.display()
                ));
            }
            options = options.nkey(seed.to_owned());
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_configuration_maps_onto_the_link() {
        let config = NatsConfig {
            ca_file: Some("/s/ca.pem".into()),
            cert_file: Some("/s/client.pem".into()),
            key_file: Some("/s/client.key".into()),
            nkey_seed_file: Some("/s/omni.nk".into()),
            ..NatsConfig::default()
        };
        let link = NatsLink::from(&config);
        assert_eq!(link.tls.ca_file.as_deref(), Some(Path::new("/s/ca.pem")));
        assert_eq!(
            link.tls.client,
            Some(("/s/client.pem".into(), "/s/client.key".into()))
        );
        assert_eq!(
            link.nkey_seed_file.as_deref(),
            Some(Path::new("/s/omni.nk"))
        );
        assert_eq!(link.creds_file, None);
    }
}
