//! `omni adapter-check`: the adapter conformance kit against an adapter
//! out of process (in any language), over NATS and the documented
//! subjects (docs/adapters.md). It plays the context service: it publishes
//! replies on `omni.outbound.<channel>` and reads the adapter's reports on
//! `omni.delivery.<channel>` (a fan-out subscription, so it takes nothing
//! from a running context service). With `--conformance-token` it also
//! plays the provider through the adapter's conformance hook
//! (`omni_adapter::conformance::remote`), reads the adapter's capabilities
//! from its announcement (flags override them), and so runs every rule;
//! without it the rules about customers' messages are reported skipped.
//!
//! Exit codes: 0 every rule held, 1 a rule was broken (each named with
//! what was expected and what came), 2 bad flags or no bus.
//!
//! # Layout
//! - this file: the flags and the run.
//! - `nats_hook`: the conformance hook and the inbound stream's pause, over NATS.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use omni_adapter::Capabilities;
use omni_adapter::conformance::Kit;
use omni_adapter::conformance::remote::{self, Declared, Hook};
use omni_bus::Bus;
use omni_bus_nats::{NatsBus, NatsLink};
use omni_core::Channel;
use omni_proto::common as pb;

mod nats_hook;

/// Options of `omni adapter-check`.
#[derive(Debug, clap::Args)]
pub struct AdapterCheckArgs {
    /// The channel the adapter serves, as in its subjects (`sms`).
    #[arg(long)]
    pub channel: String,
    /// The NATS server the adapter is on (`nats://host:4222`, `tls://...`).
    #[arg(long, env = "OMNI_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// A NATS `.creds` file (user JWT and NKey seed).
    #[arg(long, value_name = "PATH")]
    pub nats_creds: Option<PathBuf>,
    /// A file holding only an NKey user seed (`SU...`).
    #[arg(long, value_name = "PATH", env = "OMNI_NATS_NKEY_SEED_FILE")]
    pub nats_nkey_seed: Option<PathBuf>,
    /// The PEM CA certificate(s) that sign the NATS server's certificate
    /// (a private CA; TLS is then required).
    #[arg(long, value_name = "PATH", env = "OMNI_NATS_CA_FILE")]
    pub nats_ca: Option<PathBuf>,
    /// A PEM client certificate, for a NATS server that verifies clients.
    #[arg(
        long,
        value_name = "PATH",
        env = "OMNI_NATS_CERT_FILE",
        requires = "nats_key"
    )]
    pub nats_cert: Option<PathBuf>,
    /// The client certificate's PEM private key.
    #[arg(
        long,
        value_name = "PATH",
        env = "OMNI_NATS_KEY_FILE",
        requires = "nats_cert"
    )]
    pub nats_key: Option<PathBuf>,
    /// The token the adapter's conformance hook was started with: the kit
    /// then drives its provider side and runs every rule.
    #[arg(long, env = "OMNI_CONFORMANCE_TOKEN", hide_env_values = true, value_parser = token)]
    pub conformance_token: Option<Token>,
    /// A recipient the adapter's provider takes replies for, as
    /// `kind:value`: `phone:+14155552671`, `email:ann@example.com`,
    /// `chat:<visitor>`, `sms_sender:<sender>`, or a declared kind
    /// (`app:user-42`).
    #[arg(long)]
    pub recipient: String,
    /// The customer whose messages the hook delivers (`kind:value`; the
    /// provider gives the value as the sender); the recipient by default.
    #[arg(long)]
    pub customer: Option<String>,
    /// A recipient the provider refuses (`kind:value`), for `error_mapping`.
    #[arg(long, requires = "refused_reason")]
    pub refused_recipient: Option<String>,
    /// Text the failed report's error must contain for that recipient
    /// (e.g. the provider's error code).
    #[arg(long, requires = "refused_recipient")]
    pub refused_reason: Option<String>,
    /// The longest text the adapter declares, in characters, for
    /// `size_limits`; overrides the announced one.
    #[arg(long)]
    pub max_text_chars: Option<u32>,
    /// Seconds to wait for each report.
    #[arg(long, default_value_t = 10)]
    pub wait_secs: u64,
}

/// The conformance token: a secret, never printed (`Debug` hides it).
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

fn token(text: &str) -> Result<Token, String> {
    if text.is_empty() {
        return Err("an empty conformance token".into());
    }
    Ok(Token(text.to_owned()))
}

/// The identity kinds with a field of their own in `common.v1.Identity`.
const BUILT_IN_KINDS: &str = "phone, email, chat, sms_sender";

/// `kind:value` as an identity: a built-in kind, or a declared one.
fn identity(flag: &str, text: &str) -> Result<pb::Identity, String> {
    use pb::identity::Kind;
    let (kind, value) = text
        .split_once(':')
        .filter(|(_, v)| !v.is_empty())
        .ok_or_else(|| format!("{flag} {text:?} is not kind:value"))?;
    let value = value.to_owned();
    let kind = match kind {
        "phone" => Kind::Phone(value),
        "email" => Kind::Email(value),
        "chat" | "chat_visitor" => Kind::ChatVisitor(value),
        "sms_sender" => Kind::SmsSender(value),
        declared if is_kind_name(declared) => Kind::Declared(pb::DeclaredIdentity {
            kind: declared.to_owned(),
            value,
        }),
        other => {
            return Err(format!(
                "{flag}: {other:?} is not an identity kind ({BUILT_IN_KINDS}, or a declared kind: [a-z][a-z0-9_-]*)"
            ));
        }
    };
    Ok(pb::Identity { kind: Some(kind) })
}

