//! `omni`: runs Omniroute. With no subcommand, every part in one process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use omni::{Listeners, embedded};
use omni_core::config::Config;

mod simulate;

/// Omniroute: an omnichannel conversation router for contact centers.
#[derive(Debug, Parser)]
#[command(name = "omni", version, about)]
struct Cli {
    /// Configuration file.
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
    /// Loads and validates the configuration, prints a summary, and exits.
    CheckConfig,
    /// Runs a routing scenario in virtual time and reports service level,
    /// speed of answer, waiting, abandonment and occupancy.
    Simulate(simulate::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A simulation needs a scenario, not the service configuration.
    if let Some(Command::Simulate(args)) = &cli.command {
        return simulate::run(args);
    }
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("OMNI_"))
        .collect();
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
        Command::Simulate(args) => simulate::run(&args),
        Command::CheckConfig => {
            println!(
                "{}: ok ({} queues, {} agents, data in {})",
                cli.config.display(),
                config.queues.len(),
                config.agents.len(),
                config.data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Command::Run => {
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
            let telemetry = omni_telemetry::TelemetryOptions::from_env(&env);
            match runtime.block_on(run_with_telemetry(config, telemetry)) {
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
    options: omni_telemetry::TelemetryOptions,
) -> anyhow::Result<()> {
    let telemetry = omni_telemetry::init(&options)?;
    let result = run(config).await;
    telemetry.shutdown().await;
    result
}

async fn run(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut signals = Signals::register()?;
    let data_dir = config.data_dir.clone();
    let listeners = Listeners::bind(&config).await?;
    let running = embedded::start(config, listeners).await?;
    println!(
        "omniroute ready in {} ms (embedded mode, data in {})\n  web chat    http://{}/\n  agent desk  http://{}/\n  gRPC API    {} (context, router, health, reflection)\nPress Ctrl+C to stop.",
        started.elapsed().as_millis(),
        data_dir.display(),
        running.chat,
        running.desk,
        running.grpc,
    );
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
