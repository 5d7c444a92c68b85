//! The `omni.context.v1.ContextService` gRPC API.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use omni_bus::topology::subjects;
use omni_core::trace::TraceContext;
use omni_core::{AgentId, ConversationId, CustomerId, CustomerUpdate, Identity};
use omni_proto::context::context_service_server::{
    ContextService as ContextGrpc, ContextServiceServer,
};
use omni_proto::context::*;
use omni_proto::convert::channel_from_pb;
use omni_proto::{common as pb, events as ev};
use prost::Message as _;
use tonic::{Request, Response, Status};
use tracing::{Instrument, warn};

use crate::audit::origin;
use crate::authority::Authority as _;
use crate::service::{NoteOptions, WrapUp};
use crate::{ContextError, ContextService};
use omni_proto::auth::Caller;

/// Default and largest page of [`ListMessages`](ContextGrpc::list_messages).
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 500;
/// Default and largest page of a customer's conversations.
const DEFAULT_CONVERSATIONS: usize = 50;
const MAX_CONVERSATIONS: usize = 200;

/// The gRPC face of a [`ContextService`].
#[derive(Clone)]
pub struct ContextApi {
    service: Arc<ContextService>,
}

impl ContextApi {
    /// An API over `service`.
    pub fn new(service: Arc<ContextService>) -> Self {
        Self { service }
    }

    /// The tonic service, ready to add to a server.
    pub fn into_server(self) -> ContextServiceServer<Self> {
        ContextServiceServer::new(self)
    }
}

/// Makes `span` continue `trace` when it has no parent: served over gRPC it
/// is already the child of the call's span (`omni_telemetry::ServerTraceLayer`),
/// which continues the caller's trace.
fn continue_outside_server(span: &tracing::Span, trace: &TraceContext) {
    if tracing::Span::current().is_none() {
        omni_telemetry::continue_trace(span, trace);
    }
}

