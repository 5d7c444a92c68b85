//! One chat page's WebSocket connection: a read loop that validates and
//! accepts frames, and a write loop that sends frames and the closing
//! handshake.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::bounds::Bounds;
use crate::protocol::{
    ClientFrame, MAX_CLIENT_ID, MAX_READ_IDS, ServerFrame, is_visitor_id, new_visitor_id,
};
use crate::receipts::Receipts;
use crate::{ChatAdapter, ChatError};

/// Close code for a frame over the size limit (RFC 6455 "message too big").
const CLOSE_TOO_BIG: u16 = 1009;
/// Close code when the server shuts down ("going away").
const CLOSE_GOING_AWAY: u16 = 1001;
/// Longest display name kept.
const MAX_NAME_CHARS: usize = 100;

struct Session {
    visitor: String,
    name: Option<String>,
    topic: Option<String>,
    connection: u64,
    /// Whether the visitor has a conversation (found at hello, or started
    /// by a message accepted since): a message without one starts one.
    conversation: bool,
    /// The page's typing, published for the agent.
    typing: crate::typing::PageTyping,
}

/// What bounds a connection: its peer's address (none when the routes run
/// in-process) and the server's [`Bounds`].
pub struct Limits {
    /// The peer's address.
    pub peer: Option<IpAddr>,
    /// The server's bounds.
    pub bounds: Arc<Bounds>,
}

/// Serves one connection until the page leaves or `shutdown`.
pub async fn handle(
    adapter: Arc<ChatAdapter>,
    socket: WebSocket,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let (mut sink, mut stream) = socket.split();
    let (frames, mut outgoing) = mpsc::channel::<ServerFrame>(64);
    let (close_tx, mut close_rx) = oneshot::channel::<(u16, &'static str)>();
    let writer_shutdown = shutdown.clone();
    let receipts = Arc::new(Receipts::new(adapter.clone()));
    let writer_receipts = receipts.clone();
    let writer = tokio::spawn(async move {
        let close = loop {
            // Biased: a pending close must win over the end of the frame channel.
            tokio::select! {
                biased;
                close = &mut close_rx => break close.ok(),
                _ = writer_shutdown.cancelled() => break Some((CLOSE_GOING_AWAY, "server shutting down")),
                frame = outgoing.recv() => match frame {
                    Some(frame) => {
                        let Ok(text) = serde_json::to_string(&frame) else { continue };
                        // Remembered before the write: the page may answer `read` at once.
                        let replies = writer_receipts.before_write(&frame);
                        if sink.send(WsMessage::Text(text.into())).await.is_err() {
                            return;
                        }
                        writer_receipts.delivered(replies);
                    }
                    None => break None,
                },
            }
        };
        if let Some((code, reason)) = close {
            let _ = sink
                .send(WsMessage::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })))
                .await;
        }
        let _ = sink.close().await;
    });

    let mut session: Option<Session> = None;
    let mut close_tx = Some(close_tx);
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => break,
            next = stream.next() => next,
        };
        match next {
            None | Some(Ok(WsMessage::Close(_))) => break,
            Some(Err(e)) => {
                // axum reports an over-limit frame as an error; the page is told why.
                warn!(error = %e, "chat websocket closed on a protocol error");
                if let Some(tx) = close_tx.take() {
                    let _ = tx.send((CLOSE_TOO_BIG, "frame too large or malformed"));
                }
                break;
            }
            Some(Ok(WsMessage::Binary(_))) => {
                warn!("binary chat frame rejected");
                let _ = frames
                    .send(ServerFrame::error(
                        &ChatError::BadFrame(
                            "binary frames are not supported; send JSON text frames".into(),
                        ),
                        None,
                    ))
                    .await;
            }
            Some(Ok(WsMessage::Text(text))) => {
                on_text(
                    &adapter,
                    &receipts,
                    &limits,
                    &frames,
                    &mut session,
                    text.as_str(),
                )
                .await;
            }
            Some(Ok(_)) => {}
        }
    }
    if let Some(s) = &session {
        adapter.disconnect(&s.visitor, s.connection);
        debug!(visitor = %s.visitor, "chat page disconnected");
        if s.conversation && !adapter.is_connected(&s.visitor) {
            tokio::spawn(crate::left::customer_left(
                adapter.clone(),
                s.visitor.clone(),
                shutdown.clone(),
            ));
        }
    }
    drop(frames);
    let _ = writer.await;
}

