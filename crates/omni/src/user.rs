//! `omni user`: desk accounts from the command line, on the configured
//! store: the embedded store in `data_dir` (while no omni runs on it) or
//! Redis (`--store redis`, any time). Passwords are read from the terminal
//! without echo, or from stdin with `--password-stdin`; never from the
//! arguments, the configuration or the environment.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use omni_accounts::{AccountChange, Accounts, NewAccount};
use omni_core::access::Role;
use omni_core::config::Config;
use omni_store::{AccountStore, EmbeddedStore};
use omni_store_redis::RedisStore;
use secrecy::{ExposeSecret as _, SecretString};

/// Who the audit log names for changes made here.
const ACTOR: &str = "cli";

/// `omni user` arguments.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// Where the accounts are: the embedded store in `data_dir`, or Redis
    /// (`redis.url`, `redis.prefix`) for the distributed mode.
    #[arg(long, value_enum, default_value = "embedded")]
    store: StoreKind,
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StoreKind {
    Embedded,
    Redis,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Adds an account (an agent's id is its agent id); set its password
    /// with `set-password`.
    Add {
        /// The account id.
        id: String,
        /// agent, supervisor or admin.
        #[arg(long)]
        role: Role,
        /// The name shown to others (the id by default).
        #[arg(long)]
        name: Option<String>,
    },
    /// Sets an account's password (ends its sessions): asked twice on the
    /// terminal, or read as one line from stdin with --password-stdin.
    SetPassword {
        /// The account id.
        id: String,
        /// Read the password from stdin (one line) instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disables an account and ends its sessions.
    Disable {
        /// The account id.
        id: String,
    },
    /// Lists the accounts.
    List,
}

/// Runs `omni user ...`.
pub fn run(config: &Config, args: &UserArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("omni user: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(config, args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omni user: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn open(config: &Config, kind: StoreKind) -> anyhow::Result<Arc<dyn AccountStore>> {
    Ok(match kind {
        StoreKind::Embedded => {
            let path = config.data_dir.join("store.redb");
            let store = EmbeddedStore::open(&path).with_context(|| {
                format!(
                    "cannot open the embedded store in {} (a running omni holds it: stop it, or manage accounts as an admin in the desk)",
                    config.data_dir.display()
                )
            })?;
            store as Arc<dyn AccountStore>
        }
        StoreKind::Redis => RedisStore::connect_with(
            config.redis.url.expose_secret(),
            &config.redis.prefix,
            &config.redis.tls(),
        )
        .await
        .context("cannot reach Redis (set redis.url or OMNI_REDIS_URL)")?
            as _,
    })
}

async fn execute(config: &Config, args: &UserArgs) -> anyhow::Result<()> {
    // Read the password before opening the store, so a mistyped
    // confirmation holds no lock.
    let password = match &args.command {
        UserCommand::SetPassword { id, password_stdin } => {
            Some(read_password(id, *password_stdin)?)
        }
        _ => None,
    };
    let accounts = Accounts::new(open(config, args.store).await?, &config.auth)?;
    match &args.command {
        UserCommand::Add { id, role, name } => {
            let account = accounts
                .create(
                    ACTOR,
                    None,
                    NewAccount {
                        id: id.clone(),
                        display_name: name.clone(),
                        role: *role,
                        password: None,
                    },
                )
                .await?;
            println!(
                "added {} ({}); set its password with `omni user set-password {}`",
                account.id, account.role, account.id
            );
        }
        UserCommand::SetPassword { id, .. } => {
            let change = AccountChange {
                password,
                ..AccountChange::default()
            };
            accounts.update(ACTOR, None, id, change).await?;
            println!("password of {id} set; its sessions have ended");
        }
        UserCommand::Disable { id } => {
            let change = AccountChange {
                disabled: Some(true),
                ..AccountChange::default()
            };
            accounts.update(ACTOR, None, id, change).await?;
            println!("{id} disabled; its sessions have ended");
        }
        UserCommand::List => {
            let all = accounts.list().await?;
            if all.is_empty() {
                println!("no accounts; add one with `omni user add ID --role admin`");
            }
            println!(
                "{:<24} {:<11} {:<9} {:<9} name",
                "id", "role", "password", "state"
            );
            for a in all {
                println!(
                    "{:<24} {:<11} {:<9} {:<9} {}",
                    a.id,
                    a.role,
                    if a.password_hash.is_some() {
                        "set"
                    } else {
                        "none"
                    },
                    if a.disabled { "disabled" } else { "enabled" },
                    a.display_name
                );
            }
        }
    }
    Ok(())
}

fn read_password(id: &str, from_stdin: bool) -> anyhow::Result<SecretString> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        return Ok(SecretString::from(password));
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "stdin is not a terminal: pass --password-stdin to read the password from it"
        );
    }
    let first = rpassword::prompt_password(format!("new password for {id}: "))
        .context("cannot read the password from the terminal")?;
    let second = rpassword::prompt_password("again: ")
        .context("cannot read the password from the terminal")?;
    if first != second {
        anyhow::bail!("the two passwords differ; nothing changed");
    }
    Ok(SecretString::from(first))
}
