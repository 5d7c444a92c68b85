//! `omni bot faq --bot <name>`: the built-in FAQ bot as its own process,
//! over the configured NATS (distributed mode), answering as the bot
//! `[bots.<name>]` from its `faq_file`. In embedded mode the same bot runs
//! inside `omni` ([`crate::parts`] starts one per bot with a FAQ file).
//! SIGTERM or Ctrl+C stops it after the turn in hand.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use omni_bot::FaqBot;
use omni_bus::Bus;
use omni_bus_nats::{NatsBus, NatsLink, StreamLimits};
use omni_core::config::Config;
use secrecy::ExposeSecret as _;

/// `omni bot` arguments.
#[derive(Debug, Args)]
pub struct BotArgs {
    #[command(subcommand)]
    command: BotCommand,
}

#[derive(Debug, Subcommand)]
enum BotCommand {
    /// Runs the built-in FAQ bot over NATS, answering from the `faq_file`
    /// of `[bots.<name>]`.
    Faq {
        /// The bot's name, as in `[bots.<name>]`.
        #[arg(long)]
        bot: String,
    },
}

/// The FAQ bot of `[bots.<name>]`, loaded: an error names the bot, the
/// key or the file and its line.
pub fn load_faq(config: &Config, name: &str) -> anyhow::Result<FaqBot> {
    let bot = config.bots.get(name).with_context(|| {
        let known: Vec<&str> = config.bots.keys().map(String::as_str).collect();
        format!("no [bots.{name}] in the configuration (bots: {known:?})")
    })?;
    let path = bot
        .faq_file
        .as_ref()
        .with_context(|| format!("bots.{name}.faq_file is not set: the FAQ bot answers from it"))?;
    Ok(FaqBot::load(path)?)
}

/// Loads every bot's FAQ file (for `omni check-config`); returns how many.
pub fn check_faq_files(config: &Config) -> anyhow::Result<usize> {
    let mut n = 0;
    for (name, bot) in &config.bots {
        if bot.faq_file.is_some() {
            load_faq(config, name).with_context(|| format!("bots.{name}.faq_file"))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Runs `omni bot`.
pub fn run(config: Config, args: &BotArgs) -> ExitCode {
    let BotCommand::Faq { bot: name } = &args.command;
    let faq = match load_faq(&config, name) {
        Ok(faq) => faq,
        Err(e) => {
            eprintln!("omni bot faq: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("omni bot faq: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config, name, faq)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omni bot faq: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, name: &str, faq: FaqBot) -> anyhow::Result<()> {
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("OMNI_") || k.starts_with("OTEL_"))
        .collect();
    let mut options = omni_telemetry::TelemetryOptions::from_env(&env)?;
    options.default_service_name = Some(format!("omni-bot-{name}"));
    let telemetry = omni_telemetry::init(&options)?;
    let mut signals = crate::Signals::register()?;
    let limits = StreamLimits {
        max_age: config.retention.stream_max_age(),
    };
    let bus: Arc<dyn Bus> = NatsBus::connect_with_limits(
        config.nats.url.expose_secret(),
        &NatsLink::from(&config.nats),
        &limits,
    )
    .await
    .with_context(|| {
        format!(
            "cannot reach NATS at {} (is nats-server running with JetStream? set nats.url or OMNI_NATS_URL)",
            config.nats.display_url()
        )
    })?;
    let runner = omni_bot::Runner::bind(bus.clone(), name).await?;
    println!(
        "omni bot faq: bot {name} ready ({} questions, NATS {})",
        faq.faq().entries.len(),
        config.nats.display_url()
    );
    println!("Press Ctrl+C to stop.");
    runner.run(Arc::new(faq), signals.recv()).await;
    bus.close().await;
    println!("omni bot faq: bot {name} stopped");
    telemetry.shutdown().await;
    Ok(())
}
