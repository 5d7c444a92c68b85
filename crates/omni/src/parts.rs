//! Starts any set of Omniroute's parts over a given bus and store, and stops
//! them in order. The embedded mode runs every part over the embedded bus
//! and store; each distributed subcommand runs one part over NATS and Redis.
//! Both go through [`start`], so there is one code path.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use omni_bus::Bus;
use omni_chat::ChatAdapter;
use omni_context::{ContextApi, ContextService, ContextSettings};
use omni_core::config::Config;
use omni_desk::Desk;
use omni_proto::auth::WithToken;
use omni_router::{RouterApi, RouterShell};
use omni_store::{AccountStore, ContextStore, RouterStore};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

pub use crate::part::{Part, Port};

/// What the parts run on.
pub struct Backends {
    /// The bus (embedded or NATS), required by every part but the desk.
    pub bus: Option<Arc<dyn Bus>>,
    /// The context store, required by [`Part::Context`].
    pub context_store: Option<Arc<dyn ContextStore>>,
    /// The router store, required by [`Part::Router`].
    pub router_store: Option<Arc<dyn RouterStore>>,
    /// Accounts, sessions and the audit log, required by [`Part::Desk`].
    pub account_store: Option<Arc<dyn AccountStore>>,
}

/// Bound listeners. gRPC is always served (at least the health service);
/// the others only by the parts that use them ([`Part::port`]).
pub struct Listeners {
    /// gRPC: the APIs of the parts in this process, health, reflection.
    pub grpc: TcpListener,
    /// Web chat page and WebSocket (with [`Part::Chat`]).
    pub chat: Option<TcpListener>,
    /// Agent desk page and API (with [`Part::Desk`]).
    pub desk: Option<TcpListener>,
    /// SMS provider webhooks (with [`Part::Sms`]).
    pub sms: Option<TcpListener>,
    /// Inbound SMTP (with [`Part::Email`]).
    pub smtp: Option<TcpListener>,
    /// The app webhook API (with [`Part::Webhook`]).
    pub webhook: Option<TcpListener>,
    /// `/metrics` and `/healthz` (every process; never on a public port).
    pub metrics: Option<TcpListener>,
}

impl Listeners {
    /// Binds the addresses of the configuration that `parts` need
    /// ([`Port::needed`]), naming the one that failed.
    pub async fn bind(config: &Config, parts: &[Part]) -> anyhow::Result<Self> {
        Self::open(parts, |port| async move {
            let addr = port.addr(config);
            TcpListener::bind(addr).await.with_context(|| {
                format!(
                    "cannot listen for {} on {addr} (is another process using it?)",
                    port.what()
                )
            })
        })
        .await
    }

    /// Every listener `parts` need on a free loopback port, for tests.
    pub async fn loopback(parts: &[Part]) -> std::io::Result<Self> {
        Self::open(parts, |_| TcpListener::bind("127.0.0.1:0")).await
    }

    async fn open<E, F, Fut>(parts: &[Part], mut open: F) -> Result<Self, E>
    where
        F: FnMut(Port) -> Fut,
        Fut: std::future::Future<Output = Result<TcpListener, E>>,
    {
        let mut listeners = Self {
            grpc: open(Port::Grpc).await?,
            chat: None,
            desk: None,
            sms: None,
            smtp: None,
            webhook: None,
            metrics: None,
        };
        for port in Port::needed(parts) {
            let slot = match port {
                Port::Grpc => continue,
                Port::Chat => &mut listeners.chat,
                Port::Desk => &mut listeners.desk,
                Port::Sms => &mut listeners.sms,
                Port::Smtp => &mut listeners.smtp,
                Port::Webhook => &mut listeners.webhook,
                Port::Metrics => &mut listeners.metrics,
            };
            *slot = Some(open(port).await?);
        }
        Ok(listeners)
    }
}

