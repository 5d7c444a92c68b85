//! A signed-in agent and a customer on each channel, driven the way the
//! desk page, the chat page, a mail program and Twilio drive the app; used
//! by the end-to-end tests of both modes.

use std::net::SocketAddr;

use crate::twilio::TwilioAccount;
use crate::{HttpClient, JsonSocket, mail};
use serde_json::{Value, json};

/// The password the test harnesses give every account they make (agents,
/// `supervisor` and `admin`).
pub const TEST_PASSWORD: &str = "test password of every test account";

/// The desk's event socket for a signed-in client: its session cookie and
/// the desk's own `Origin`, as the desk page connects.
pub async fn desk_events(app: &impl Endpoints, api: &HttpClient) -> anyhow::Result<JsonSocket> {
    let session = api
        .session()
        .ok_or_else(|| anyhow::anyhow!("the event socket needs a signed-in client"))?;
    let cookie = session.cookie();
    let origin = app.desk_url();
    JsonSocket::connect_with(
        &app.desk_events_url(),
        &[("cookie", cookie.as_str()), ("origin", origin.as_str())],
    )
    .await
}

/// Gives the account `user` the role `role` (`agent`, `supervisor`,
/// `admin`), as the admin does in the desk (`PUT /api/admin/accounts/{id}`
/// as the `admin` test account): an agent the router knows, made a
/// supervisor, still takes conversations. Sessions follow at once.
pub async fn set_role(app: &impl Endpoints, user: &str, role: &str) -> anyhow::Result<()> {
    let desk = HttpClient::new(app.desk_url());
    let (r, admin) = desk.sign_in("admin", TEST_PASSWORD).await?;
    let admin = admin.ok_or_else(|| anyhow::anyhow!("admin sign-in: {} {}", r.status, r.body))?;
    let r = admin
        .put(
            &format!("/api/admin/accounts/{user}"),
            &json!({ "role": role }),
        )
        .await?;
    anyhow::ensure!(
        r.status == 200,
        "role change of {user}: {} {}",
        r.status,
        r.body
    );
    Ok(())
}

/// A signed-in agent: API client with the session, and its event socket.
pub struct Agent {
    /// The agent id.
    pub id: String,
    /// The desk API, signed in.
    pub api: HttpClient,
    /// The desk's event socket.
    pub events: JsonSocket,
}

