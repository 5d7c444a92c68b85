//! One-click survey links in both modes (embedded store and bus; Redis and
//! NATS): a resolved email conversation's survey is published with one
//! signed link per score while the stored message is the prompt alone;
//! `answer_survey_link` checks a link without recording, records the
//! first score (thanked on email, attributed to the agent and queue),
//! keeps a later comment when the queue keeps comments, changes nothing
//! after that, and refuses a person, a score off the scale and a forged
//! token.

use omni_bus::topology::EMAIL_OUTBOUND;
use omni_bus::{BusStream, Delivery};
use omni_context::ContextError;
use omni_context::service::WrapUp;
use omni_context::service::survey::{SurveyPhase, SurveyState, survey_id};
use omni_context::service::survey_link::{LinkAnswer, LinkOutcome};
use omni_core::access::{Actor, Role};
use omni_core::config::{Config, SurveyConfig, SurveyKind};
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{AgentId, ConversationId, Identity};
use omni_proto::auth::Caller;
use omni_proto::events as ev;
use prost::Message as _;

use crate::support::{Harness, inbound, next};

const PROMPT: &str = "Rate us 1-5";
const BASE: &str = "https://chat.example.com";

fn with_links(config: &mut Config) {
    config.context.sending_hours = "00:00-24:00".into();
    config.queues[0].survey = Some(SurveyConfig {
        kind: SurveyKind::Csat,
        comment: true,
        prompt: [("en".to_owned(), PROMPT.to_owned())].into(),
        thanks: Default::default(),
        min_days_between: 30,
    });
    config.surveys.public_url = format!("{BASE}/");
    config.surveys.link_key = "a-context-test-link-key-of-32-bytes".into();
}

fn service() -> Caller {
    Caller::Service {
        account: "chat".into(),
    }
}

async fn next_text(out: &mut BusStream<Delivery>) -> String {
    let message = next(out).await;
    let outbound = ev::OutboundMessage::decode(message.payload.as_ref()).expect("outbound");
    outbound.message.map(|m| m.text).unwrap_or_default()
}

/// An email conversation served by `agt_bob`, resolved, its survey sent.
async fn surveyed(h: &Harness) -> ConversationId {
    let from = Identity::Email("jo@example.org".into());
    let got = h
        .service
        .ingest(
            &inbound(from, "jo-1", "my order?"),
            TraceContext::new_root(),
        )
        .await
        .expect("ingest");
    let id = got.conversation.id;
    let bob = AgentId::from("agt_bob");
    h.service
        .record_assignment(&id, &bob, 1, TraceContext::new_root())
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
    let now = now_ms() + 1_000;
    let store = h.service.store();
    for item in store.due_scheduled(now, usize::MAX).await.expect("due") {
        if item.conversation_id == id
            && store
                .claim_scheduled(&item.id, now, 60_000)
                .await
                .expect("claim")
                .is_some()
        {
            h.service
                .send_scheduled(&item.id, &id, now, TraceContext::new_root())
                .await
                .expect("send");
        }
    }
    id
}

async fn survey(h: &Harness, id: &ConversationId) -> SurveyState {
    let items = h.service.store().scheduled_for(id).await.expect("items");
    let item = items
        .into_iter()
        .find(|i| i.id == survey_id(id))
        .expect("a survey item");
    serde_json::from_str(&item.payload).expect("survey state")
}

async fn answer(
    h: &Harness,
    token: &str,
    score: u32,
    comment: &str,
    record: bool,
) -> Result<LinkAnswer, ContextError> {
    h.service
        .answer_survey_link(
            &service(),
            token,
            score,
            comment,
            record,
            TraceContext::new_root(),
        )
        .await
}

async fn answered_by_link(h: Harness) {
    let mut out = h.consume(&EMAIL_OUTBOUND).await;
    let id = surveyed(&h).await;
    let mailed = next_text(&mut out).await;
    assert!(mailed.starts_with(PROMPT), "{mailed}");
    let links: Vec<&str> = mailed
        .split_whitespace()
        .filter(|w| w.starts_with(BASE))
        .collect();
    assert_eq!(links.len(), 5, "{mailed}");
    let token = links[0]
        .trim_start_matches(&format!("{BASE}/survey/"))
        .trim_end_matches("/1")
        .to_owned();
    assert!(!token.contains(id.as_str()), "opaque: {token}");
    let stored = h.service.store().messages(&id, 0, 100).await.expect("read");
    assert_eq!(stored.last().map(|m| m.text.as_str()), Some(PROMPT));

    // Checked, not recorded.
    let open = answer(&h, &token, 4, "", false).await.expect("check");
    assert_eq!(
        (open.outcome, open.score, open.comment_welcome),
        (LinkOutcome::Open, None, true)
    );
    assert_eq!(survey(&h, &id).await.phase, SurveyPhase::Asked);
    // Refused: a person, a score off the scale, a forged token.
    let admin = Caller::Person(Actor::new("ann", Role::Admin));
    let refused = h
        .service
        .answer_survey_link(&admin, &token, 4, "", true, TraceContext::new_root())
        .await;
    assert!(
        matches!(refused, Err(ContextError::PermissionDenied(_))),
        "{refused:?}"
    );
    let refused = answer(&h, &token, 6, "", true).await;
    assert!(
        matches!(refused, Err(ContextError::InvalidArgument(_))),
        "{refused:?}"
    );
    let forged = format!("{}x", &token[..token.len() - 1]);
    let refused = answer(&h, &forged, 4, "", true).await;
    assert!(
        matches!(refused, Err(ContextError::InvalidArgument(_))),
        "{refused:?}"
    );
    assert_eq!(survey(&h, &id).await.score, None, "nothing recorded");

    // The first score counts, thanked by mail.
    let recorded = answer(&h, &token, 4, "", true).await.expect("record");
    assert_eq!(
        (recorded.outcome, recorded.score),
        (LinkOutcome::Recorded, Some(4))
    );
    assert_eq!(next_text(&mut out).await, "Thank you for your feedback!");
    let state = survey(&h, &id).await;
    assert_eq!(
        (state.score, state.phase, state.agent.as_deref()),
        (Some(4), SurveyPhase::AwaitingComment, Some("agt_bob"))
    );
    let again = answer(&h, &token, 2, "", true).await.expect("again");
    assert_eq!(
        (again.outcome, again.score),
        (LinkOutcome::AlreadyAnswered, Some(4))
    );
    // The queue keeps a comment: the next one with text is it.
    let commented = answer(&h, &token, 2, "Quick and kind", true)
        .await
        .expect("comment");
    assert_eq!(commented.outcome, LinkOutcome::CommentKept);
    let state = survey(&h, &id).await;
    assert_eq!(
        (state.score, state.phase, state.comment.as_deref()),
        (Some(4), SurveyPhase::Closed, Some("Quick and kind"))
    );
    let late = answer(&h, &token, 1, "changed my mind", true)
        .await
        .expect("late");
    assert_eq!(late.outcome, LinkOutcome::AlreadyAnswered);
    assert_eq!(
        survey(&h, &id).await.comment.as_deref(),
        Some("Quick and kind")
    );
    let day = now_ms() - 86_400_000;
    let indexed = h
        .service
        .store()
        .answered_between(day, now_ms() + 86_400_000, None, 10)
        .await
        .expect("answers");
    assert_eq!(indexed.len(), 1, "{indexed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_email_survey_is_answered_by_its_link_once() {
    answered_by_link(Harness::start(with_links).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_an_email_survey_is_answered_by_its_link_once() {
    answered_by_link(Harness::start_distributed_with(with_links).await).await;
}
