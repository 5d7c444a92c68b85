//! `omni`: runs Omniroute. With no subcommand, every part in one process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use omni::{Listeners, Part, distributed, embedded};
use omni_core::config::Config;

mod adapter_check;
mod bot;
mod simulate;
mod user;

/// mimalloc: the router's decisions allocate and free small objects at a
/// high rate, and glibc's allocator cost a quarter of each decision (see
/// docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Omniroute: an omnichannel conversation router for contact centers.
#[derive(Debug, Parser)]
#[command(name = "omni", version, about)]
struct Cli {
    /// Configuration file, for running the parts and `check-config`
    /// (`probe`, `simulate` and `adapter-check` do not read it).
    #[arg(
        long,
        short,
        env = "OMNI_CONFIG",
        default_value = "config/omniroute.toml",
        global = true
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every part in one process with the embedded bus and store (the default).
    Run,
    /// The context service alone, over NATS and Redis (distributed mode).
    Context,
    /// The router alone, over NATS and Redis (distributed mode).
    Router,
    /// The web chat adapter alone, over NATS (distributed mode).
    Chat,
    /// The agent desk alone, calling the context and router APIs (distributed mode).
    Desk,
    /// The SMS adapter alone (Twilio/Kannel webhooks, deliveries), over NATS.
    Sms,
    /// The email adapter alone (inbound SMTP, deliveries through a relay), over NATS.
    Email,
    /// The webhook channel alone (the app's signed messages, replies to its webhook), over NATS.
    Webhook,
    /// Loads and validates the configuration, prints a summary, and exits.
    CheckConfig,
    /// Asks a running part's gRPC health service whether it is serving
    /// (exit 0) or not (exit 1): a container health check.
    Probe {
        /// The part's gRPC address.
        #[arg(long, default_value = "127.0.0.1:7070")]
        grpc: String,
        /// The service to ask about; empty means the whole server.
        #[arg(long, default_value = "")]
        service: String,
    },
    /// Runs a routing scenario in virtual time and reports service level,
    /// speed of answer, waiting, abandonment and occupancy.
    Simulate(simulate::SimulateArgs),
    /// Manages desk accounts: add, set-password, disable, list.
    User(user::UserArgs),
    /// Runs the adapter conformance kit against an adapter out of process,
    /// over NATS: exit 0 when every rule holds, 1 naming each broken one.
    AdapterCheck(Box<adapter_check::AdapterCheckArgs>),
    /// Runs a built-in bot over NATS: `omni bot faq --bot <name>`.
    Bot(bot::BotArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Neither a probe nor a simulation needs the service configuration.
    match &cli.command {
        Some(Command::Probe { grpc, service }) => return probe(grpc, service),
        Some(Command::Simulate(args)) => return simulate::run(args),
        Some(Command::AdapterCheck(args)) => return adapter_check::run(args),
        _ => {}
    }
    let mut env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("OMNI_"))
        .collect();
    // Running an adapter alone turns it on, so its section is checked now
    // (a missing credential stops the process here, naming the setting,
    // rather than failing messages later).
    match &cli.command {
        Some(Command::Email) => {
            env.insert("OMNI_EMAIL_ENABLED".into(), "true".into());
        }
        Some(Command::Sms) => {
            env.insert("OMNI_SMS_ENABLED".into(), "true".into());
        }
        Some(Command::Webhook) => {
            env.insert("OMNI_WEBHOOK_ENABLED".into(), "true".into());
        }
        _ => {}
    }
    let config = match Config::load(&cli.config, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("omni: {e}");
            eprintln!(
                "omni: pass --config PATH or set OMNI_CONFIG; see the README's configuration reference"
            );
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Run) {
        Command::User(args) => user::run(&config, &args),
        Command::Probe { grpc, service } => probe(&grpc, &service),
        Command::Simulate(args) => simulate::run(&args),
        Command::AdapterCheck(args) => adapter_check::run(&args),
        Command::Bot(args) => bot::run(config, &args),
        Command::CheckConfig => {
            if let Err(e) = omni_adapter::http::Proxy::from_env() {
                eprintln!("omni: {e}");
                return ExitCode::from(2);
            }
            if let Err(e) = omni_enrich::Enricher::new(&config.enrichment) {
                eprintln!("omni: {e}");
                return ExitCode::from(2);
            }
            let faq_files = match bot::check_faq_files(&config) {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("omni: {e:#}");
                    return ExitCode::from(2);
                }
            };
            // Warnings, not errors: agents may be added at run time.
            for warning in omni_router_core::coverage::config_warnings(&config) {
                eprintln!("omni: warning: {warning}");
            }
            println!(
                "{}: ok ({} queues, {} agents, data in {})",
                cli.config.display(),
                config.queues.len(),
                config.agents.len(),
                config.data_dir.display()
            );
            if faq_files > 0 {
                println!("  FAQ files: {faq_files} ok");
            }
            if config.queues.iter().any(|q| q.survey.is_some()) {
                match config.surveys.links_off_reason() {
                    None => println!(
                        "  survey links: on ({}/survey/...)",
                        config.surveys.base_url()
                    ),
                    Some(why) => {
                        println!("  survey links: off ({why}); email surveys ask for a digit only")
                    }
                }
            }
            ExitCode::SUCCESS
        }
        command => {
            // Read once for the process: a bad proxy variable stops the start
            // here, not at the first outbound request.
            if let Err(e) = omni_adapter::http::Proxy::from_env() {
                eprintln!("omni: {e}");
                return ExitCode::from(2);
            }
            let mode = match command {
                Command::Context => Mode::Distributed(Part::Context),
                Command::Router => Mode::Distributed(Part::Router),
                Command::Chat => Mode::Distributed(Part::Chat),
                Command::Desk => Mode::Distributed(Part::Desk),
                Command::Sms => Mode::Distributed(Part::Sms),
                Command::Email => Mode::Distributed(Part::Email),
                Command::Webhook => Mode::Distributed(Part::Webhook),
                _ => Mode::Embedded,
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("omni: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            // The standard OpenTelemetry variables, and the project's own.
            let telemetry_env: BTreeMap<String, String> = std::env::vars()
                .filter(|(k, _)| k.starts_with("OMNI_") || k.starts_with("OTEL_"))
                .collect();
            let mut telemetry = match omni_telemetry::TelemetryOptions::from_env(&telemetry_env) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("omni: {e}");
                    return ExitCode::from(2);
                }
            };
            telemetry.default_service_name = Some(match mode {
                Mode::Embedded => "omniroute".to_owned(),
                Mode::Distributed(part) => format!("omni-{}", part.name()),
            });
            match runtime.block_on(run_with_telemetry(config, mode, telemetry)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("omni: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Starts telemetry inside the runtime (the OTLP exporter needs it), runs,
/// then flushes exported spans.
async fn run_with_telemetry(
    config: Config,
    mode: Mode,
    options: omni_telemetry::TelemetryOptions,
) -> anyhow::Result<()> {
    let telemetry = omni_telemetry::init(&options)?;
    let result = run(config, mode).await;
    telemetry.shutdown().await;
    result
}

/// What `omni` runs.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Every part, embedded bus and store.
    Embedded,
    /// One part over NATS and Redis.
    Distributed(Part),
}

async fn run(config: Config, mode: Mode) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut signals = Signals::register()?;
    let data_dir = config.data_dir.clone();
    let (nats, redis) = (config.nats.display_url(), config.redis.display_url());
    let parts = match mode {
        Mode::Embedded => Part::embedded(&config),
        Mode::Distributed(part) => vec![part],
    };
    let listeners = Listeners::bind(&config, &parts).await?;
    let reflection = config.grpc.reflection;
    let running = match mode {
        Mode::Embedded => embedded::start(config, listeners).await?,
        Mode::Distributed(part) => distributed::start(config, part, listeners).await?,
    };
    let ms = started.elapsed().as_millis();
    match mode {
        Mode::Embedded => println!(
            "omniroute ready in {ms} ms (embedded mode, data in {})",
            data_dir.display()
        ),
        Mode::Distributed(part) => {
            let backends = match (part.needs_bus(), part.needs_store()) {
                (true, true) => format!("NATS {nats}, Redis {redis}"),
                (true, false) => format!("NATS {nats}"),
                (false, store) => {
                    let calls: Vec<&str> = part.calls().iter().map(|p| p.name()).collect();
                    let redis = if store {
                        format!(", Redis {redis}")
                    } else {
                        String::new()
                    };
                    format!("{} over gRPC{redis}", calls.join(" and "))
                }
            };
            println!(
                "omniroute {} ready in {ms} ms (distributed mode: {backends})",
                part.name()
            )
        }
    }
    if let Some(chat) = running.chat {
        println!("  web chat    http://{chat}/");
    }
    if let Some(desk) = running.desk {
        println!("  agent desk  http://{desk}/");
    }
    if let Some(smtp) = running.smtp {
        println!("  email SMTP  {smtp}");
    }
    if let Some(sms) = running.sms {
        println!("  SMS hooks   http://{sms}/twilio/sms, /kannel/inbound");
    }
    if let Some(webhook) = running.webhook {
        println!("  app webhook http://{webhook}/webhook/v1/messages, /webhook/v1/status");
    }
    let apis: Vec<&str> = parts
        .iter()
        .filter_map(|p| p.api())
        .chain(["health"])
        .chain(reflection.then_some("reflection"))
        .collect();
    println!("  gRPC API    {} ({})", running.grpc, apis.join(", "));
    if let Some(metrics) = running.metrics {
        println!("  metrics     http://{metrics}/metrics");
    }
    println!("Press Ctrl+C to stop.");
    let failed = tokio::select! {
        _ = signals.recv() => false,
        _ = running.failed() => true,
    };
    println!("omniroute stopping...");
    tokio::select! {
        _ = running.shutdown() => {}
        _ = signals.recv() => {
            eprintln!("omni: second signal, exiting without waiting");
            std::process::exit(130);
        }
    }
    if failed {
        anyhow::bail!("a part failed; see the log above");
    }
    println!("omniroute stopped");
    Ok(())
}

/// `omni probe`: one gRPC health check, without loading the configuration.
fn probe(addr: &str, service: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("omni probe: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(url.clone())?
            .connect_timeout(std::time::Duration::from_secs(2))
            .timeout(std::time::Duration::from_secs(3))
            .connect()
            .await?;
        let response = tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.to_owned(),
            })
            .await?;
        anyhow::Ok(response.into_inner().status)
    };
    match runtime.block_on(check) {
        Ok(status)
            if status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 =>
        {
            println!("{url}: serving");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!("omni probe: {url}: not serving (status {status})");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("omni probe: {url}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT (Ctrl+C) and SIGTERM, registered before the app reports ready so
/// no early signal is missed.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