/// A declared identity kind's name, as `[identities.<kind>]` allows it.
fn is_kind_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The kind's name and the value of `identity`.
fn kind_and_value(identity: &pb::Identity) -> (String, String) {
    use pb::identity::Kind;
    match &identity.kind {
        Some(Kind::Phone(v)) => ("phone".into(), v.clone()),
        Some(Kind::Email(v)) => ("email".into(), v.clone()),
        Some(Kind::ChatVisitor(v)) => ("chat_visitor".into(), v.clone()),
        Some(Kind::SmsSender(v)) => ("sms_sender".into(), v.clone()),
        Some(Kind::Declared(d)) => (d.kind.clone(), d.value.clone()),
        None => (String::new(), String::new()),
    }
}

/// What the flags declare; the capabilities from the flags alone.
fn declared(args: &AdapterCheckArgs) -> Result<Declared, String> {
    let channel: Channel = args
        .channel
        .parse()
        .map_err(|e| format!("--channel: {e}"))?;
    let recipient = identity("--recipient", &args.recipient)?;
    let customer = match &args.customer {
        Some(text) => identity("--customer", text)?,
        None => recipient.clone(),
    };
    let refused = match (&args.refused_recipient, &args.refused_reason) {
        (Some(to), Some(reason)) => Some((identity("--refused-recipient", to)?, reason.clone())),
        _ => None,
    };
    let (kind, _) = kind_and_value(&recipient);
    let (_, from) = kind_and_value(&customer);
    Ok(Declared {
        capabilities: Capabilities {
            max_text_chars: args.max_text_chars,
            ..Capabilities::new(channel, kind)
        },
        customer: (from, customer),
        recipient,
        refused,
        hook: None,
    })
}

/// Runs `omni adapter-check`; the verdict goes to stdout.
pub fn run(args: &AdapterCheckArgs) -> ExitCode {
    let mut subject = match declared(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("omni adapter-check: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("omni adapter-check: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let link = NatsLink {
            tls: omni_core::config::LinkTls {
                ca_file: args.nats_ca.clone(),
                client: args.nats_cert.clone().zip(args.nats_key.clone()),
            },
            creds_file: args.nats_creds.clone(),
            nkey_seed_file: args.nats_nkey_seed.clone(),
        };
        let bus = match NatsBus::connect_with(&args.nats, &link).await {
            Ok(bus) => bus,
            Err(e) => {
                eprintln!("omni adapter-check: cannot reach NATS: {e}");
                return ExitCode::from(2);
            }
        };
        let wait = Duration::from_secs(args.wait_secs);
        if let Some(token) = &args.conformance_token {
            let hook = nats_hook::NatsHook::new(&bus, subject.capabilities.channel, &token.0, wait);
            if let Err(e) = adopt_announcement(&mut subject, &bus, &hook, args).await {
                eprintln!("omni adapter-check: {e}");
                bus.close().await;
                return ExitCode::from(2);
            }
            subject.hook = Some(Arc::new(hook));
        }
        let kit = Kit::new(bus.clone()).waiting(wait);
        let verdict = kit.check(&subject).await;
        bus.close().await;
        match verdict {
            Ok(verdict) => {
                print!("{verdict}");
                if verdict.is_pass() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("omni adapter-check: {e}");
                ExitCode::from(2)
            }
        }
    })
}

/// Takes the capabilities the adapter announces; the flags override them.
async fn adopt_announcement(
    subject: &mut Declared,
    bus: &Arc<NatsBus>,
    hook: &dyn Hook,
    args: &AdapterCheckArgs,
) -> Result<(), String> {
    let channel = subject.capabilities.channel;
    let wait = Duration::from_secs(args.wait_secs);
    let announced = remote::announced(bus.as_ref(), hook, channel, wait)
        .await
        .map_err(|e| format!("the adapter's capabilities: {e}"))?;
    println!(
        "announced: max_text_chars {}, identity kind {:?}",
        announced
            .max_text_chars
            .map_or("unlimited".to_owned(), |n| n.to_string()),
        announced.identity_kind
    );
    subject.capabilities = Capabilities {
        max_text_chars: args.max_text_chars.or(announced.max_text_chars),
        ..announced
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_kind_is_a_declared_identity_and_a_bad_one_is_named() {
        let id = identity("--recipient", "app:user-42").expect("declared kind");
        assert_eq!(
            id.kind,
            Some(pb::identity::Kind::Declared(pb::DeclaredIdentity {
                kind: "app".into(),
                value: "user-42".into()
            }))
        );
        let id = identity("--recipient", "phone:+14155552671").expect("built in");
        assert_eq!(
            id.kind,
            Some(pb::identity::Kind::Phone("+14155552671".into()))
        );
        let e = identity("--recipient", "App!:x").expect_err("not a kind name");
        assert!(e.contains("\"App!\" is not an identity kind"), "{e}");
    }

    #[test]
    fn the_conformance_token_never_prints() {
        let t = token("s3cret-token").expect("token");
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(token("").is_err());
    }
}
