//! The `[grpc]` section: who may call the gRPC API (bearer tokens per
//! account), TLS on the listener and towards other parts, and reflection.
//!
//! Every process accepts its own service token (`grpc.token`), which its
//! parts also present when they call another process; `[[grpc.accounts]]`
//! adds tokens for people and scripts (and for other service processes
//! with their own token). Tokens are secrets: they never print.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;
use crate::access::Role;

/// gRPC API settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// This process's service token: accepted as the `omniroute` service
    /// account, and presented when its parts call other processes. Unset in
    /// embedded mode, a random one is made at start; a distributed part
    /// that calls another process needs it.
    pub token: Option<SecretString>,
    /// A file holding the service token (read at start, trimmed), instead of `token`.
    pub token_file: Option<PathBuf>,
    /// Serve gRPC server reflection (off by default: it lists every method).
    pub reflection: bool,
    /// More accounts: people, scripts and other service processes.
    pub accounts: Vec<GrpcAccount>,
    /// TLS for the listener and for calls to other parts.
    pub tls: GrpcTls,
}

/// One account of the gRPC API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcAccount {
    /// Its name: for a person-role account, the person (an agent's id).
    pub name: String,
    /// `service`, `admin`, `supervisor` or `agent`.
    pub kind: AccountKind,
    /// Its token.
    #[serde(default)]
    pub token: Option<SecretString>,
    /// A file holding its token, instead of `token`.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// What an account's holder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// One of Omniroute's own parts: may name the person it acts for.
    Service,
    /// Provisioning: agents and queues.
    Admin,
    /// Wallboards: queues, explanations, every conversation.
    Supervisor,
    /// An agent: their own conversations, offers and presence.
    Agent,
}

impl AccountKind {
    /// The person role, or `None` for a service.
    pub fn role(self) -> Option<Role> {
        match self {
            AccountKind::Service => None,
            AccountKind::Admin => Some(Role::Admin),
            AccountKind::Supervisor => Some(Role::Supervisor),
            AccountKind::Agent => Some(Role::Agent),
        }
    }
}

/// TLS on gRPC: off unless `cert` and `key` are set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcTls {
    /// The listener's certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// The listener's private key (PEM).
    pub key: Option<PathBuf>,
    /// Client CA (PEM): when set, callers must present a certificate it
    /// signed (mutual TLS), as well as a token.
    pub client_ca: Option<PathBuf>,
    /// The CA (PEM) that signed the other parts' certificates, for this
    /// process's calls to them over `https://`.
    pub ca: Option<PathBuf>,
}

/// The name of the account `grpc.token` belongs to.
pub const SERVICE_ACCOUNT: &str = "omniroute";

/// An account with its token read.
#[derive(Debug, Clone)]
pub struct LoadedAccount {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: AccountKind,
    /// Its token.
    pub token: SecretString,
}

fn read_token(what: &str, file: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        path: file.to_owned(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{what}: token file {} is empty",
            file.display()
        )));
    }
    Ok(SecretString::from(token))
}

fn one_token(
    what: &str,
    token: &Option<SecretString>,
    file: &Option<PathBuf>,
) -> Result<Option<SecretString>, ConfigError> {
    match (token, file) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
            "{what}: set token or token_file, not both"
        ))),
        (Some(token), None) => Ok(Some(token.clone())),
        (None, Some(file)) => read_token(what, file).map(Some),
        (None, None) => Ok(None),
    }
}

/// A token fit for an `authorization` header: long enough, visible ASCII.
fn check_token(what: &str, token: &SecretString) -> Result<(), ConfigError> {
    let t = token.expose_secret();
    if t.len() < MIN_TOKEN_LEN || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::Invalid(format!(
            "{what}: a token must be at least {MIN_TOKEN_LEN} visible ASCII characters without spaces"
        )));
    }
    Ok(())
}

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

