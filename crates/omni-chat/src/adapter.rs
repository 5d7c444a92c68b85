//! The chat adapter's state: connected pages by visitor, inbound publishing
//! and conversation history.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use omni_adapter::inbound::canonical;
use omni_adapter::{Inbound, InboundError, Reporter};
use omni_bus::Bus;
use omni_core::config::Config;
use omni_core::trace::TraceContext;
use omni_core::{Attachment, Channel, EmailDetails, Identity};
use omni_proto::auth::AuthChannel as GrpcChannel;
use omni_proto::common as pb;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{FindConversationRequest, ListMessagesRequest};
use omni_proto::view::MessageView;
use tokio::sync::mpsc;
use tracing::{Instrument, info, warn};

use crate::protocol::ServerFrame;

/// Messages of history sent in a `welcome`.
pub const HISTORY_IN_WELCOME: u64 = 200;

/// Replies whose trace is remembered for their receipts.
pub const MAX_REPLY_TRACES: usize = 4096;

/// Where frames for one connected page go.
pub type FrameSender = mpsc::Sender<ServerFrame>;

/// The chat adapter.
pub struct ChatAdapter {
    bus: Arc<dyn Bus>,
    inbound: Inbound,
    reporter: Reporter,
    context: ContextServiceClient<GrpcChannel>,
    config: Arc<Config>,
    agent_names: HashMap<String, String>,
    connections: Mutex<HashMap<String, Vec<(u64, FrameSender)>>>,
    /// The traces of recent replies pushed live, so their receipts continue them.
    reply_traces: Mutex<(HashMap<String, TraceContext>, VecDeque<String>)>,
    next_connection: AtomicU64,
    places: crate::status::Places,
}

impl ChatAdapter {
    /// An adapter publishing to `bus` and reading history from the context
    /// service at `context`.
    pub fn new(bus: Arc<dyn Bus>, context: GrpcChannel, config: Arc<Config>) -> Arc<Self> {
        let agent_names = config
            .agents
            .iter()
            .map(|a| (a.id.clone(), a.name.clone().unwrap_or_else(|| a.id.clone())))
            .collect();
        let adapter = Arc::new(Self {
            inbound: Inbound::new(bus.clone(), Channel::CHAT),
            reporter: Reporter::new(bus.clone(), Channel::CHAT)
                .with_metric("omni_chat_delivery_reports_total"),
            bus,
            context: ContextServiceClient::new(context),
            config,
            agent_names,
            connections: Mutex::new(HashMap::new()),
            reply_traces: Mutex::new((HashMap::new(), VecDeque::new())),
            next_connection: AtomicU64::new(1),
            places: crate::status::Places::default(),
        });
        let weak = Arc::downgrade(&adapter);
        omni_telemetry::metrics::gauges("chat", move |out| {
            if let Some(adapter) = weak.upgrade() {
                out.push(omni_telemetry::metrics::Sample {
                    name: "omni_chat_connections",
                    labels: Vec::new(),
                    value: adapter.connection_count() as f64,
                });
            }
        });
        adapter
    }

    /// The bus.
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// Publishes this channel's delivery reports.
    pub fn reporter(&self) -> &Reporter {
        &self.reporter
    }

    /// Remembers the trace of reply `message_id` (the most recent
    /// [`MAX_REPLY_TRACES`]), for its receipts.
    pub fn remember_trace(&self, message_id: &str, trace: TraceContext) {
        let mut guard = self.reply_traces.lock().unwrap_or_else(|p| p.into_inner());
        let (traces, order) = &mut *guard;
        if traces.insert(message_id.to_owned(), trace).is_none() {
            order.push_back(message_id.to_owned());
            if order.len() > MAX_REPLY_TRACES
                && let Some(oldest) = order.pop_front()
            {
                traces.remove(&oldest);
            }
        }
    }

