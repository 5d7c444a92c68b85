//! `omni adapter-check`: the adapter conformance kit against an adapter
//! out of process (in any language), over NATS and the documented
//! subjects (docs/adapters.md). It plays the context service: it publishes
//! replies on `omni.outbound.<channel>` and reads the adapter's reports on
//! `omni.delivery.<channel>` (a fan-out subscription, so it takes nothing
//! from a running context service); it checks what the adapter declares
//! through the flags. The rules about customers' messages need the kit to
//! drive the provider, so they run in process only (`omni_adapter::
//! conformance::Kit`) and are reported skipped here.
//!
//! Exit codes: 0 every rule held, 1 a rule was broken (each named with
//! what was expected and what came), 2 bad flags or no bus.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use omni_adapter::Capabilities;
use omni_adapter::conformance::Kit;
use omni_adapter::conformance::remote::Declared;
use omni_bus::Bus;
use omni_bus_nats::{NatsBus, NatsLink};
use omni_core::Channel;
use omni_proto::common as pb;

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
    /// A recipient the adapter's provider takes replies for, as
    /// `kind:value`: `phone:+14155552671`, `email:ann@example.com`,
    /// `chat:<visitor>`, `sms_sender:<sender>`.
    #[arg(long)]
    pub recipient: String,
    /// A recipient the provider refuses (`kind:value`), for `error_mapping`.
    #[arg(long, requires = "refused_reason")]
    pub refused_recipient: Option<String>,
    /// Text the failed report's error must contain for that recipient
    /// (e.g. the provider's error code).
    #[arg(long, requires = "refused_recipient")]
    pub refused_reason: Option<String>,
    /// The longest text the adapter declares, in characters, for `size_limits`.
    #[arg(long)]
    pub max_text_chars: Option<u32>,
    /// Seconds to wait for each report.
    #[arg(long, default_value_t = 10)]
    pub wait_secs: u64,
}

/// `kind:value` as an identity.
fn identity(flag: &str, text: &str) -> Result<pb::Identity, String> {
    use pb::identity::Kind;
    let (kind, value) = text
        .split_once(':')
        .filter(|(_, v)| !v.is_empty())
        .ok_or_else(|| format!("{flag} {text:?} is not kind:value"))?;
    let kind = match kind {
        "phone" => Kind::Phone(value.to_owned()),
        "email" => Kind::Email(value.to_owned()),
        "chat" | "chat_visitor" => Kind::ChatVisitor(value.to_owned()),
        "sms_sender" => Kind::SmsSender(value.to_owned()),
        other => {
            return Err(format!(
                "{flag}: unknown identity kind {other:?} (phone, email, chat, sms_sender)"
            ));
        }
    };
    Ok(pb::Identity { kind: Some(kind) })
}

/// What the flags declare.
fn declared(args: &AdapterCheckArgs) -> Result<Declared, String> {
    let channel: Channel = args
        .channel
        .parse()
        .map_err(|e| format!("--channel: {e}"))?;
    let recipient = identity("--recipient", &args.recipient)?;
    let refused = match (&args.refused_recipient, &args.refused_reason) {
        (Some(to), Some(reason)) => Some((identity("--refused-recipient", to)?, reason.clone())),
        _ => None,
    };
    let kind = recipient
        .kind
        .as_ref()
        .map(|k| match k {
            pb::identity::Kind::Phone(_) => "phone".to_owned(),
            pb::identity::Kind::Email(_) => "email".to_owned(),
            pb::identity::Kind::ChatVisitor(_) => "chat_visitor".to_owned(),
            pb::identity::Kind::SmsSender(_) => "sms_sender".to_owned(),
            pb::identity::Kind::Declared(d) => d.kind.clone(),
        })
        .unwrap_or_default();
    Ok(Declared {
        capabilities: Capabilities {
            max_text_chars: args.max_text_chars,
            ..Capabilities::new(channel, kind)
        },
        recipient,
        refused,
    })
}

/// Runs `omni adapter-check`; the verdict goes to stdout.
pub fn run(args: &AdapterCheckArgs) -> ExitCode {
    let subject = match declared(args) {
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
            creds_file: args.nats_creds.clone(),
            ..NatsLink::default()
        };
        let bus = match NatsBus::connect_with(&args.nats, &link).await {
            Ok(bus) => bus,
            Err(e) => {
                eprintln!("omni adapter-check: cannot reach NATS: {e}");
                return ExitCode::from(2);
            }
        };
        let kit = Kit::new(bus.clone()).waiting(Duration::from_secs(args.wait_secs));
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
