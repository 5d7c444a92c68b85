//! Every part in one process, over the embedded bus and store in
//! `data_dir`. This is the default way to run Omniroute.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use omni_bus::{Bus, EmbeddedBus};
use omni_chat::ChatAdapter;
use omni_context::{ContextApi, ContextService, ContextSettings};
use omni_core::config::Config;
use omni_desk::Desk;
use omni_router::{RouterApi, RouterShell};
use omni_store::EmbeddedStore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info};

/// Bound listeners for the servers of the process.
pub struct Listeners {
    /// gRPC (context, router, health, reflection).
    pub grpc: TcpListener,
    /// Web chat page and WebSocket.
    pub chat: TcpListener,
    /// Agent desk page and API.
    pub desk: TcpListener,
}

impl Listeners {
    /// Binds the addresses of the configuration, naming the one that failed.
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
            TcpListener::bind(addr).await.with_context(|| {
                format!("cannot listen for {what} on {addr} (is another process using it?)")
            })
        }
        Ok(Self {
            grpc: bind(config.listen.grpc, "gRPC").await?,
            chat: bind(config.listen.chat, "web chat").await?,
            desk: bind(config.listen.desk, "the agent desk").await?,
        })
    }
}

/// A running embedded Omniroute.
pub struct Running {
    /// Where gRPC listens.
    pub grpc: SocketAddr,
    /// Where the web chat listens.
    pub chat: SocketAddr,
    /// Where the agent desk listens.
    pub desk: SocketAddr,
    ingress: CancellationToken,
    workers: CancellationToken,
    apis: CancellationToken,
    ingress_tasks: TaskTracker,
    worker_tasks: TaskTracker,
    api_tasks: TaskTracker,
    bus: Arc<EmbeddedBus>,
    failed: CancellationToken,
}

/// Starts every part. Returns once all servers accept connections.
pub async fn start(config: Config, listeners: Listeners) -> anyhow::Result<Running> {
    let config = Arc::new(config);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let store = EmbeddedStore::open(&config.data_dir.join("store.redb")).with_context(|| {
        format!(
            "cannot open the store in {} (is another omni using it?)",
            config.data_dir.display()
        )
    })?;
    let embedded_bus = EmbeddedBus::open(&config.data_dir.join("bus.redb")).with_context(|| {
        format!(
            "cannot open the bus in {} (is another omni using it?)",
            config.data_dir.display()
        )
    })?;
    let bus: Arc<dyn Bus> = embedded_bus.clone();

    let grpc_addr = listeners.grpc.local_addr()?;
    let chat_addr = listeners.chat.local_addr()?;
    let desk_addr = listeners.desk.local_addr()?;

    let ingress = CancellationToken::new();
    let workers = CancellationToken::new();
    let apis = CancellationToken::new();
    let failed = CancellationToken::new();
    let (ingress_tasks, worker_tasks, api_tasks) =
        (TaskTracker::new(), TaskTracker::new(), TaskTracker::new());

    let context = Arc::new(ContextService::new(
        store.clone(),
        bus.clone(),
        ContextSettings::new(config.clone()),
    ));
    let router = RouterShell::start(&config, store.clone(), bus.clone())
        .await
        .context("cannot start the router")?;

    // APIs first, so the parts that call them find them.
    {
        let (context, router, token, failed) = (
            context.clone(),
            router.clone(),
            apis.clone(),
            failed.clone(),
        );
        api_tasks.spawn(async move {
            if let Err(e) = crate::grpc::serve(
                listeners.grpc,
                Some(ContextApi::new(context)),
                Some(RouterApi::new(router)),
                token,
            )
            .await
            {
                error!(error = %e, "grpc server failed");
                failed.cancel();
            }
        });
    }

    // Workers: bus consumers and timers.
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
        omni_router::intake::run(router.clone(), bus.clone(), workers.clone()),
        "router intake",
        failed.clone(),
    ));
    worker_tasks.spawn(router.clone().run_timer(workers.clone()));

    // Ingress: the chat adapter and the desk.
    let grpc_url = local_url(grpc_addr);
    let channel = tonic::transport::Endpoint::from_shared(grpc_url.clone())
        .context("invalid gRPC address")?
        .tcp_nodelay(true)
        .connect_lazy();
    let chat = ChatAdapter::new(bus.clone(), channel.clone(), config.clone());
    worker_tasks.spawn(report(
        omni_chat::outbound::run(chat.clone(), bus.clone(), workers.clone()),
        "chat outbound",
        failed.clone(),
    ));
    {
        let (token, failed) = (ingress.clone(), failed.clone());
        ingress_tasks.spawn(async move {
            if let Err(e) = omni_chat::serve(listeners.chat, chat, token).await {
                error!(error = %e, "chat server failed");
                failed.cancel();
            }
        });
    }
    let names: HashMap<String, String> = config
        .agents
        .iter()
        .map(|a| (a.id.clone(), a.name.clone().unwrap_or_else(|| a.id.clone())))
        .collect();
    let desk = Arc::new(Desk::new(channel.clone(), channel, names));
    {
        let (token, failed) = (ingress.clone(), failed.clone());
        ingress_tasks.spawn(async move {
            if let Err(e) = omni_desk::serve(listeners.desk, desk, token).await {
                error!(error = %e, "desk server failed");
                failed.cancel();
            }
        });
    }
    info!(%grpc_addr, %chat_addr, %desk_addr, data_dir = %config.data_dir.display(), "omniroute started in embedded mode");
    Ok(Running {
        grpc: grpc_addr,
        chat: chat_addr,
        desk: desk_addr,
        ingress,
        workers,
        apis,
        ingress_tasks,
        worker_tasks,
        api_tasks,
        bus: embedded_bus,
        failed,
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
fn local_url(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

impl Running {
    /// Resolves when a part failed and the process should stop.
    pub async fn failed(&self) {
        self.failed.cancelled().await
    }

    /// Stops in order: stop taking customer and agent traffic, finish and
    /// stop the consumers, stop the APIs, then flush and close the bus and
    /// store.
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
        info!("stopping: bus and store");
        omni_bus::Bus::close(self.bus.as_ref()).await;
        info!("stopped");
    }
}
