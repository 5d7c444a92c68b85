//! The `omni.routing.v1.RouterService` gRPC API: requests in, the shell
//! called, answers out through [`crate::convert`].

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use omni_core::AgentId;
use omni_core::ConversationId;
use omni_proto::routing::router_service_server::{
    RouterService as RouterGrpc, RouterServiceServer,
};
use omni_proto::routing::*;
use omni_router_core::{EngineError, Event, Presence as CorePresence};
use tokio_stream::wrappers::BroadcastStream;
use tonic::{Request, Response, Status};
use tracing::warn;

use crate::authority::{for_self, for_self_or};
use crate::convert::{agent_event_to_pb, agent_from_pb, hours_from_pb, queue_from_pb};
use crate::{RouterError, RouterShell};
use omni_core::access::Role;
use omni_proto::auth::Caller;

/// The gRPC face of a [`RouterShell`].
#[derive(Clone)]
pub struct RouterApi {
    shell: Arc<RouterShell>,
}

impl RouterApi {
    /// An API over `shell`.
    pub fn new(shell: Arc<RouterShell>) -> Self {
        Self { shell }
    }

    /// The tonic service, ready to add to a server.
    pub fn into_server(self) -> RouterServiceServer<Self> {
        RouterServiceServer::new(self)
    }

    async fn settle(
        &self,
        request: Request<OfferRequest>,
        accept: bool,
    ) -> Result<Response<AgentState>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let agent_id = agent_id(&req.agent_id)?;
        for_self(&caller, agent_id.as_str(), "settle an offer")?;
        self.shell.settle(&agent_id, req.offer_id, accept).await?;
        Ok(Response::new(self.state(&agent_id)?))
    }

    fn state(&self, agent: &AgentId) -> Result<AgentState, Status> {
        self.shell
            .with_engine(|e| e.agent(agent))
            .map(|v| self.shell.agent_state_now(&v))
            .ok_or_else(|| RouterError::from(EngineError::UnknownAgent(agent.clone())).into())
    }
}

fn agent_id(value: &str) -> Result<AgentId, Status> {
    if value.is_empty() {
        Err(RouterError::InvalidArgument("agent_id is required".into()).into())
    } else {
        Ok(AgentId::from(value))
    }
}

type AgentEventStream = Pin<Box<dyn Stream<Item = Result<AgentEvent, Status>> + Send>>;

#[tonic::async_trait]
impl RouterGrpc for RouterApi {
    async fn list_agents(
        &self,
        _: Request<ListAgentsRequest>,
    ) -> Result<Response<ListAgentsResponse>, Status> {
        let agents = self
            .shell
            .with_engine(|e| e.agents())
            .iter()
            .map(|v| self.shell.agent_state_now(v))
            .collect();
        Ok(Response::new(ListAgentsResponse { agents }))
    }

    async fn get_agent(
        &self,
        request: Request<GetAgentRequest>,
    ) -> Result<Response<AgentState>, Status> {
        let caller = Caller::of(&request)?;
        let agent = agent_id(&request.get_ref().agent_id)?;
        for_self_or(&caller, agent.as_str(), Role::Supervisor, "read the state")?;
        Ok(Response::new(self.state(&agent)?))
    }