/// Running parts.
pub struct Running {
    /// Where gRPC listens.
    pub grpc: SocketAddr,
    /// Where the web chat listens, if this process runs it.
    pub chat: Option<SocketAddr>,
    /// Where the agent desk listens, if this process runs it.
    pub desk: Option<SocketAddr>,
    /// Where the SMS webhooks listen, if this process runs them.
    pub sms: Option<SocketAddr>,
    /// Where inbound SMTP listens, if this process runs the email adapter.
    pub smtp: Option<SocketAddr>,
    /// Where the app webhook API listens, if this process runs it.
    pub webhook: Option<SocketAddr>,
    /// Where `/metrics` listens (every process binds it).
    pub metrics: Option<SocketAddr>,
    ingress: CancellationToken,
    workers: CancellationToken,
    apis: CancellationToken,
    ingress_tasks: TaskTracker,
    worker_tasks: TaskTracker,
    api_tasks: TaskTracker,
    bus: Option<Arc<dyn Bus>>,
    failed: CancellationToken,
    /// The router, if this process runs it (tests move its clock).
    router: Option<Arc<RouterShell>>,
}

/// Starts `parts` over `backends`. Returns once every server accepts
/// connections. Parts that call other parts' APIs reach them at
/// `config.connect`, or at this process's own gRPC listener when the
/// called part runs here too (or no URL is configured).
pub async fn start(
    config: Arc<Config>,
    parts: &[Part],
    backends: Backends,
    listeners: Listeners,
) -> anyhow::Result<Running> {
    let has = |p| parts.contains(&p);
    let bus = backends.bus;
    let needs_bus = |part: Part| {
        bus.clone()
            .with_context(|| format!("the {} needs a bus", part.name()))
    };
    let grpc_addr = listeners.grpc.local_addr()?;
    let chat_addr = listeners
        .chat
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;
    let sms_addr = listeners.sms.as_ref().map(|l| l.local_addr()).transpose()?;
    let smtp_addr = listeners
        .smtp
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;
    let desk_addr = listeners
        .desk
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;
    let metrics_addr = listeners
        .metrics
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;

    let ingress = CancellationToken::new();
    let workers = CancellationToken::new();
    let apis = CancellationToken::new();
    let failed = CancellationToken::new();
    let (ingress_tasks, worker_tasks, api_tasks) =
        (TaskTracker::new(), TaskTracker::new(), TaskTracker::new());

    let context = match has(Part::Context) {
        true => {
            let store = backends
                .context_store
                .context("the context service needs a context store")?;
            Some(Arc::new(
                ContextService::new(
                    store,
                    needs_bus(Part::Context)?,
                    ContextSettings::new(config.clone()),
                )
                .with_enricher(Arc::new(
                    omni_enrich::Enricher::new(&config.enrichment).context("enrichment.intents")?,
                ))
                .with_audit(backends.account_store.clone())
                .with_counts(backends.router_store.clone()),
            ))
        }
        false => None,
    };
    let router = match has(Part::Router) {
        true => {
            let store = backends
                .router_store
                .context("the router needs a router store")?;
            Some(
                RouterShell::start(&config, store, needs_bus(Part::Router)?)
                    .await
                    .context("cannot start the router")?,
            )
        }
        false => None,
    };
    let router_handle = router.clone();

    // This process's service token: its server accepts it and its parts
    // present it. Unconfigured, a random one: the parts in this process
    // reach each other, and the port still refuses everyone else.
    let configured_token = config.grpc.service_token()?;
    let service_token = configured_token
        .clone()
        .unwrap_or_else(crate::grpc::random_token);
    let admission = crate::grpc::Admission::from_config(&config, &service_token)?;

    // APIs first, so the parts that call them find them.
    {
        let context_api = context.clone().map(ContextApi::new);
        let router_api = router.clone().map(RouterApi::new);
        let (token, failed) = (apis.clone(), failed.clone());
        let listener = listeners.grpc;
        api_tasks.spawn(async move {
            if let Err(e) =
                crate::grpc::serve(listener, context_api, router_api, admission, token).await
            {
                error!(error = %e, "grpc server failed");
                failed.cancel();
            }
        });
    }
    if let Some(listener) = listeners.metrics {
        let (token, failed) = (apis.clone(), failed.clone());
        let (limits, scrape_token) = (config.limits.clone(), config.metrics.token.clone());
        api_tasks.spawn(async move {
            if let Err(e) = crate::metrics::serve(listener, limits, scrape_token, token).await {
                error!(error = %e, "metrics server failed");
                failed.cancel();
            }
        });
    }

    // Workers: bus consumers and timers.
    if let Some(context) = &context {
        omni_context::bots::replies::declare_bot_consumers(context)
            .await
            .context("cannot declare the bots' consumers")?;
        worker_tasks.spawn(report(
            omni_context::intake::run_inbound(context.clone(), workers.clone()),
            "context inbound",
            failed.clone(),
        ));
        worker_tasks.spawn(report(
            omni_context::intake::run_assignments(context.clone(), workers.clone()),
            "context assignments",
            failed.clone(),
        ));
        worker_tasks.spawn(report(
            omni_context::intake::run_refusals(context.clone(), workers.clone()),
            "context refusals",
            failed.clone(),
        ));
        worker_tasks.spawn(report(
            omni_context::closed::run(context.clone(), workers.clone()),
            "context closed queues",
            failed.clone(),
        ));
        worker_tasks.spawn(report(
            omni_context::intake::run_deliveries(context.clone(), workers.clone()),
            "context delivery reports",
            failed.clone(),
        ));
        worker_tasks.spawn(report(
            omni_context::schedule::run(context.clone(), workers.clone()),
            "context scheduled items",
            failed.clone(),
        ));
        worker_tasks.spawn(report(
            omni_context::deadletters::run(context.clone(), workers.clone()),
            "context dead letters",
            failed.clone(),
        ));
        worker_tasks.spawn(
            omni_context::retention::Retention::new(context.clone(), config.retention.clone())
                .run(workers.clone()),
        );
        worker_tasks.spawn(report(
            omni_context::bots::replies::run(context.clone(), workers.clone()),
            "context bot replies",
            failed.clone(),
        ));
        let sweep = omni_context::bots::sweeper::run(
            context.clone(),
            omni_context::bots::sweeper::TICK,
            workers.clone(),
        );
        worker_tasks.spawn(sweep);
    }
    if let Some(router) = &router {
        worker_tasks.spawn(report(
            omni_router::intake::run(router.clone(), needs_bus(Part::Router)?, workers.clone()),
            "router intake",
            failed.clone(),
        ));
        worker_tasks.spawn(router.clone().run_timer(workers.clone()));
    }

    // The built-in FAQ bots, in process when every core part runs here
    // (embedded mode); distributed, `omni bot faq --bot <name>` runs one.
    if has(Part::Context) && has(Part::Router) {
        for (name, bot) in &config.bots {
            let Some(path) = &bot.faq_file else { continue };
            let faq =
                omni_bot::FaqBot::load(path).with_context(|| format!("bots.{name}.faq_file"))?;
            let runner = omni_bot::Runner::bind(needs_bus(Part::Context)?, name).await?;
            let stop = workers.clone();
            worker_tasks
                .spawn(async move { runner.run(Arc::new(faq), stop.cancelled_owned()).await });
        }
    }

    // Ingress: the chat adapter and the desk.
    let tls = config.grpc.tls.cert.is_some();
    let own = local_url(grpc_addr, tls);
    let client_tls = crate::grpc::client_tls(&config)?;
    let endpoint = |part: Part, configured: &Option<String>| -> anyhow::Result<_> {
        let url = match (has(part), configured) {
            (true, _) => own.clone(),
            (false, Some(_)) if configured_token.is_none() => anyhow::bail!(
                "the {} is in another process: set grpc.token (or OMNI_GRPC_TOKEN) to the service token every process shares",
                part.name()
            ),
            (false, Some(url)) => url.clone(),
            (false, None) => anyhow::bail!(
                "the {} is not in this process: set connect.{} (or OMNI_CONNECT_{}) to its gRPC URL, e.g. http://{}:7070",
                part.name(),
                part.name(),
                part.name().to_uppercase(),
                part.name()
            ),
        };
        let mut endpoint = tonic::transport::Endpoint::from_shared(url.clone())
            .with_context(|| format!("invalid gRPC URL {url:?} for the {}", part.name()))?
            .tcp_nodelay(true);
        if let Some(tls) = client_tls.clone().filter(|_| url.starts_with("https://")) {
            endpoint = endpoint
                .tls_config(tls)
                .with_context(|| format!("cannot use grpc.tls for the {}", part.name()))?;
        }
        WithToken::new(endpoint.connect_lazy(), &service_token)
            .context("invalid gRPC service token")
    };
    if let Some(listener) = listeners.chat {
        let context_channel = endpoint(Part::Context, &config.connect.context)?;
        let bus = needs_bus(Part::Chat)?;
        let chat = ChatAdapter::new(bus.clone(), context_channel, config.clone());
        worker_tasks.spawn(report(
            omni_chat::outbound::run(chat.clone(), bus.clone(), workers.clone()),
            "chat outbound",
            failed.clone(),
        ));
        worker_tasks.spawn(report(
            omni_chat::status::run(chat.clone(), bus, workers.clone()),
            "chat conversation status",
            failed.clone(),
        ));
        let (token, failed) = (ingress.clone(), failed.clone());
        ingress_tasks.spawn(async move {
            if let Err(e) = omni_chat::serve(listener, chat, token).await {
                error!(error = %e, "chat server failed");
                failed.cancel();
            }
        });
    }
    if let Some(listener) = listeners.desk {
        let names = config
            .agents
            .iter()
            .map(|a| (a.id.clone(), a.name.clone().unwrap_or_else(|| a.id.clone())))
            .collect();
        // With the adapters in this process the desk offers the channels
        // it runs; on its own it cannot see which run elsewhere.
        let channels = if has(Part::Chat) {
            omni_desk::channels::Channels::from_config(&config)
        } else {
            omni_desk::channels::Channels::every(&config)
        };
        let store = backends
            .account_store
            .clone()
            .context("the desk needs an account store")?;
        let accounts = Arc::new(
            omni_accounts::Accounts::new(store.clone(), &config.auth)
                .context("cannot start the desk's accounts")?,
        );
        if store
            .accounts()
            .await
            .map(|a| a.is_empty())
            .unwrap_or(false)
        {
            warn!(
                "no accounts yet: nobody can sign in to the desk; create the first with `omni user add ID --role admin` and `omni user set-password ID`"
            );
        }
        {
            // Rate-limit buckets of addresses and names not seen lately go.
            let (accounts, token) = (accounts.clone(), ingress.clone());
            ingress_tasks.spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    tokio::select! {
                        _ = token.cancelled() => break,
                        _ = every.tick() => accounts.sweep(),
                    }
                }
            });
        }
        let desk = Arc::new(
            Desk::new(
                endpoint(Part::Context, &config.connect.context)?,
                endpoint(Part::Router, &config.connect.router)?,
                names,
                accounts,
            )
            .with_channels(channels)
            .with_remote_images(config.email.allow_remote_images)
            .with_settings(omni_desk::settings_api::DeskSettings::from_config(&config)),
        );
        let (token, failed) = (ingress.clone(), failed.clone());
        let limits = config.limits.clone();
        ingress_tasks.spawn(async move {
            if let Err(e) = omni_desk::serve(listener, desk, limits, token).await {
                error!(error = %e, "desk server failed");
                failed.cancel();
            }
        });
    }
    if let Some(listener) = listeners.sms {
        let bus = needs_bus(Part::Sms)?;
        let sms = omni_sms::SmsAdapter::new(bus.clone(), config.clone())
            .context("cannot start the SMS adapter")?;
        worker_tasks.spawn(report(
            omni_sms::outbound::run(sms.clone(), bus, workers.clone()),
            "sms outbound",
            failed.clone(),
        ));
        let (token, failed) = (ingress.clone(), failed.clone());
        ingress_tasks.spawn(async move {
            if let Err(e) = omni_sms::serve(listener, sms, token).await {
                error!(error = %e, "sms server failed");
                failed.cancel();
            }
        });
    }
    if let Some(listener) = listeners.smtp {
        let bus = needs_bus(Part::Email)?;
        let email = omni_email::EmailAdapter::new(bus.clone(), config.clone());
        worker_tasks.spawn(report(
            omni_email::outbound::run(email.clone(), bus, workers.clone()),
            "email outbound",
            failed.clone(),
        ));
        let (token, failed) = (ingress.clone(), failed.clone());
        ingress_tasks.spawn(async move {
            if let Err(e) = omni_email::serve(listener, email, token).await {
                error!(error = %e, "smtp server failed");
                failed.cancel();
            }
        });
    }
    let webhook_addr = listeners
        .webhook
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;
    if let Some(listener) = listeners.webhook {
        let bus = needs_bus(Part::Webhook)?;
        let webhook = omni_webhook::WebhookAdapter::with_context(
            bus.clone(),
            config.clone(),
            endpoint(Part::Context, &config.connect.context)?,
        )
        .context("cannot start the webhook adapter")?;
        // Registered before anything is served, so no reply waits unseen.
        omni_webhook::outbound::declare(&webhook, bus.as_ref())
            .await
            .context("cannot declare the webhook's outbound consumer")?;
        worker_tasks.spawn(report(
            omni_webhook::outbound::run_with(
                webhook.clone(),
                bus,
                omni_adapter::Backoff {
                    max_attempts: config.webhook.max_attempts,
                    ..omni_adapter::Backoff::default()
                },
                workers.clone(),
            ),
            "webhook outbound",
            failed.clone(),
        ));
        let (token, failed) = (ingress.clone(), failed.clone());
        ingress_tasks.spawn(async move {
            if let Err(e) = omni_webhook::serve(listener, webhook, token).await {
                error!(error = %e, "webhook server failed");
                failed.cancel();
            }
        });
    }
    let names: Vec<&str> = parts.iter().map(|p| p.name()).collect();
    info!(parts = ?names, %grpc_addr, chat = ?chat_addr, desk = ?desk_addr, sms = ?sms_addr, smtp = ?smtp_addr, webhook = ?webhook_addr, metrics = ?metrics_addr, "omniroute parts started");
    Ok(Running {
        grpc: grpc_addr,
        chat: chat_addr,
        desk: desk_addr,
        sms: sms_addr,
        smtp: smtp_addr,
        webhook: webhook_addr,
        metrics: metrics_addr,
        ingress,
        workers,
        apis,
        ingress_tasks,
        worker_tasks,
        api_tasks,
        bus,
        failed,
        router: router_handle,
    })
}

