//! SMS surveys after service in both modes (embedded store and bus; Redis
//! and NATS): a resolved SMS conversation's survey goes out as a text
//! asking for a digit once its item is due and claimed (as the router's
//! timer claims it); "5" is kept and thanked; "great thanks" gets one
//! polite retry and the next text is kept as a comment; nothing of it
//! reopens the conversation. A customer who opted out gets no survey.

use omni_bus::topology::SMS_OUTBOUND;
use omni_bus::{BusStream, Delivery};
use omni_context::service::WrapUp;
use omni_context::service::survey::{SurveyPhase, SurveyState, survey_id};
use omni_core::access::{Actor, Role};
use omni_core::config::{Config, SurveyConfig, SurveyKind};
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{AgentId, ConversationId, ConversationStatus, Identity};
use omni_proto::auth::Caller;
use omni_proto::events as ev;
use prost::Message as _;

use crate::support::{Harness, inbound, next};

const PROMPT: &str = "Rate us 1-5 by text";

fn with_survey(config: &mut Config) {
    config.context.sending_hours = "00:00-24:00".into();
    config.queues[0].survey = Some(SurveyConfig {
        kind: SurveyKind::Csat,
        comment: false,
        prompt: [("en".to_owned(), PROMPT.to_owned())].into(),
        thanks: Default::default(),
        min_days_between: 30,
    });
}

/// An SMS conversation of `phone` served by `agt_bob` and resolved.
async fn resolved_sms(h: &Harness, phone: &str) -> ConversationId {
    let from = Identity::Phone(phone.into());
    let got = h
        .service
        .ingest(
            &inbound(from, &format!("{phone}-1"), "my order?"),
            TraceContext::new_root(),
        )
        .await
        .expect("ingest");
    let id = got.conversation.id;
    h.service
        .record_assignment(&id, &AgentId::from("agt_bob"), 1, TraceContext::new_root())
        .await
        .expect("assign");
    h.service
        .resolve(
            &id,
            &Caller::Person(Actor::new("agt_bob", Role::Agent)),
            &WrapUp::default(),
            TraceContext::new_root(),
        )
        .await
        .expect("resolve");
    id
}

/// Claims every due item of `id` as the router's timer does and sends it.
async fn send_due(h: &Harness, id: &ConversationId) {
    send_due_at(h, id, now_ms() + 1_000).await;
}

/// [`send_due`] by a router clock at `now`.
async fn send_due_at(h: &Harness, id: &ConversationId, now: i64) {
    let store = h.service.store();
    for item in store.due_scheduled(now, usize::MAX).await.expect("due") {
        if &item.conversation_id != id {
            continue;
        }
        if store
            .claim_scheduled(&item.id, now, 60_000)
            .await
            .expect("claim")
            .is_some()
        {
            h.service
                .send_scheduled(&item.id, id, now, TraceContext::new_root())
                .await
                .expect("send");
        }
    }
}

async fn next_text(out: &mut BusStream<Delivery>) -> String {
    let message = next(out).await;
    let outbound = ev::OutboundMessage::decode(message.payload.as_ref()).expect("outbound");
    outbound.message.map(|m| m.text).unwrap_or_default()
}

async fn text(h: &Harness, phone: &str, key: &str, body: &str) {
    h.service
        .ingest(
            &inbound(Identity::Phone(phone.into()), key, body),
            TraceContext::new_root(),
        )
        .await
        .expect("ingest");
}

async fn survey(h: &Harness, id: &ConversationId) -> SurveyState {
    let items = h.service.store().scheduled_for(id).await.expect("items");
    let item = items
        .into_iter()
        .find(|i| i.id == survey_id(id))
        .expect("a survey item");
    serde_json::from_str(&item.payload).expect("survey state")
}

async fn answered_five(h: Harness) {
    let mut out = h.consume(&SMS_OUTBOUND).await;
    let phone = "+14155550101";
    let id = resolved_sms(&h, phone).await;
    send_due(&h, &id).await;
    assert_eq!(next_text(&mut out).await, PROMPT);
    text(&h, phone, "a-5", "5").await;
    assert_eq!(next_text(&mut out).await, "Thank you for your feedback!");
    // Redelivered: counted once, answered once.
    text(&h, phone, "a-5", "5").await;
    let state = survey(&h, &id).await;
    assert_eq!(
        (
            state.score,
            state.phase,
            state.agent.as_deref(),
            state.queue.as_str()
        ),
        (Some(5), SurveyPhase::Closed, Some("agt_bob"), "support")
    );
    let conversation = h.service.conversation(&id).await.expect("conversation");
    assert_eq!(
        conversation.status,
        ConversationStatus::Resolved,
        "not reopened"
    );
    // Listed by period for supervisors (the CSV export), once; not for agents.
    let supervisor = Caller::Person(Actor::new("sup", Role::Supervisor));
    let page = h
        .service
        .survey_answers(&supervisor, 0, now_ms() + 60_000, None, 0)
        .await
        .expect("answers");
    let mine: Vec<_> = page
        .answers
        .iter()
        .filter(|a| a.conversation_id == id)
        .map(|a| {
            (
                a.score,
                a.queue.as_str(),
                a.agent.as_str(),
                a.channel.as_str(),
                a.kind.as_str(),
            )
        })
        .collect();
    assert_eq!(mine, vec![(5, "support", "agt_bob", "sms", "csat")]);
    let agent = Caller::Person(Actor::new("agt_bob", Role::Agent));
    assert!(
        h.service
            .survey_answers(&agent, 0, now_ms() + 60_000, None, 0)
            .await
            .is_err(),
        "an agent may not list survey answers"
    );
    assert_eq!(conversation.message_count, 3, "the answer is not a message");
}

