//! The webhook transport: a turn for a bot hosted elsewhere is POSTed as
//! JSON ([`super::json`]) to the bot's `url`, signed with its `secret` as
//! the webhook channel signs its requests (`X-Omni-Timestamp`,
//! `X-Omni-Signature`), and the response body is the reply.
//!
//! The POST runs in its own task, off the inbound lane, bounded by the
//! turn's deadline. Its outcome is published on `omni.bot.reply`, so it is
//! applied by the same consumer and checks as a bus bot's reply (the open
//! turn, the holding bot): the bot's answer, or, when the POST timed out,
//! failed, answered a non-2xx status, an undecodable body or a reply
//! naming another turn, bot or conversation, a handoff
//! with the reason `timeout` or `error`. A POST that never comes back (a
//! restart) leaves the open turn in the store for the sweeper.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::http::{HeaderName, Method};
use omni_adapter::http::{HttpClient, HttpError, signature};
use omni_bus::topology::subjects;
use omni_bus::{Bus, Message, TRACEPARENT};
use omni_core::config::BotConfig;
use omni_core::time::now_ms;
use omni_proto::bot as bp;
use prost::Message as _;
use tracing::{info, warn};

use super::count_turn;
use super::json::{Reply, Turn};

/// The longest a POST may take: the longest deadline a bot may have.
const MAX_EXCHANGE: Duration = Duration::from_secs(300);

/// The HTTP client toward webhook bots, made on first use (it loads the
/// system's root certificates), or why it could not be.
pub(crate) fn client(cell: &OnceLock<Result<HttpClient, String>>) -> Result<HttpClient, String> {
    cell.get_or_init(|| HttpClient::new(MAX_EXCHANGE, "omniroute-bot").map_err(|e| e.to_string()))
        .clone()
}

/// Starts the POST of `turn` to `bot` (see the module doc); `traceparent`
/// goes on the published reply.
pub(crate) fn post_turn(
    http: Result<HttpClient, String>,
    bus: Arc<dyn Bus>,
    bot: &BotConfig,
    turn: bp::BotTurn,
    traceparent: String,
) {
    let url = bot.url.clone().unwrap_or_default();
    let key = bot.secret.clone().unwrap_or_default();
    tokio::spawn(async move {
        let reply = match exchange(http, &url, key.as_bytes(), &turn).await {
            Ok(reply) => reply,
            Err(failure) => {
                warn!(conversation_id = %turn.conversation_id, bot = %turn.bot, turn_id = %turn.turn_id, reason = failure.reason, detail = %failure.detail, "webhook bot gave no reply; handing off");
                count_turn(&turn.bot, failure.reason);
                handoff(&turn, failure.reason)
            }
        };
        let id = format!("reply:{}", turn.turn_id);
        let msg = Message::new(subjects::BOT_REPLY, reply.encode_to_vec())
            .with_header(TRACEPARENT, traceparent);
        match bus.publish(msg, Some(&id)).await {
            Ok(_) => {
                info!(conversation_id = %turn.conversation_id, bot = %turn.bot, turn_id = %turn.turn_id, "webhook bot's reply passed on");
            }
            Err(e) => {
                // The open turn stays in the store: the sweeper hands it
                // off at its deadline.
                warn!(conversation_id = %turn.conversation_id, bot = %turn.bot, turn_id = %turn.turn_id, error = %e, "webhook bot's reply not published");
            }
        }
    });
}

/// Why a POST gave no reply: `timeout` or `error`, and the detail.
struct Failure {
    reason: &'static str,
    detail: String,
}

fn error(detail: impl Into<String>) -> Failure {
    Failure {
        reason: "error",
        detail: detail.into(),
    }
}

async fn exchange(
    http: Result<HttpClient, String>,
    url: &str,
    key: &[u8],
    turn: &bp::BotTurn,
) -> Result<bp::BotReply, Failure> {
    let http = http.map_err(error)?;
    let left = u64::try_from(turn.deadline_ms.saturating_sub(now_ms())).unwrap_or(0);
    let body = serde_json::to_string(&Turn::from(turn)).map_err(|e| error(e.to_string()))?;
    let headers: Vec<(HeaderName, String)> =
        signature::headers(key, now_ms() / 1000, body.as_bytes())
            .into_iter()
            .map(|(name, value)| (HeaderName::from_static(name), value))
            .collect();
    let timeout = |detail: String| Failure {
        reason: "timeout",
        detail,
    };
    let sent = tokio::time::timeout(
        Duration::from_millis(left),
        http.send(
            Method::POST,
            url,
            &headers,
            Some(("application/json", body)),
        ),
    )
    .await
    .map_err(|_| timeout(format!("no answer within the deadline ({left} ms)")))?;
    let response = match sent {
        Ok(response) => response,
        Err(e @ HttpError::Timeout(..)) => return Err(timeout(e.to_string())),
        Err(e) => return Err(error(e.to_string())),
    };
    if !response.status.is_success() {
        return Err(error(format!("status {}", response.status)));
    }
    let reply: Reply = serde_json::from_slice(&response.body)
        .map_err(|e| error(format!("undecodable reply: {e}")))?;
    let mut reply = bp::BotReply::from(reply);
    // The response answers this request: what it leaves out is this
    // turn's, and naming another turn makes it no reply to this one.
    for (field, ours) in [
        (&mut reply.turn_id, &turn.turn_id),
        (&mut reply.bot, &turn.bot),
        (&mut reply.conversation_id, &turn.conversation_id),
    ] {
        if field.is_empty() {
            field.clone_from(ours);
        } else if field != ours {
            return Err(error(format!("the reply names {field:?}, not {ours:?}")));
        }
    }
    Ok(reply)
}

/// The context service's own handoff of `turn` with `reason`, as a reply.
fn handoff(turn: &bp::BotTurn, reason: &str) -> bp::BotReply {
    bp::BotReply {
        turn_id: turn.turn_id.clone(),
        bot: turn.bot.clone(),
        conversation_id: turn.conversation_id.clone(),
        action: Some(bp::bot_reply::Action::Handoff(bp::Handoff {
            reason: reason.to_owned(),
            ..bp::Handoff::default()
        })),
        ..bp::BotReply::default()
    }
}