    async fn set_presence(
        &self,
        request: Request<SetPresenceRequest>,
    ) -> Result<Response<AgentState>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let agent = agent_id(&req.agent_id)?;
        for_self_or(&caller, agent.as_str(), Role::Supervisor, "set presence")?;
        let presence = match Presence::try_from(req.presence) {
            Ok(Presence::Available) => CorePresence::Available,
            Ok(Presence::Away) => CorePresence::Away {
                reason: if req.reason.is_empty() {
                    None
                } else {
                    Some(req.reason)
                },
            },
            Ok(Presence::Offline) => CorePresence::Offline,
            _ => {
                return Err(RouterError::InvalidArgument(
                    "presence must be available, away or offline".into(),
                )
                .into());
            }
        };
        self.shell.set_presence(&agent, presence).await?;
        Ok(Response::new(self.state(&agent)?))
    }

    async fn accept_offer(
        &self,
        request: Request<OfferRequest>,
    ) -> Result<Response<AgentState>, Status> {
        self.settle(request, true).await
    }

    async fn decline_offer(
        &self,
        request: Request<OfferRequest>,
    ) -> Result<Response<AgentState>, Status> {
        self.settle(request, false).await
    }

    async fn list_queues(
        &self,
        _: Request<ListQueuesRequest>,
    ) -> Result<Response<ListQueuesResponse>, Status> {
        let queues = self.shell.queue_states();
        Ok(Response::new(ListQueuesResponse { queues }))
    }

    async fn queue_day(
        &self,
        _: Request<QueueDayRequest>,
    ) -> Result<Response<QueueDayResponse>, Status> {
        Ok(Response::new(self.shell.queue_day()))
    }

    async fn explain_conversation(
        &self,
        request: Request<ExplainRequest>,
    ) -> Result<Response<ExplainResponse>, Status> {
        let id = ConversationId::from(request.get_ref().conversation_id.as_str());
        let mut decisions: Vec<Decision> = self.shell.with_engine(|e| {
            e.explain(&id)
                .into_iter()
                .map(|d| Decision {
                    at_ms: d.at_ms,
                    summary: d.summary,
                    kind: d.kind.to_owned(),
                    agent_id: d.agent.map(|a| a.to_string()).unwrap_or_default(),
                    eligible: d.eligible,
                    rule: d.rule.unwrap_or_default(),
                    step: d.step,
                    score: d.score,
                })
                .collect()
        });
        // The routing rules that set its queue or priority came first.
        if !decisions.is_empty() {
            decisions.extend(self.shell.rule_decisions(&id));
        }
        // Every contact the router holds or recently released has at least
        // its arrival recorded: nothing means unknown.
        if decisions.is_empty() {
            return Err(RouterError::UnknownConversation(id).into());
        }
        Ok(Response::new(ExplainResponse { decisions }))
    }

    async fn upsert_agent(
        &self,
        request: Request<UpsertAgentRequest>,
    ) -> Result<Response<AgentState>, Status> {
        let spec = agent_from_pb(request.into_inner().agent).inspect_err(|e| {
            warn!(error = %e, "upsert agent refused");
        })?;
        let id = spec.id.clone();
        self.shell.upsert_agent(spec).await?;
        Ok(Response::new(self.state(&id)?))
    }

    async fn upsert_queue(
        &self,
        request: Request<UpsertQueueRequest>,
    ) -> Result<Response<QueueState>, Status> {
        let request = request.into_inner();
        let checked = queue_from_pb(request.queue).and_then(|mut spec| {
            let keep_hours = match (request.hours, request.always_open) {
                (Some(_), true) => {
                    return Err(RouterError::InvalidArgument(
                        "always_open: leave hours out to make the queue always open".into(),
                    ));
                }
                (Some(hours), false) => {
                    spec.hours = Some(hours_from_pb(hours)?);
                    false
                }
                (None, true) => {
                    spec.hours = None;
                    false
                }
                (None, false) => true,
            };
            Ok((spec, keep_hours))
        });
        let (spec, keep_hours) = checked.inspect_err(|e| {
            warn!(error = %e, "upsert queue refused");
        })?;
        let id = spec.id.clone();
        self.shell
            .upsert_queue(spec, keep_hours)
            .await
            .inspect_err(|e| {
                warn!(queue = %id, error = %e, "upsert queue refused");
            })?;
        self.shell
            .queue_states()
            .into_iter()
            .find(|q| q.queue == id.as_str())
            .map(Response::new)
            .ok_or_else(|| RouterError::from(EngineError::UnknownQueue(id)).into())
    }

    async fn transfer_conversation(
        &self,
        request: Request<TransferRequest>,
    ) -> Result<Response<TransferResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        if req.conversation_id.is_empty() {
            return Err(RouterError::InvalidArgument("conversation_id is required".into()).into());
        }
        let conversation_id = ConversationId::from(req.conversation_id.as_str());
        if let Some(actor) = caller.actor()
            && !actor.role.at_least(Role::Supervisor)
        {
            // An agent moves only a conversation assigned to them.
            let holds = self.shell.with_engine(|e| {
                e.agent(&AgentId::from(actor.user.as_str()))
                    .is_some_and(|v| v.assigned.contains(&conversation_id))
            });
            if !holds {
                return Err(RouterError::PermissionDenied(format!(
                    "{} may not transfer conversation {conversation_id}: it is not assigned to them",
                    actor.user
                ))
                .into());
            }
        }
        let event = match req.target {
            Some(transfer_request::Target::Queue(queue)) if !queue.is_empty() => {
                Event::TransferToQueue {
                    conversation_id,
                    queue: queue.as_str().into(),
                }
            }
            Some(transfer_request::Target::AgentId(agent)) if !agent.is_empty() => {
                Event::TransferToAgent {
                    conversation_id,
                    agent_id: agent.as_str().into(),
                }
            }
            _ => {
                return Err(RouterError::InvalidArgument(
                    "target: a queue or an agent_id is required".into(),
                )
                .into());
            }
        };
        self.shell.apply(event).await.inspect_err(|e| {
            warn!(conversation_id = %req.conversation_id, error = %e, "transfer refused");
        })?;
        Ok(Response::new(TransferResponse {}))
    }

    type WatchAgentStream = AgentEventStream;

    async fn watch_agent(
        &self,
        request: Request<WatchAgentRequest>,
    ) -> Result<Response<Self::WatchAgentStream>, Status> {
        let caller = Caller::of(&request)?;
        let agent = agent_id(&request.get_ref().agent_id)?;
        for_self_or(
            &caller,
            agent.as_str(),
            Role::Supervisor,
            "watch the events",
        )?;
        // Subscribe before reading the state so no event falls in between.
        let live = BroadcastStream::new(self.shell.subscribe());
        let first = AgentEvent {
            agent_id: agent.to_string(),
            kind: Some(agent_event::Kind::State(self.state(&agent)?)),
        };
        // The agent counts as connected while this stream is open: the
        // guard lives in the stream and is dropped with it.
        let watch = self.shell.watch(&agent);
        let wanted = agent.to_string();
        let shell = self.shell.clone();
        let live = live.filter_map(move |item| {
            let _open = &watch;
            let out = match item {
                Ok(event) if event.agent_id == agent => {
                    let mut pb = agent_event_to_pb(&event);
                    if let (
                        Some(agent_event::Kind::State(state)),
                        crate::events::AgentEventKind::State(view),
                    ) = (pb.kind.as_mut(), &event.kind)
                    {
                        shell.add_wall_fields(state, view);
                    }
                    Some(Ok(pb))
                }
                Ok(_) => None,
                Err(e) => {
                    // The watcher fell behind: tell it to resync rather than skip silently.
                    warn!(agent_id = %wanted, error = %e, "agent watcher lagged");
                    Some(Err(Status::data_loss(
                        "agent event stream lagged; reconnect to resync",
                    )))
                }
            };
            std::future::ready(out)
        });
        let stream = futures_util::stream::once(std::future::ready(Ok(first))).chain(live);
        Ok(Response::new(Box::pin(stream)))
    }
}