async fn answered_great_thanks(h: Harness) {
    let mut out = h.consume(&SMS_OUTBOUND).await;
    let phone = "+14155550102";
    let id = resolved_sms(&h, phone).await;
    send_due(&h, &id).await;
    assert_eq!(next_text(&mut out).await, PROMPT);
    text(&h, phone, "b-1", "great thanks").await;
    assert_eq!(
        next_text(&mut out).await,
        "Sorry, we did not get that. Please reply with a number from 1 to 5."
    );
    text(&h, phone, "b-2", "really good").await;
    let state = survey(&h, &id).await;
    assert_eq!(
        (state.score, state.comment.as_deref(), state.phase),
        (None, Some("really good"), SurveyPhase::Closed)
    );
    assert_eq!(
        h.service
            .conversation(&id)
            .await
            .expect("conversation")
            .status,
        ConversationStatus::Resolved
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_sms_survey_answered_five_is_kept_and_thanked() {
    answered_five(Harness::start(with_survey).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_an_sms_survey_answered_five_is_kept_and_thanked() {
    answered_five(Harness::start_distributed_with(with_survey).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_sms_survey_answered_great_thanks_is_retried_then_a_comment() {
    answered_great_thanks(Harness::start(with_survey).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_an_sms_survey_answered_great_thanks_is_retried_then_a_comment() {
    answered_great_thanks(Harness::start_distributed_with(with_survey).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_out_customer_gets_no_survey() {
    let h = Harness::start(with_survey).await;
    let phone = "+14155550103";
    let from = Identity::Phone(phone.into());
    let got = h
        .service
        .ingest(&inbound(from, "c-1", "hello"), TraceContext::new_root())
        .await
        .expect("ingest");
    h.service
        .store()
        .update_customer(
            &got.customer.id,
            &omni_core::CustomerUpdate {
                attributes: [("opt_out".to_owned(), "true".to_owned())].into(),
                ..Default::default()
            },
        )
        .await
        .expect("opt out");
    let id = got.conversation.id;
    h.service
        .record_assignment(&id, &AgentId::from("agt_bob"), 1, TraceContext::new_root())
        .await
        .expect("assign");
    h.service
        .resolve(
            &id,
            &Caller::Person(Actor::new("agt_bob", Role::Agent)),
            &WrapUp::default(),
            TraceContext::new_root(),
        )
        .await
        .expect("resolve");
    let items = h.service.store().scheduled_for(&id).await.expect("items");
    assert!(
        items.is_empty(),
        "no survey for an opted-out customer: {items:?}"
    );
}

fn with_followup(config: &mut Config) {
    config.context.sending_hours = "00:00-24:00".into();
    config.queues[0].followup = Some(omni_core::config::FollowupConfig {
        after_days: 3,
        template: Default::default(),
    });
}

async fn followup_replied(h: Harness) {
    let mut out = h.consume(&SMS_OUTBOUND).await;
    let phone = "+14155550104";
    let id = resolved_sms(&h, phone).await;
    // The desk shows it: scheduled by the queue, for the agent who handled it.
    let scheduled = h.service.followup_view(&id).await.expect("view");
    let scheduled = scheduled.expect("a follow-up is scheduled");
    assert_eq!(
        (scheduled.state.as_str(), scheduled.agent.as_str()),
        ("pending", "agt_bob")
    );
    assert!(!scheduled.by_agent && scheduled.sent_at_ms == 0);
    assert!(scheduled.due_at_ms > now_ms() + 2 * 86_400_000);
    send_due_at(&h, &id, now_ms() + 1_000).await;
    send_due_at(&h, &id, now_ms() + 3 * 86_400_000 + 1_000).await;
    assert_eq!(
        next_text(&mut out).await,
        omni_context::service::followup::DEFAULT_FOLLOWUP
    );
    let sent = h.service.followup_view(&id).await.expect("view");
    let sent = sent.expect("the follow-up is kept");
    assert_eq!(
        (sent.state.as_str(), sent.outcome.as_str()),
        ("done", "sent")
    );
    assert!(sent.sent_at_ms > 0);
    let got = h
        .service
        .ingest(
            &inbound(Identity::Phone(phone.into()), "f-1", "all good thanks"),
            TraceContext::new_root(),
        )
        .await
        .expect("ingest the reply");
    assert_eq!(
        got.conversation.id, id,
        "the reply continues the conversation"
    );
    assert!(got.reopened && got.needs_routing);
    assert_eq!(
        h.service.preferred_agent(&got.conversation).await,
        Some(AgentId::from("agt_bob")),
        "offered first to the agent who handled it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_reply_to_a_followup_reopens_it_for_its_agent() {
    followup_replied(Harness::start(with_followup).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_reply_to_a_followup_reopens_it_for_its_agent() {
    followup_replied(Harness::start_distributed_with(with_followup).await).await;
}
