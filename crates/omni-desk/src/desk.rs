//! The desk's state: the accounts that sign in, the gRPC clients of the
//! context and router services, and who may see which conversation.

use std::collections::HashMap;
use std::sync::Arc;

use omni_accounts::Accounts;
use omni_core::access::{Actor, Role};
use omni_proto::auth::{AuthChannel, act_for};
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::routing::{AgentState, GetAgentRequest};
use omni_proto::status::{self, CONTEXT_DOMAIN, ROUTING_DOMAIN};
use tower::ServiceExt as _;
use tower::util::MapErr;

use crate::channels::Channels;
use crate::error::DeskError;

/// A channel to one backend whose transport failures (cannot connect,
/// connection lost) are `UNAVAILABLE` statuses naming that backend, as the
/// backend's own unavailable statuses do.
pub type BackendChannel = MapErr<AuthChannel, fn(tonic::transport::Error) -> tonic::Status>;

fn context_down(e: tonic::transport::Error) -> tonic::Status {
    status::unavailable("context", CONTEXT_DOMAIN, format!("context service: {e}"))
}

fn router_down(e: tonic::transport::Error) -> tonic::Status {
    status::unavailable("router", ROUTING_DOMAIN, format!("router service: {e}"))
}

/// The desk: who may sign in, and how to reach the services.
pub struct Desk {
    context: ContextServiceClient<BackendChannel>,
    router: RouterServiceClient<BackendChannel>,
    accounts: Arc<Accounts>,
    agent_names: HashMap<String, String>,
    channels: Channels,
    /// `email.allow_remote_images`: what email HTML is sanitized to when
    /// served ([`crate::views`]).
    remote_images: bool,
    /// Away reasons and wrap-up codes ([`crate::settings_api`]).
    settings: crate::settings_api::DeskSettings,
    /// The walls' one poller of the router ([`crate::wall_feed`]).
    wall_feed: crate::wall_feed::WallFeed,
}

impl Desk {
    /// A desk over the context and router services, called with the desk's
    /// service token, signing people in with `accounts`. `agent_names` maps
    /// agent ids to display names for message views.
    pub fn new(
        context: AuthChannel,
        router: AuthChannel,
        agent_names: HashMap<String, String>,
        accounts: Arc<Accounts>,
    ) -> Self {
        Self {
            // Attachments come back whole: allow the context store's largest.
            context: ContextServiceClient::new(context.map_err(context_down as fn(_) -> _))
                .max_decoding_message_size(MAX_ATTACHMENT_MESSAGE_BYTES),
            router: RouterServiceClient::new(router.map_err(router_down as fn(_) -> _)),
            accounts,
            agent_names,
            channels: Channels::default(),
            remote_images: false,
            settings: Default::default(),
            wall_feed: Default::default(),
        }
    }

    /// The walls' one poller of the router, shared by every open wall.
    pub fn wall_feed(&self) -> &crate::wall_feed::WallFeed {
        &self.wall_feed
    }

    /// The same desk offering `settings` (away reasons, wrap-up codes).
    pub fn with_settings(mut self, settings: crate::settings_api::DeskSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Away reasons and wrap-up codes.
    pub fn settings(&self) -> &crate::settings_api::DeskSettings {
        &self.settings
    }

    /// The same desk keeping remote images in the email HTML it serves
    /// (`email.allow_remote_images`; off by default).
    pub fn with_remote_images(mut self, allow: bool) -> Self {
        self.remote_images = allow;
        self
    }

    /// A message as the desk serves it: its email HTML sanitized again
    /// ([`crate::views::message_view`]).
    pub fn message_view(&self, m: &omni_proto::common::Message) -> omni_proto::view::MessageView {
        crate::views::message_view(m, self.remote_images, |a| self.agent_name(a))
    }

    /// The same desk replying on `channels` (chat only by default).
    pub fn with_channels(mut self, channels: Channels) -> Self {
        self.channels = channels;
        self
    }

    /// The enabled reply channels and their limits.
    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// A context service client.
    pub fn context(&self) -> ContextServiceClient<BackendChannel> {
        self.context.clone()
    }

    /// A router service client.
    pub fn router(&self) -> RouterServiceClient<BackendChannel> {
        self.router.clone()
    }

    /// An agent's display name.
    pub fn agent_name(&self, id: &str) -> Option<String> {
        self.agent_names.get(id).cloned()
    }

    /// The agent's state from the router.
    pub async fn agent_state(&self, agent_id: &str) -> Result<AgentState, DeskError> {
        Ok(self
            .router()
            .get_agent(traced(
                &Actor::new(agent_id, Role::Agent),
                GetAgentRequest {
                    agent_id: agent_id.to_owned(),
                },
            ))
            .await?
            .into_inner())
    }

    /// The signed-in person's agent state, or `None` when they are not an
    /// agent in the router (a supervisor or admin without agent work).
    pub async fn agent_state_of(&self, actor: &Actor) -> Result<Option<AgentState>, DeskError> {
        match self.agent_state(&actor.user).await {
            Ok(state) => Ok(Some(state)),
            Err(DeskError::Backend(s)) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Fails unless `actor` may see (or, with `assigned_only`, act in) the
    /// conversation: a supervisor sees every conversation; anyone acts only
    /// in a conversation assigned to them and sees only those assigned or
    /// offered to them.
    pub async fn check_access(
        &self,
        actor: &Actor,
        conversation_id: &str,
        assigned_only: bool,
    ) -> Result<(), DeskError> {
        if !assigned_only && actor.role.at_least(Role::Supervisor) {
            return Ok(());
        }
        let Some(state) = self.agent_state_of(actor).await? else {
            return Err(DeskError::NotYours(conversation_id.to_owned()));
        };
        let assigned = state.assigned.iter().any(|c| c == conversation_id);
        let offered = state
            .offers
            .iter()
            .any(|o| o.conversation_id == conversation_id);
        if assigned || (!assigned_only && offered) {
            Ok(())
        } else {
            Err(DeskError::NotYours(conversation_id.to_owned()))
        }
    }

    /// Accounts, sign-in and sessions.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }
}

/// Largest gRPC response the desk reads (an attachment with its content).
pub const MAX_ATTACHMENT_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// A gRPC request made for `actor` (the signed-in person the services
/// hold the call to), carrying the current span's trace context (a new
/// trace's outside one) in its `traceparent` metadata.
pub fn traced<T>(actor: &Actor, message: T) -> tonic::Request<T> {
    let mut request = as_desk(message);
    act_for(&mut request, actor);
    request
}

/// A gRPC request the desk makes as itself, for no one signed in (finding
/// the agent who signs in; the conversation events it filters per agent).
pub fn as_desk<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    omni_telemetry::inject(&mut request);
    request
}