async fn report<E: std::fmt::Display>(
    task: impl std::future::Future<Output = Result<(), E>>,
    what: &'static str,
    failed: CancellationToken,
) {
    if let Err(e) = task.await {
        error!(error = %e, task = what, "background task failed");
        failed.cancel();
    }
}

/// A URL to reach a listener on this machine (a wildcard address becomes loopback).
fn local_url(addr: SocketAddr, tls: bool) -> String {
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}

impl Running {
    /// The bus the parts run over, if any: where an adapter running apart
    /// (or a test standing in for one) publishes.
    pub fn bus(&self) -> Option<Arc<dyn Bus>> {
        self.bus.clone()
    }

    /// The router, if this process runs it: tests move its clock
    /// ([`RouterShell::advance_clock`]).
    pub fn router(&self) -> Option<Arc<RouterShell>> {
        self.router.clone()
    }

    /// Resolves when a part failed and the process should stop.
    pub async fn failed(&self) {
        self.failed.cancelled().await
    }

    /// Stops in order: stop taking customer and agent traffic, finish and
    /// stop the consumers (in-flight messages are settled), stop the APIs,
    /// then flush and close the bus.
    pub async fn shutdown(self) {
        info!("stopping: ingress");
        self.ingress.cancel();
        self.ingress_tasks.close();
        self.ingress_tasks.wait().await;
        info!("stopping: workers");
        self.workers.cancel();
        self.worker_tasks.close();
        self.worker_tasks.wait().await;
        info!("stopping: apis");
        self.apis.cancel();
        self.api_tasks.close();
        self.api_tasks.wait().await;
        if let Some(bus) = self.bus {
            info!("stopping: bus");
            bus.close().await;
        }
        info!("stopped");
    }
}