async fn on_text(
    adapter: &ChatAdapter,
    receipts: &Receipts,
    limits: &Limits,
    frames: &mpsc::Sender<ServerFrame>,
    session: &mut Option<Session>,
    text: &str,
) {
    let frame: ClientFrame = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            warn!(error = %e, "malformed chat frame rejected");
            let _ = frames
                .send(ServerFrame::error(
                    &ChatError::BadFrame(format!("malformed frame: {e}")),
                    None,
                ))
                .await;
            return;
        }
    };
    match frame {
        ClientFrame::Hello {
            visitor,
            name,
            topic,
        } => {
            if session.is_some() {
                let _ = frames
                    .send(ServerFrame::error(
                        &ChatError::BadFrame("hello was already received".into()),
                        None,
                    ))
                    .await;
                return;
            }
            let visitor = match visitor {
                Some(v) if is_visitor_id(&v) => v,
                Some(v) => {
                    warn!(presented = %v.chars().take(40).collect::<String>(), "unknown visitor id form; issuing a new one");
                    new_visitor_id()
                }
                None => new_visitor_id(),
            };
            let name = name
                .map(|n| n.trim().chars().take(MAX_NAME_CHARS).collect::<String>())
                .filter(|n| !n.is_empty());
            let topic = crate::topics::check(adapter.config(), topic).unwrap_or_else(|e| {
                warn!(visitor = %visitor, topic = %e.0, "unknown chat topic; the chat's default queue is used");
                None
            });
            let connection = adapter.connect(&visitor, frames.clone());
            let (conversation_id, history) = match adapter.history(&visitor).await {
                Ok(Some((id, history))) => (Some(id), history),
                Ok(None) => (None, Vec::new()),
                Err(_) => {
                    let _ = frames
                        .send(ServerFrame::error(
                            &ChatError::Unavailable(
                                "your earlier messages cannot be shown right now; new messages are still accepted".into(),
                            ),
                            None,
                        ))
                        .await;
                    (None, Vec::new())
                }
            };
            let returning = conversation_id.is_some();
            info!(visitor = %visitor, returning, "chat page connected");
            let status = match &conversation_id {
                Some(id) => crate::status::current(adapter, id).await,
                None => Vec::new(),
            };
            let welcome_conversation = conversation_id.clone();
            let _ = frames
                .send(ServerFrame::Welcome {
                    visitor: visitor.clone(),
                    conversation_id,
                    history,
                    max_text_bytes: adapter.config().chat.max_text_bytes,
                    max_attachment_bytes: adapter.config().chat.max_attachment_bytes,
                })
                .await;
            for frame in status {
                let _ = frames.send(frame).await;
            }
            let mut typing = crate::typing::PageTyping::default();
            typing.set_conversation(welcome_conversation);
            *session = Some(Session {
                visitor,
                name,
                topic,
                connection,
                conversation: returning,
                typing,
            });
        }
        ClientFrame::Message { client_id, text } => {
            let Some(s) = session.as_mut() else {
                let _ = frames
                    .send(ServerFrame::error(&ChatError::NotReady, Some(client_id)))
                    .await;
                return;
            };
            let checked = validate(adapter, &client_id, &text)
                .and_then(|()| limits.bounds.message(limits.peer))
                .and_then(|()| match s.conversation {
                    true => Ok(()),
                    false => limits.bounds.new_conversation(limits.peer, &s.visitor),
                });
            if let Err(error) = checked {
                warn!(visitor = %s.visitor, code = error.code(), "chat message rejected");
                let client_id = (!client_id.is_empty() && client_id.len() <= MAX_CLIENT_ID)
                    .then_some(client_id);
                let _ = frames.send(ServerFrame::error(&error, client_id)).await;
                return;
            }
            let frame = match adapter
                .accept(
                    &s.visitor,
                    &client_id,
                    text.trim(),
                    s.name.as_deref(),
                    s.topic.as_deref(),
                )
                .await
            {
                Ok(()) => {
                    s.conversation = true;
                    ServerFrame::Ack { client_id }
                }
                Err(e) => {
                    warn!(visitor = %s.visitor, error = %e, "chat message not accepted");
                    ServerFrame::error(
                        &ChatError::Unavailable(
                            "the message could not be accepted right now; send it again (same client_id)".into(),
                        ),
                        Some(client_id),
                    )
                }
            };
            let _ = frames.send(frame).await;
        }
        ClientFrame::Read { message_ids } => {
            let Some(s) = session.as_ref() else {
                let _ = frames
                    .send(ServerFrame::error(&ChatError::NotReady, None))
                    .await;
                return;
            };
            if message_ids.is_empty() || message_ids.len() > MAX_READ_IDS {
                let _ = frames
                    .send(ServerFrame::error(&ChatError::read_ids(), None))
                    .await;
                return;
            }
            let known = receipts.read(&message_ids);
            debug!(visitor = %s.visitor, ids = message_ids.len(), known, "chat replies read");
        }
        ClientFrame::Typing { typing } => {
            let Some(s) = session.as_mut() else {
                let _ = frames
                    .send(ServerFrame::error(&ChatError::NotReady, None))
                    .await;
                return;
            };
            // Before the first message there is no conversation, nobody to tell.
            if s.conversation && s.typing.due(typing, std::time::Instant::now()) {
                s.typing.publish(adapter, &s.visitor, typing).await;
            }
        }
    }
}

fn validate(adapter: &ChatAdapter, client_id: &str, text: &str) -> Result<(), ChatError> {
    let limit = adapter.config().chat.max_text_bytes;
    if client_id.is_empty()
        || client_id.len() > MAX_CLIENT_ID
        || !client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ChatError::BadClientId);
    }
    if text.trim().is_empty() {
        return Err(ChatError::Empty);
    }
    if text.len() > limit {
        return Err(ChatError::TooLarge {
            size: text.len(),
            limit,
        });
    }
    Ok(())
}
