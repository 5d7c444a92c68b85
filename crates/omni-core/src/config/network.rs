//! Where a process listens and where it reaches the other parts, NATS and
//! Redis.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Listening addresses of the servers a process runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// gRPC: context and router APIs, health, reflection.
    pub grpc: SocketAddr,
    /// The web chat page and its WebSocket.
    pub chat: SocketAddr,
    /// The agent desk page and its HTTP/WebSocket API.
    pub desk: SocketAddr,
    /// The email adapter's SMTP server (inbound mail).
    pub smtp: SocketAddr,
    /// The SMS adapter's webhooks (Twilio, Kannel).
    pub sms: SocketAddr,
    /// Prometheus `/metrics` and `/healthz` of every process, in both modes:
    /// kept off the public ports (the desk's included), for the scraper only.
    pub metrics: SocketAddr,
}

/// The NATS JetStream server the distributed parts share.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URL, e.g. `nats://nats:4222`. Secret, since it may carry
    /// credentials (`nats://user:password@nats:4222`): printed only through
    /// [`NatsConfig::display_url`].
    pub url: SecretString,
    /// PEM CA certificate(s) the server's certificate must chain to (a
    /// private CA); setting it requires TLS even with a `nats://` URL.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS, with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// A `.creds` file (user JWT and NKey seed) for decentralized auth.
    pub creds_file: Option<PathBuf>,
    /// A file holding an NKey user seed (`SU...`).
    pub nkey_seed_file: Option<PathBuf>,
}

/// TLS files for a link to NATS or Redis: a private CA and a client
/// certificate for mutual TLS, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkTls {
    /// PEM CA certificate(s) that sign the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and its private key, for mutual TLS.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// The Redis server the distributed context service and router keep state in.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Server URL, e.g. `redis://redis:6379`. Secret, since it may carry
    /// credentials (`redis://user:password@redis:6379`): printed only
    /// through [`RedisConfig::display_url`].
    pub url: SecretString,
    /// Key prefix (and Cluster hash tag): every key is `{prefix}:...`.
    pub prefix: String,
    /// PEM CA certificate(s) a `rediss://` server's certificate must chain
    /// to (a private CA); without it the system roots are used.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS, with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            creds_file: None,
            nkey_seed_file: None,
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "omni".into(),
            ca_file: None,
            cert_file: None,
            key_file: None,
        }
    }
}

impl NatsConfig {
    /// The TLS files of the link.
    pub fn tls(&self) -> LinkTls {
        link_tls(&self.ca_file, &self.cert_file, &self.key_file)
    }

    /// The URL with any credentials replaced (see [`redact_url`]), for logs
    /// and messages.
    pub fn display_url(&self) -> String {
        redact_url(self.url.expose_secret())
    }
}

impl RedisConfig {
    /// The TLS files of the link.
    pub fn tls(&self) -> LinkTls {
        link_tls(&self.ca_file, &self.cert_file, &self.key_file)
    }

    /// The URL with any credentials replaced (see [`redact_url`]), for logs
    /// and messages.
    pub fn display_url(&self) -> String {
        redact_url(self.url.expose_secret())
    }
}

impl std::fmt::Debug for NatsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsConfig")
            .field("url", &self.display_url())
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("creds_file", &self.creds_file)
            .field("nkey_seed_file", &self.nkey_seed_file)
            .finish()
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.display_url())
            .field("prefix", &self.prefix)
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish()
    }
}

fn link_tls(
    ca_file: &Option<PathBuf>,
    cert_file: &Option<PathBuf>,
    key_file: &Option<PathBuf>,
) -> LinkTls {
    LinkTls {
        ca_file: ca_file.clone(),
        client: cert_file.clone().zip(key_file.clone()),
    }
}

/// What stands for a credential in a printed URL.
pub const REDACTED: &str = "***";

/// `url` safe to print: the password of `scheme://user:password@host` is
/// replaced (`scheme://user:***@host`), a lone user part (a token, as in
/// `nats://token@host`) too, and so is the value of any query parameter
/// whose name says it is a credential (`password`, `token`, `secret`, ...).
/// Anything that does not parse as `scheme://...` is replaced whole when it
/// contains an `@`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains('@') {
            REDACTED.to_owned()
        } else {
            url.to_owned()
        };
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{REDACTED}@{host}"),
            None => format!("{REDACTED}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if is_credential_name(name) => format!("{name}={REDACTED}"),
                    _ => pair.to_owned(),
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Whether a query parameter or configuration key names a credential
/// (`password`, `auth_token`, `secret`, `api_key`, a URL that may carry
/// one, ...).
pub(super) fn is_credential_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if name == "url" {
        return true;
    }
    ["pass", "token", "secret", "key", "auth", "cred", "sig"]
        .iter()
        .any(|word| name.contains(word))
}

/// Where a part reaches the gRPC APIs of the others. In embedded mode both
/// default to this process's own gRPC listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connect {
    /// Context service URL, e.g. `http://context:7070`.
    pub context: Option<String>,
    /// Router service URL.
    pub router: Option<String>,
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            grpc: SocketAddr::from(([127, 0, 0, 1], 7070)),
            chat: SocketAddr::from(([127, 0, 0, 1], 8080)),
            desk: SocketAddr::from(([127, 0, 0, 1], 8081)),
            metrics: SocketAddr::from(([127, 0, 0, 1], 9100)),
            sms: SocketAddr::from(([127, 0, 0, 1], 8082)),
            smtp: SocketAddr::from(([127, 0, 0, 1], 2525)),
        }
    }
}