/// The trace context of a gRPC request's `traceparent` metadata, or a new one.
pub fn trace_of<T>(request: &Request<T>) -> TraceContext {
    request
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
        .unwrap_or_else(TraceContext::new_root)
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, Status> {
    if value.is_empty() {
        Err(ContextError::InvalidArgument(format!("{field} is required")).into())
    } else {
        Ok(value)
    }
}

fn identity_field(identity: Option<pb::Identity>) -> Result<Identity, ContextError> {
    identity
        .ok_or_else(|| ContextError::InvalidArgument("identity is required".into()))
        .and_then(|i| {
            Identity::try_from(i).map_err(|e| ContextError::InvalidArgument(e.to_string()))
        })
}

type EventStream = Pin<Box<dyn Stream<Item = Result<ev::ConversationEvent, Status>> + Send>>;

#[tonic::async_trait]
impl ContextGrpc for ContextApi {
    async fn get_conversation(
        &self,
        request: Request<GetConversationRequest>,
    ) -> Result<Response<GetConversationResponse>, Status> {
        let caller = Caller::of(&request)?;
        let id = ConversationId::from(required(
            &request.get_ref().conversation_id,
            "conversation_id",
        )?);
        let conversation = self.service.readable(&caller, &id).await?;
        let customer = self.service.customer(&conversation.customer_id).await?;
        // Best effort: the conversation reads without its follow-up.
        let followup = self.service.followup_view(&id).await.unwrap_or_else(|e| {
            warn!(conversation_id = %id, error = %e, "follow-up not read");
            None
        });
        // Best effort too: the conversation reads without its survey.
        let survey = self.service.survey_view(&id).await.unwrap_or_else(|e| {
            warn!(conversation_id = %id, error = %e, "survey not read");
            None
        });
        Ok(Response::new(GetConversationResponse {
            conversation: Some(self.service.conversation_pb(&conversation)),
            customer: Some(pb::Customer::from(&customer)),
            followup,
            survey,
        }))
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.get_ref();
        let id = ConversationId::from(required(&req.conversation_id, "conversation_id")?);
        let limit = match req.limit as usize {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        // Distinguish an empty page from an unknown conversation.
        self.service.readable(&caller, &id).await?;
        let messages = self
            .service
            .store()
            .messages(&id, req.after_seq, limit)
            .await
            .map_err(ContextError::from)?;
        let next_after_seq = if messages.len() == limit {
            messages.last().map(|m| m.seq).unwrap_or(0)
        } else {
            0
        };
        // Internal notes go only to people who ask (the desk): never to an
        // adapter, so never into the customer's history.
        let notes = req.include_notes && caller.actor().is_some();
        Ok(Response::new(ListMessagesResponse {
            messages: messages
                .iter()
                .filter(|m| notes || !m.is_internal())
                .map(pb::Message::from)
                .collect(),
            next_after_seq,
        }))
    }

    async fn get_customer(
        &self,
        request: Request<GetCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        let caller = Caller::of(&request)?;
        let id = CustomerId::from(required(&request.get_ref().customer_id, "customer_id")?);
        self.service.check_customer(&caller, &id).await?;
        let customer = self.service.customer(&id).await?;
        Ok(Response::new(pb::Customer::from(&customer)))
    }

    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Result<Response<pb::Message>, Status> {
        let trace = trace_of(&request);
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let id = ConversationId::from(required(&req.conversation_id, "conversation_id")?);
        let agent = AgentId::from(required(&req.agent_id, "agent_id")?);
        let channel = match (req.channel, req.channel_name.as_str()) {
            (0, "") => None,
            (value, name) => Some(channel_from_pb(value, name).ok_or_else(|| {
                ContextError::InvalidArgument(format!("unknown channel {value} {name:?}"))
            })?),
        };
        let span = tracing::info_span!("context.send_message", omni.conversation_id = %id, omni.agent_id = %agent);
        continue_outside_server(&span, &trace);
        let files = req
            .attachments
            .into_iter()
            .map(|a| omni_core::Attachment {
                name: a.name,
                content_type: a.content_type,
                content: a.content,
            })
            .collect();
        let message = self
            .service
            .send_reply_with_files(
                &id,
                &agent,
                &req.text,
                &req.idempotency_key,
                channel,
                files,
                &caller,
                trace,
            )
            .instrument(span)
            .await?;
        Ok(Response::new(pb::Message::from(&message)))
    }

    async fn resolve_conversation(
        &self,
        request: Request<ResolveConversationRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        let trace = trace_of(&request);
        let caller = Caller::of(&request)?;
        let req = request.get_ref();
        if let Some(actor) = caller.actor()
            && !req.agent_id.is_empty()
            && req.agent_id != actor.user
            && !actor.role.at_least(omni_core::access::Role::Supervisor)
        {
            return Err(ContextError::PermissionDenied(format!(
                "{} may not resolve as {}",
                actor.user, req.agent_id
            ))
            .into());
        }
        let id = ConversationId::from(required(&req.conversation_id, "conversation_id")?);
        let wrapup = WrapUp {
            code: (!req.wrapup_code.is_empty()).then(|| req.wrapup_code.clone()),
            note: (!req.note.is_empty()).then(|| req.note.clone()),
            followup_at_ms: (req.followup_at_ms > 0).then_some(req.followup_at_ms),
        };
        let span = tracing::info_span!("context.resolve", omni.conversation_id = %id);
        continue_outside_server(&span, &trace);
        let conversation = self
            .service
            .resolve(&id, &caller, &wrapup, trace)
            .instrument(span)
            .await?;
        Ok(Response::new(self.service.conversation_pb(&conversation)))
    }

    async fn add_note(
        &self,
        request: Request<AddNoteRequest>,
    ) -> Result<Response<pb::Message>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let id = ConversationId::from(required(&req.conversation_id, "conversation_id")?);
        let agent = AgentId::from(required(&req.agent_id, "agent_id")?);
        let options = NoteOptions {
            transfer_to: (!req.transfer_to.is_empty()).then_some(req.transfer_to),
            wrapup_code: None,
        };
        let message = self
            .service
            .add_note(
                &id,
                &agent,
                &req.text,
                &req.idempotency_key,
                options,
                &caller,
            )
            .await?;
        Ok(Response::new(pb::Message::from(&message)))
    }

    async fn find_conversation(
        &self,
        request: Request<FindConversationRequest>,
    ) -> Result<Response<GetConversationResponse>, Status> {
        let identity = self
            .service
            .normalize(&identity_field(request.into_inner().identity)?)?;
        let store = self.service.store();
        let customer_id = store
            .customer_by_identity(&identity)
            .await
            .map_err(ContextError::from)?
            .ok_or_else(|| ContextError::NotFound(format!("customer with identity {identity}")))?;
        let conversation = store
            .latest_conversation(&customer_id)
            .await
            .map_err(ContextError::from)?
            .ok_or_else(|| {
                ContextError::NotFound(format!("conversation of customer {customer_id}"))
            })?;
        let customer = self.service.customer(&customer_id).await?;
        Ok(Response::new(GetConversationResponse {
            conversation: Some(self.service.conversation_pb(&conversation)),
            customer: Some(pb::Customer::from(&customer)),
            followup: None,
            survey: None,
        }))
    }

    type WatchConversationsStream = EventStream;

    async fn watch_conversations(
        &self,
        request: Request<WatchConversationsRequest>,
    ) -> Result<Response<Self::WatchConversationsStream>, Status> {
        let wanted: std::collections::HashSet<String> =
            request.into_inner().conversation_ids.into_iter().collect();
        let messages = self
            .service
            .bus()
            .subscribe(subjects::CONVERSATION_EVENTS)
            .await
            .map_err(ContextError::from)?;
        let stream = messages.filter_map(move |msg| {
            let event = match ev::ConversationEvent::decode(msg.payload.as_ref()) {
                Ok(e) => Some(e),
                Err(e) => {
                    warn!(subject = %msg.subject, error = %e, "undecodable conversation event skipped");
                    None
                }
            };
            let event = event.filter(|e| wanted.is_empty() || wanted.contains(&e.conversation_id));
            std::future::ready(event.map(Ok))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn update_customer(
        &self,
        request: Request<UpdateCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let id = CustomerId::from(required(&req.customer_id, "customer_id")?);
        self.service.check_customer(&caller, &id).await?;
        let update = CustomerUpdate {
            display_name: req.display_name,
            language: req.language,
            tier: req.tier,
            external_id: req.external_id,
            attributes: req.attributes.into_iter().collect(),
        };
        let customer = self.service.update_customer(&id, &update).await?;
        Ok(Response::new(pb::Customer::from(&customer)))
    }

    async fn list_customer_conversations(
        &self,
        request: Request<ListCustomerConversationsRequest>,
    ) -> Result<Response<ListCustomerConversationsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.get_ref();
        let id = CustomerId::from(required(&req.customer_id, "customer_id")?);
        self.service.check_customer(&caller, &id).await?;
        let limit = match req.limit as usize {
            0 => DEFAULT_CONVERSATIONS,
            n => n.min(MAX_CONVERSATIONS),
        };
        let offset = req.offset as usize;
        let conversations = self
            .service
            .customer_conversations(&id, offset, limit)
            .await?;
        let next_offset = if conversations.len() == limit {
            u32::try_from(offset + limit).unwrap_or(u32::MAX)
        } else {
            0
        };
        Ok(Response::new(ListCustomerConversationsResponse {
            conversations: conversations
                .iter()
                .map(|c| self.service.conversation_pb(c))
                .collect(),
            next_offset,
        }))
    }

    async fn find_customer(
        &self,
        request: Request<FindCustomerRequest>,
    ) -> Result<Response<pb::Customer>, Status> {
        let identity = identity_field(request.into_inner().identity)?;
        let customer = self.service.find_customer(&identity).await?;
        Ok(Response::new(pb::Customer::from(&customer)))
    }

    async fn link_identity(
        &self,
        request: Request<LinkIdentityRequest>,
    ) -> Result<Response<LinkIdentityResponse>, Status> {
        let caller = Caller::of(&request)?;
        let from = origin(&request, &caller);
        let req = request.into_inner();
        let id = CustomerId::from(required(&req.customer_id, "customer_id")?);
        self.service.check_customer(&caller, &id).await?;
        let identity = self.service.normalize(&identity_field(req.identity)?)?;
        self.service
            .check_link(&caller, &id, &identity, req.verified)
            .await?;
        let linked = self
            .service
            .link_identity(&id, &identity, &req.agent_id, &req.evidence, req.verified)
            .await?;
        if let Some(record) = &linked.merge {
            let detail = format!(
                "merge {}: {} into {id} by linking an identity",
                record.id, record.absorbed.id
            );
            self.service
                .audit(&caller, "customers_merged", id.as_str(), &from, detail)
                .await;
        }
        Ok(Response::new(LinkIdentityResponse {
            customer: Some(pb::Customer::from(&linked.customer)),
            merge: linked.merge.as_ref().map(pb::MergeRecord::from),
        }))
    }

    async fn merge_customers(
        &self,
        request: Request<MergeCustomersRequest>,
    ) -> Result<Response<pb::MergeRecord>, Status> {
        let caller = Caller::of(&request)?;
        let from = origin(&request, &caller);
        let req = request.into_inner();
        let survivor = CustomerId::from(required(&req.survivor_id, "survivor_id")?);
        self.service.check_customer(&caller, &survivor).await?;
        let absorbed = CustomerId::from(required(&req.absorbed_id, "absorbed_id")?);
        let record = self
            .service
            .merge_customers(&survivor, &absorbed, &req.agent_id, &req.evidence)
            .await?;
        let detail = format!("merge {}: {absorbed} into {survivor}", record.id);
        self.service
            .audit(
                &caller,
                "customers_merged",
                survivor.as_str(),
                &from,
                detail,
            )
            .await;
        Ok(Response::new(pb::MergeRecord::from(&record)))
    }

    async fn unmerge_customers(
        &self,
        request: Request<UnmergeCustomersRequest>,
    ) -> Result<Response<UnmergeCustomersResponse>, Status> {
        let caller = Caller::of(&request)?;
        let from = origin(&request, &caller);
        let req = request.into_inner();
        let merge_id = required(&req.merge_id, "merge_id")?;
        let record = self.service.merge_record(merge_id).await?;
        self.service
            .check_customer(&caller, &record.survivor)
            .await?;
        let (survivor, restored) = self
            .service
            .unmerge(merge_id, &req.agent_id, &req.reason)
            .await?;
        let detail = format!(
            "merge {merge_id}: {} restored from {}",
            restored.id, survivor.id
        );
        self.service
            .audit(
                &caller,
                "customers_unmerged",
                survivor.id.as_str(),
                &from,
                detail,
            )
            .await;
        Ok(Response::new(UnmergeCustomersResponse {
            survivor: Some(pb::Customer::from(&survivor)),
            restored: Some(pb::Customer::from(&restored)),
        }))
    }

    async fn get_merge(
        &self,
        request: Request<GetMergeRequest>,
    ) -> Result<Response<pb::MergeRecord>, Status> {
        let caller = Caller::of(&request)?;
        let merge_id = required(&request.get_ref().merge_id, "merge_id")?;
        let record = self.service.merge_record(merge_id).await?;
        self.service
            .check_customer(&caller, &record.survivor)
            .await?;
        Ok(Response::new(pb::MergeRecord::from(&record)))
    }

    async fn get_attachment(
        &self,
        request: Request<GetAttachmentRequest>,
    ) -> Result<Response<ev::Attachment>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.get_ref();
        let id = ConversationId::from(required(&req.conversation_id, "conversation_id")?);
        self.service.readable(&caller, &id).await?;
        if req.seq == 0 || req.index == 0 {
            return Err(ContextError::InvalidArgument("seq and index start at 1".into()).into());
        }
        let attachment = self.service.attachment(&id, req.seq, req.index).await?;
        Ok(Response::new(ev::Attachment {
            name: attachment.info.name,
            content_type: attachment.info.content_type,
            size: attachment.info.size,
            content: attachment.content,
        }))
    }

    async fn erase_customer(
        &self,
        request: Request<EraseCustomerRequest>,
    ) -> Result<Response<EraseCustomerResponse>, Status> {
        let caller = Caller::of(&request)?;
        let from = origin(&request, &caller);
        let id = CustomerId::from(required(&request.get_ref().customer_id, "customer_id")?);
        let erased = self.service.erase_customer(&caller, &id, &from).await?;
        Ok(Response::new(EraseCustomerResponse {
            customer_ids: erased
                .customer_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            conversations: erased.conversations,
            messages: erased.messages,
            attachments: erased.attachments,
            merges: erased.merges,
            bus_messages: erased.bus_messages,
        }))
    }

    async fn export_customer(
        &self,
        request: Request<ExportCustomerRequest>,
    ) -> Result<Response<ExportCustomerResponse>, Status> {
        let caller = Caller::of(&request)?;
        let from = origin(&request, &caller);
        let id = CustomerId::from(required(&request.get_ref().customer_id, "customer_id")?);
        let document = self.service.export_customer(&caller, &id, &from).await?;
        Ok(Response::new(ExportCustomerResponse {
            json: document.to_string(),
        }))
    }

    async fn list_dead_letters(
        &self,
        request: Request<ListDeadLettersRequest>,
    ) -> Result<Response<ListDeadLettersResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListDeadLettersRequest { channel, limit } = request.into_inner();
        let channel = Some(channel.as_str()).filter(|c| !c.is_empty());
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let letters = self.service.dead_letters(&caller, channel, limit).await?;
        Ok(Response::new(ListDeadLettersResponse {
            dead_letters: letters
                .into_iter()
                .map(|l| DeadLetterRecord {
                    message_id: l.message_id,
                    conversation_id: l.conversation_id,
                    channel: l.channel,
                    destination: l.destination,
                    attempts: l.attempts,
                    reason: l.reason,
                    at_ms: l.at_ms,
                    text: l.text,
                    decode_error: l.decode_error.unwrap_or_default(),
                })
                .collect(),
        }))
    }

    async fn list_survey_answers(
        &self,
        request: Request<ListSurveyAnswersRequest>,
    ) -> Result<Response<ListSurveyAnswersResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let token = Some(req.page_token.as_str()).filter(|t| !t.is_empty());
        let limit = usize::try_from(req.limit).unwrap_or(usize::MAX);
        let page = self
            .service
            .survey_answers(&caller, req.from_ms, req.to_ms, token, limit)
            .await?;
        Ok(Response::new(ListSurveyAnswersResponse {
            answers: page
                .answers
                .into_iter()
                .map(|a| SurveyAnswer {
                    answered_at_ms: a.answered_at_ms,
                    conversation_id: a.conversation_id.to_string(),
                    queue: a.queue,
                    agent_id: a.agent,
                    channel: a.channel,
                    kind: a.kind,
                    score: u32::from(a.score),
                    comment: a.comment,
                })
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
            sends: page
                .sends
                .into_iter()
                .map(|s| omni_proto::context::SurveySends {
                    queue: s.queue,
                    agent_id: s.agent,
                    kind: s.kind,
                    sent: s.sent,
                    responded: s.responded,
                })
                .collect(),
        }))
    }

    async fn answer_survey_link(
        &self,
        request: Request<AnswerSurveyLinkRequest>,
    ) -> Result<Response<AnswerSurveyLinkResponse>, Status> {
        let caller = Caller::of(&request)?;
        let trace = trace_of(&request);
        let req = request.into_inner();
        let answer = self
            .service
            .answer_survey_link(
                &caller,
                &req.token,
                req.score,
                &req.comment,
                req.record,
                trace,
            )
            .await?;
        Ok(Response::new(answer.into()))
    }

    async fn signal_conversation(
        &self,
        request: Request<SignalConversationRequest>,
    ) -> Result<Response<SignalConversationResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        let id = ConversationId::from(required(&req.conversation_id, "conversation_id")?);
        let agent = AgentId::from(required(&req.agent_id, "agent_id")?);
        let signal = match req.signal {
            Some(signal_conversation_request::Signal::Typing(typing)) => {
                crate::service::Signal::Typing(typing)
            }
            Some(signal_conversation_request::Signal::ReadUpToSeq(seq)) => {
                crate::service::Signal::ReadUpTo(seq)
            }
            None => {
                return Err(ContextError::InvalidArgument(
                    "signal must be typing or read_up_to_seq".into(),
                )
                .into());
            }
        };
        self.service.signal(&id, &agent, signal, &caller).await?;
        Ok(Response::new(SignalConversationResponse {}))
    }
}