    /// The trace of reply `message_id`, when it was pushed live recently.
    pub fn reply_trace(&self, message_id: &str) -> Option<TraceContext> {
        let guard = self.reply_traces.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.get(message_id).copied()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A client of the context service.
    pub fn context(&self) -> ContextServiceClient<GrpcChannel> {
        self.context.clone()
    }

    /// The display name of an agent id.
    pub fn agent_name(&self, id: &str) -> Option<String> {
        self.agent_names.get(id).cloned()
    }

    /// The last place in line of each waiting conversation, for pages that
    /// connect later.
    pub fn places(&self) -> &crate::status::Places {
        &self.places
    }

    /// Registers a connected page of `visitor`; returns its handle.
    pub fn connect(&self, visitor: &str, frames: FrameSender) -> u64 {
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(visitor.to_owned())
            .or_default()
            .push((id, frames));
        id
    }

    /// Forgets a connected page.
    pub fn disconnect(&self, visitor: &str, connection: u64) {
        let mut connections = self.lock();
        if let Some(list) = connections.get_mut(visitor) {
            list.retain(|(id, _)| *id != connection);
            if list.is_empty() {
                connections.remove(visitor);
            }
        }
    }

    /// Whether `visitor` has a page open.
    pub fn is_connected(&self, visitor: &str) -> bool {
        self.lock().contains_key(visitor)
    }

    /// Sends a frame to every page of `visitor`; returns how many got it.
    pub fn push(&self, visitor: &str, frame: &ServerFrame) -> usize {
        let senders: Vec<FrameSender> = self
            .lock()
            .get(visitor)
            .map(|l| l.iter().map(|(_, s)| s.clone()).collect())
            .unwrap_or_default();
        senders
            .iter()
            .filter(|s| s.try_send(frame.clone()).is_ok())
            .count()
    }

    /// Connected pages, for metrics and tests.
    pub fn connection_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<(u64, FrameSender)>>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes a customer message durably; returns once the bus has it.
    pub async fn accept(
        &self,
        visitor: &str,
        client_id: &str,
        text: &str,
        name: Option<&str>,
        topic: Option<&str>,
    ) -> Result<(), InboundError> {
        self.publish(visitor, client_id, text, name, topic, None)
            .await
    }

    /// Publishes a customer's file durably, as a message whose text is the
    /// file's name; returns once the bus has it. The file travels in the
    /// canonical message's attachment list, which is part of its email
    /// details today: a chat message's details carry the attachment only
    /// (no Message-ID, subject or threading), and the context service
    /// stores it and the desk shows it like an email's.
    pub async fn accept_file(
        &self,
        visitor: &str,
        client_id: &str,
        file: Attachment,
        topic: Option<&str>,
    ) -> Result<(), InboundError> {
        let text = file.name.clone();
        self.publish(visitor, client_id, &text, None, topic, Some(file))
            .await
    }

    async fn publish(
        &self,
        visitor: &str,
        client_id: &str,
        text: &str,
        name: Option<&str>,
        topic: Option<&str>,
        file: Option<Attachment>,
    ) -> Result<(), InboundError> {
        let span = tracing::info_span!("chat.accept", visitor = %visitor);
        let root = omni_telemetry::start_trace(&span);
        let mut message = canonical(
            Channel::CHAT,
            format!("chat:{visitor}:{client_id}"),
            Identity::ChatVisitor(visitor.to_owned()),
            text.to_owned(),
        );
        message.topic = topic.map(str::to_owned);
        message.display_name = name.map(str::to_owned);
        let attachment = file.as_ref().map(|f| f.content.len());
        message.email = file.map(|f| EmailDetails {
            attachments: vec![f],
            ..EmailDetails::default()
        });
        let ack = self
            .inbound
            .publish(&message, &root)
            .instrument(span)
            .await?;
        info!(
            trace_id = %root.trace_id_hex(),
            visitor = %visitor,
            key = %message.idempotency_key,
            duplicate = ack.duplicate,
            attachment_bytes = attachment.unwrap_or_default(),
            "chat message accepted"
        );
        Ok(())
    }

    /// The visitor's current conversation and its latest messages. `Ok(None)`
    /// for a visitor with no conversation yet.
    pub async fn history(
        &self,
        visitor: &str,
    ) -> Result<Option<(String, Vec<MessageView>)>, tonic::Status> {
        let mut client = self.context.clone();
        let found = client
            .find_conversation(FindConversationRequest {
                identity: Some(pb::Identity::from(&Identity::ChatVisitor(
                    visitor.to_owned(),
                ))),
            })
            .await;
        let conversation = match found {
            Ok(r) => match r.into_inner().conversation {
                Some(c) => c,
                None => return Ok(None),
            },
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
            Err(status) => {
                warn!(visitor = %visitor, error = %status, "history unavailable");
                return Err(status);
            }
        };
        let after_seq = conversation
            .message_count
            .saturating_sub(HISTORY_IN_WELCOME);
        let page = client
            .list_messages(ListMessagesRequest {
                conversation_id: conversation.id.clone(),
                after_seq,
                limit: HISTORY_IN_WELCOME as u32,
                // The customer's history: never agents' internal notes.
                include_notes: false,
            })
            .await?
            .into_inner();
        let history = page
            .messages
            .iter()
            .map(|m| MessageView::new(m, |id| self.agent_name(id)))
            .collect();
        Ok(Some((conversation.id, history)))
    }
}