impl Agent {
    /// Signs in with [`TEST_PASSWORD`], opens the event socket, goes available.
    pub async fn sign_in(app: &impl Endpoints, id: &str) -> anyhow::Result<Self> {
        let desk = HttpClient::new(app.desk_url());
        let (r, api) = desk.sign_in(id, TEST_PASSWORD).await?;
        let api = match api {
            Some(api) if r.status == 200 => api,
            _ => anyhow::bail!("sign in {id}: {} {}", r.status, r.body),
        };
        let mut events = desk_events(app, &api).await?;
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

    /// Links an identity (`kind` `email` or `phone`) to the customer of a
    /// conversation, with the evidence the agent gives; fails unless 200.
    /// Verified when the signed-in person is a supervisor, else recorded
    /// as unverified (see [`set_role`]).
    pub async fn link_identity(
        &self,
        conversation: &str,
        kind: &str,
        value: &str,
        evidence: &str,
    ) -> anyhow::Result<Value> {
        let r = self
            .api
            .post(
                &format!("/api/conversations/{conversation}/customer/identities"),
                &json!({ "kind": kind, "value": value, "evidence": evidence }),
            )
            .await?;
        anyhow::ensure!(
            r.status == 200,
            "link {kind} {value}: {} {}",
            r.status,
            r.body
        );
        Ok(r.body)
    }

    /// The (channel, direction, text) of each message of a conversation's
    /// timeline, in order.
    pub async fn timeline(
        &self,
        conversation: &str,
    ) -> anyhow::Result<Vec<(String, String, String)>> {
        let r = self
            .api
            .get(&format!("/api/conversations/{conversation}"))
            .await?;
        anyhow::ensure!(r.status == 200, "{conversation}: {} {}", r.status, r.body);
        let field = |m: &Value, name: &str| m[name].as_str().unwrap_or_default().to_owned();
        Ok(r.body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| (field(m, "channel"), field(m, "direction"), field(m, "text")))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The timeline once it has `n` messages, or as it is after 10 s.
    pub async fn timeline_of(
        &self,
        conversation: &str,
        n: usize,
    ) -> anyhow::Result<Vec<(String, String, String)>> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let timeline = self.timeline(conversation).await?;
            if timeline.len() >= n || tokio::time::Instant::now() > deadline {
                return Ok(timeline);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
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

    /// Waits for an offer, accepts it and waits until the desk says it is
    /// assigned; returns the conversation id.
    pub async fn take_next_offer(&mut self) -> anyhow::Result<String> {
        let (offer, conversation) = self.next_offer().await?;
        self.settle(&offer, "accept").await?;
        self.events.recv_type("assigned").await?;
        Ok(conversation)
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

/// A customer writing from a mail program: Python's `smtplib` (through
/// [`mail::smtplib`]) sends each mail over SMTP.
pub struct MailClient {
    smtp: SocketAddr,
    from: String,
}

impl MailClient {
    /// A mail program sending through the SMTP server at `smtp` as `from`
    /// (a `From` header value, e.g. `Jo Customer <jo@example.org>`).
    pub fn new(smtp: SocketAddr, from: &str) -> Self {
        Self {
            smtp,
            from: from.to_owned(),
        }
    }

    /// Sends one plain-text mail; fails unless the server accepted it.
    pub async fn send(
        &self,
        to: &str,
        message_id: &str,
        subject: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let code = format!(
            "msg = EmailMessage()\nmsg['From'] = {from}\nmsg['To'] = {to}\nmsg['Subject'] = {subject}\nmsg['Message-ID'] = {message_id}\nmsg.set_content({body})",
            from = mail::literal(&self.from),
            to = mail::literal(to),
            subject = mail::literal(subject),
            message_id = mail::literal(message_id),
            body = mail::literal(body),
        );
        let out = mail::smtplib(self.smtp, &address(&self.from), &[to], &code).await?;
        anyhow::ensure!(out.starts_with("OK {}"), "smtplib to {}: {out}", self.smtp);
        Ok(())
    }
}

/// The address in a `From` header value (`Name <address>` or a bare address).
fn address(from: &str) -> String {
    match from.rsplit_once('<') {
        Some((_, rest)) => rest.trim_end_matches('>').trim().to_owned(),
        None => from.trim().to_owned(),
    }
}

/// Checks that `mail`, as the relay got it, is an agent's reply to the
/// customer's mail `parent` (a Message-ID) sent to `to`: threaded under it
/// (In-Reply-To, References), answerable to `reply_address` (Reply-To), a
/// "Re:" subject, and carrying `text`.
pub fn assert_threaded_reply(
    mail: &omni_testservers::smtp::SunkMail,
    to: &str,
    parent: &str,
    reply_address: &str,
    text: &str,
) {
    assert_eq!(
        mail.rcpt_to,
        [to],
        "the reply goes to the customer's address"
    );
    let header = |name: &str| mail.header(name).unwrap_or_default();
    assert!(
        header("In-Reply-To").contains(parent),
        "threads under {parent}: {}",
        header("In-Reply-To")
    );
    assert!(
        header("References").contains(parent),
        "{}",
        header("References")
    );
    assert!(
        header("Reply-To").contains(reply_address),
        "{}",
        header("Reply-To")
    );
    assert!(
        header("Subject").starts_with("Re: "),
        "{}",
        header("Subject")
    );
    assert!(
        String::from_utf8_lossy(&mail.raw).contains(text),
        "the reply carries {text:?}"
    );
}

/// A customer texting from a phone through Twilio: each text is Twilio's
/// webhook to the SMS adapter, `X-Twilio-Signature` signed as Twilio signs
/// it (HMAC-SHA1 over the public URL and the sorted parameters).
pub struct Phone {
    webhooks: HttpClient,
    public_url: String,
    account: TwilioAccount,
    number: String,
    to: String,
    texts: u32,
}

impl Phone {
    /// The phone `number` texting `to` (our number) through `account`,
    /// whose webhooks reach the adapter at `sms_url` and are signed for
    /// `public_url` (its `sms.public_url`).
    pub fn new(
        sms_url: &str,
        public_url: &str,
        account: &TwilioAccount,
        number: &str,
        to: &str,
    ) -> Self {
        Self {
            webhooks: HttpClient::new(sms_url),
            public_url: public_url.to_owned(),
            account: account.clone(),
            number: number.to_owned(),
            to: to.to_owned(),
            texts: 0,
        }
    }

    /// Sends a text and waits for the adapter to take it (200).
    pub async fn text(&mut self, body: &str) -> anyhow::Result<()> {
        self.texts += 1;
        // A message SID of its own: the number's digits and a count.
        let digits: String = self.number.chars().filter(char::is_ascii_digit).collect();
        let sid = format!("SM{digits:0>20}{:012}", self.texts);
        let params: Vec<(String, String)> = [
            ("AccountSid", self.account.sid.as_str()),
            ("Body", body),
            ("From", self.number.as_str()),
            ("MessageSid", sid.as_str()),
            ("NumMedia", "0"),
            ("NumSegments", "1"),
            ("To", self.to.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let signature = crate::twilio::signature(
            &self.account.auth_token,
            &format!("{}/twilio/sms", self.public_url),
            &params,
        );
        let r = self
            .webhooks
            .post_form("/twilio/sms", &params, &[("x-twilio-signature", signature)])
            .await?;
        anyhow::ensure!(
            r.status == 200,
            "twilio webhook from {}: {} {}",
            self.number,
            r.status,
            r.body
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
    /// WebSocket URL of the desk's events (the session goes in the cookie).
    fn desk_events_url(&self) -> String;
}