impl GrpcConfig {
    /// This process's service token, read from `token_file` if given.
    pub fn service_token(&self) -> Result<Option<SecretString>, ConfigError> {
        let token = one_token("grpc", &self.token, &self.token_file)?;
        if let Some(t) = &token {
            check_token("grpc.token", t)?;
        }
        Ok(token)
    }

    /// Every `[[grpc.accounts]]` entry with its token read.
    pub fn accounts(&self) -> Result<Vec<LoadedAccount>, ConfigError> {
        self.accounts
            .iter()
            .map(|a| {
                let what = format!("grpc.accounts.{}", a.name);
                let token = one_token(&what, &a.token, &a.token_file)?.ok_or_else(|| {
                    ConfigError::Invalid(format!("{what}: token or token_file is required"))
                })?;
                check_token(&what, &token)?;
                Ok(LoadedAccount {
                    name: a.name.clone(),
                    kind: a.kind,
                    token,
                })
            })
            .collect()
    }

    /// Checks what can be checked without reading files.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for a in &self.accounts {
            if a.name.trim().is_empty() || a.name == SERVICE_ACCOUNT {
                return Err(ConfigError::Invalid(format!(
                    "grpc.accounts: name {:?} is empty or reserved",
                    a.name
                )));
            }
            if !names.insert(a.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "grpc.accounts: duplicate name {:?}",
                    a.name
                )));
            }
            if a.token.is_none() && a.token_file.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "grpc.accounts.{}: token or token_file is required",
                    a.name
                )));
            }
            if let Some(t) = &a.token {
                check_token(&format!("grpc.accounts.{}", a.name), t)?;
            }
        }
        if let Some(t) = &self.token {
            check_token("grpc.token", t)?;
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(ConfigError::Invalid(
                "grpc.tls: cert and key go together".into(),
            ));
        }
        if self.tls.client_ca.is_some() && self.tls.cert.is_none() {
            return Err(ConfigError::Invalid(
                "grpc.tls.client_ca needs grpc.tls.cert and grpc.tls.key".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn grpc(text: &str) -> GrpcConfig {
        Config::parse(text).expect("parses").grpc
    }

    #[test]
    fn accounts_and_tokens_load_from_the_file_or_inline_and_never_print() {
        let dir = std::env::temp_dir().join(format!("omni-grpc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("wallboard.token");
        std::fs::write(&file, "wallboard-token-0123456789\n").expect("write");
        let config = grpc(&format!(
            r#"
            [grpc]
            token = "service-token-0123456789"
            [[grpc.accounts]]
            name = "provisioner"
            kind = "admin"
            token = "admin-token-0123456789"
            [[grpc.accounts]]
            name = "wallboard"
            kind = "supervisor"
            token_file = {:?}
            "#,
            file.display().to_string()
        ));
        config.validate().expect("valid");
        assert_eq!(
            config
                .service_token()
                .expect("read")
                .map(|t| t.expose_secret().to_owned()),
            Some("service-token-0123456789".to_owned())
        );
        let accounts = config.accounts().expect("read");
        assert_eq!(accounts[0].kind.role(), Some(Role::Admin));
        assert_eq!(
            accounts[1].token.expose_secret(),
            "wallboard-token-0123456789"
        );
        let printed = format!("{config:?} {accounts:?}");
        assert!(!printed.contains("token-0123456789"), "{printed}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_accounts_are_refused_with_the_key() {
        for (text, says) in [
            (
                "[[grpc.accounts]]\nname = \"a\"\nkind = \"agent\"\n",
                "grpc.accounts.a: token or token_file is required",
            ),
            (
                "[[grpc.accounts]]\nname = \"a\"\nkind = \"agent\"\ntoken = \"short\"\n",
                "at least 16",
            ),
            ("[grpc.tls]\ncert = \"c.pem\"\n", "cert and key go together"),
        ] {
            let error = grpc(text).validate().expect_err("invalid").to_string();
            assert!(error.contains(says), "{error}");
        }
        assert!(
            Config::parse("[[grpc.accounts]]\nname = \"a\"\nkind = \"root\"\ntoken = \"x\"\n")
                .is_err()
        );
    }
}
