//! A signed-in agent and a web chat customer, driven the way the desk page
//! and the chat page drive the app; used by the end-to-end tests of both
//! modes.

use crate::{HttpClient, JsonSocket};
use serde_json::{Value, json};

/// A signed-in agent: API client with token, and its event socket.
pub struct Agent {
    /// The agent id.
    pub id: String,
    /// The desk API, signed in.
    pub api: HttpClient,
    /// The desk's event socket.
    pub events: JsonSocket,
}

impl Agent {
    /// Signs in, opens the event socket, goes available.
    pub async fn sign_in(app: &impl Endpoints, id: &str) -> anyhow::Result<Self> {
        let desk = HttpClient::new(app.desk_url());
        let r = desk
            .post("/api/session", &json!({ "agent_id": id }))
            .await?;
        anyhow::ensure!(r.status == 200, "sign in {id}: {} {}", r.status, r.body);
        let token = r.body["token"].as_str().unwrap_or_default().to_owned();
        let api = desk.with_token(&token);
        let mut events = JsonSocket::connect(&app.desk_events_url(&token)).await?;
        let first = events.recv_type("state").await?;
        anyhow::ensure!(
            first["agent"]["agent_id"] == id,
            "first event is the agent's state: {first}"
        );
        let r = api
            .put("/api/presence", &json!({ "presence": "available" }))
            .await?;
        anyhow::ensure!(
            r.status == 200 && r.body["presence"] == "available",
            "available: {}",
            r.body
        );
        Ok(Self {
            id: id.to_owned(),
            api,
            events,
        })
    }

    /// `POST /api/offers/{offer}/accept` or `decline`; fails unless 200.
    pub async fn settle(&self, offer: &str, action: &str) -> anyhow::Result<Value> {
        let r = self
            .api
            .post(&format!("/api/offers/{offer}/{action}"), &json!({}))
            .await?;
        anyhow::ensure!(r.status == 200, "{action} {offer}: {} {}", r.status, r.body);
        Ok(r.body)
    }

    /// Replies in a conversation; fails unless 200.
    pub async fn reply(
        &self,
        conversation: &str,
        text: &str,
        client_id: &str,
    ) -> anyhow::Result<Value> {
        let r = self
            .api
            .post(
                &format!("/api/conversations/{conversation}/messages"),
                &json!({ "text": text, "client_id": client_id }),
            )
            .await?;
        anyhow::ensure!(
            r.status == 200,
            "reply in {conversation}: {} {}",
            r.status,
            r.body
        );
        Ok(r.body)
    }

    /// Resolves a conversation; fails unless 200.
    pub async fn resolve(&self, conversation: &str) -> anyhow::Result<Value> {
        let r = self
            .api
            .post(
                &format!("/api/conversations/{conversation}/resolve"),
                &json!({}),
            )
            .await?;
        anyhow::ensure!(
            r.status == 200,
            "resolve {conversation}: {} {}",
            r.status,
            r.body
        );
        Ok(r.body)
    }

    /// Waits for an offer; returns (offer_id, conversation_id).
    pub async fn next_offer(&mut self) -> anyhow::Result<(String, String)> {
        let frame = self.events.recv_type("offer").await?;
        let offer = &frame["offer"];
        anyhow::ensure!(
            offer["agent_id"] == self.id.as_str(),
            "offer for {}: {frame}",
            self.id
        );
        Ok((
            offer["offer_id"].as_str().unwrap_or_default().to_owned(),
            offer["conversation_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ))
    }
}

/// A customer on the web chat.
pub struct Customer {
    /// The chat WebSocket.
    pub socket: JsonSocket,
    /// The visitor id the chat assigned.
    pub visitor: String,
    next: u32,
}

impl Customer {
    /// Opens the chat and says hello (as a new or returning visitor).
    pub async fn open(
        app: &impl Endpoints,
        visitor: Option<&str>,
        topic: &str,
    ) -> anyhow::Result<(Self, Value)> {
        let mut socket = JsonSocket::connect(&app.chat_ws_url()).await?;
        socket
            .send(&json!({ "type": "hello", "visitor": visitor, "name": "Jo Customer", "topic": topic }))
            .await?;
        let welcome = socket.recv_type("welcome").await?;
        let visitor = welcome["visitor"].as_str().unwrap_or_default().to_owned();
        anyhow::ensure!(
            visitor.starts_with("v_"),
            "welcome has a visitor id: {welcome}"
        );
        Ok((
            Self {
                socket,
                visitor,
                next: 0,
            },
            welcome,
        ))
    }

    /// Sends a message and waits for its ack.
    pub async fn say(&mut self, text: &str) -> anyhow::Result<()> {
        self.next += 1;
        let client_id = format!("c{}", self.next);
        self.socket
            .send(&json!({ "type": "message", "client_id": client_id, "text": text }))
            .await?;
        let ack = self.socket.recv_type("ack").await?;
        anyhow::ensure!(
            ack["client_id"] == client_id.as_str(),
            "ack for {client_id}: {ack}"
        );
        Ok(())
    }
}

/// The texts of a timeline, in order.
pub fn texts(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Where a running Omniroute (embedded or a cluster of processes) serves
/// its pages and APIs.
pub trait Endpoints {
    /// WebSocket URL of the web chat.
    fn chat_ws_url(&self) -> String;
    /// Base URL of the agent desk.
    fn desk_url(&self) -> String;
    /// WebSocket URL of the desk's events, for a session token.
    fn desk_events_url(&self, token: &str) -> String;
}

impl Endpoints for crate::TestApp {
    fn chat_ws_url(&self) -> String {
        crate::TestApp::chat_ws_url(self)
    }
    fn desk_url(&self) -> String {
        crate::TestApp::desk_url(self)
    }
    fn desk_events_url(&self, token: &str) -> String {
        crate::TestApp::desk_events_url(self, token)
    }
}
