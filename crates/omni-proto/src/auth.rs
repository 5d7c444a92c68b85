//! Credentials on the gRPC API, both sides of the wire.
//!
//! Server side: one [`GateLayer`] in front of every service but health
//! checks the bearer token of each call against the configured accounts
//! (constant time, on SHA-256 digests), applies the services' method
//! tables ([`MethodTable`]: the least role a person needs per method) and
//! puts the [`Caller`] into the request's extensions, where the handlers
//! read it ([`Caller::of`]) to check authority over the records they touch.
//!
//! Client side: [`WithToken`] presents a token on every call of a channel,
//! and [`act_for`] names the signed-in person a service token acts for.
//!
//! | token kind | who | `x-omni-user` / `x-omni-role` |
//! |---|---|---|
//! | `service` | Omniroute's own parts (desk, chat adapter) | trusted: the call is made for that person, under the same rules |
//! | `admin`, `supervisor`, `agent` | a person or script (provisioning, wallboard) | refused: the account is the person |
//!
//! A service token that names no person acts as the service itself, with
//! every method allowed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use omni_core::access::{Actor, Role};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::codegen::http::{self, HeaderMap, HeaderValue, header::AUTHORIZATION};
use tonic::{Code, Status};

use crate::common::ErrorReason;
use crate::status::with_reason;

/// `ErrorInfo.domain` of credential and permission refusals made by the gate.
pub const AUTH_DOMAIN: &str = "auth.omniroute";
/// Metadata naming the person a service token acts for.
pub const USER_HEADER: &str = "x-omni-user";
/// Metadata naming that person's role (`agent`, `supervisor`, `admin`).
pub const ROLE_HEADER: &str = "x-omni-role";
/// Metadata naming where the person acts from (the desk puts the browser's
/// address there), for the audit log; read only on service-token calls.
pub const FROM_HEADER: &str = "x-omni-from";
/// Paths served without credentials: the standard health service.
pub const OPEN_PREFIX: &str = "/grpc.health.v1.Health/";

/// Who made a call, as the gate established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// One of Omniroute's own parts, acting as itself.
    Service {
        /// The account's name.
        account: String,
    },
    /// A person: a person-role token, or a service token naming them.
    Person(Actor),
}

impl Caller {
    /// The person the call is made for; `None` for a service acting as itself.
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Caller::Service { .. } => None,
            Caller::Person(actor) => Some(actor),
        }
    }

    /// Whether the caller is a service, or a person with at least `role`.
    pub fn at_least(&self, role: Role) -> bool {
        self.actor().is_none_or(|a| a.role.at_least(role))
    }

    /// Whether the caller is a service, `user` themselves, or a person with
    /// at least `role`.
    pub fn is_or_at_least(&self, user: &str, role: Role) -> bool {
        self.actor().is_none_or(|a| a.is_or_at_least(user, role))
    }

    /// The caller of a request that passed the gate. A request that did
    /// not (a server built without [`GateLayer`]) is refused.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Caller, Status> {
        request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| unauthenticated("no credentials were checked for this call"))
    }
}

/// `UNAUTHENTICATED` with reason `UNAUTHENTICATED`.
pub fn unauthenticated(message: impl Into<String>) -> Status {
    with_reason(
        Code::Unauthenticated,
        message,
        AUTH_DOMAIN,
        ErrorReason::Unauthenticated,
    )
}

/// `PERMISSION_DENIED` with reason `PERMISSION_DENIED` in `domain`.
pub fn permission_denied(message: impl Into<String>, domain: &str) -> Status {
    with_reason(
        Code::PermissionDenied,
        message,
        domain,
        ErrorReason::PermissionDenied,
    )
}

/// What a token's holder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// One of Omniroute's own parts.
    Service,
    /// A person (or a script acting as one) with this role.
    Person(Role),
}

/// The least role a person needs for each method of one gRPC service.
#[derive(Debug, Clone, Copy)]
pub struct MethodTable {
    /// The full service name, e.g. `omni.routing.v1.RouterService`.
    pub service: &'static str,
    /// Method name and the least role; a method not listed is refused.
    pub methods: &'static [(&'static str, Role)],
}

impl MethodTable {
    /// The least role for `method`, if listed.
    pub fn least_role(&self, method: &str) -> Option<Role> {
        self.methods
            .iter()
            .find(|(name, _)| *name == method)
            .map(|(_, role)| *role)
    }

    /// What keeps the table true to its service's `.proto` text: the
    /// `rpc`s missing from the table, and the table's methods no `rpc`
    /// declares. Both empty when they agree.
    pub fn differences(&self, proto: &str) -> (Vec<String>, Vec<String>) {
        let rpcs: Vec<&str> = proto
            .lines()
            .filter_map(|l| l.trim().strip_prefix("rpc "))
            .filter_map(|l| l.split('(').next())
            .map(str::trim)
            .collect();
        let missing = rpcs
            .iter()
            .filter(|rpc| self.least_role(rpc).is_none())
            .map(|rpc| (*rpc).to_owned())
            .collect();
        let extra = self
            .methods
            .iter()
            .filter(|(name, _)| !rpcs.contains(name))
            .map(|(name, _)| (*name).to_owned())
            .collect();
        (missing, extra)
    }

    /// [`Self::differences`] as one verdict: `Err` names every `rpc`
    /// missing from the table and every listed method no `rpc` declares.
    pub fn check_against(&self, proto: &str) -> Result<(), String> {
        match self.differences(proto) {
            (missing, extra) if missing.is_empty() && extra.is_empty() => Ok(()),
            (missing, extra) => Err(format!(
                "{}: not in the table: {missing:?}; in the table, not in the proto: {extra:?}",
                self.service
            )),
        }
    }
}

struct Account {
    name: String,
    kind: TokenKind,
    digest: [u8; 32],
}

/// The accounts and method tables the gate checks calls against.
pub struct Gate {
    accounts: Vec<Account>,
    tables: Vec<MethodTable>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.accounts.iter().map(|a| a.name.as_str()).collect();
        f.debug_struct("Gate").field("accounts", &names).finish()
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl Gate {
    /// A gate enforcing `tables`, with no account yet.
    pub fn new(tables: impl IntoIterator<Item = MethodTable>) -> Self {
        Self {
            accounts: Vec::new(),
            tables: tables.into_iter().collect(),
        }
    }

    /// Adds an account `name` of `kind` holding `token`.
    pub fn with_account(mut self, name: &str, kind: TokenKind, token: &SecretString) -> Self {
        self.accounts.push(Account {
            name: name.to_owned(),
            kind,
            digest: digest(token.expose_secret().as_bytes()),
        });
        self
    }

    /// Who calls `path` with `headers`, or why the call is refused. `None`
    /// for the open health service.
    pub fn check(&self, path: &str, headers: &HeaderMap) -> Result<Option<Caller>, Status> {
        if path.starts_with(OPEN_PREFIX) {
            return Ok(None);
        }
        let token = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                unauthenticated("a bearer token is required (authorization metadata)")
            })?;
        let presented = digest(token.trim().as_bytes());
        // Every account is compared, so the time taken does not say which matched.
        let mut found = None;
        for account in &self.accounts {
            if bool::from(account.digest.ct_eq(&presented)) {
                found = Some(account);
            }
        }
        let account = found.ok_or_else(|| unauthenticated("the token matches no account"))?;
        let named = headers.get(USER_HEADER).map(|v| v.to_str().unwrap_or(""));
        let caller = match (account.kind, named) {
            (TokenKind::Service, None) => Caller::Service {
                account: account.name.clone(),
            },
            (TokenKind::Service, Some(user)) => {
                let role = headers
                    .get(ROLE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<Role>().ok());
                match (user.is_empty(), role) {
                    (false, Some(role)) => Caller::Person(Actor::new(user, role)),
                    _ => {
                        return Err(Status::invalid_argument(format!(
                            "{USER_HEADER} needs a non-empty user and {ROLE_HEADER} one of agent, supervisor, admin"
                        )));
                    }
                }
            }
            (TokenKind::Person(_), Some(_)) => {
                return Err(permission_denied(
                    format!("{USER_HEADER} is accepted only with a service token"),
                    AUTH_DOMAIN,
                ));
            }
            (TokenKind::Person(role), None) => Caller::Person(Actor::new(&account.name, role)),
        };
        if let Caller::Person(actor) = &caller {
            self.authorize(path, actor)?;
        }
        Ok(Some(caller))
    }

    /// Applies the method tables to a person. Services without a table
    /// (reflection) are open to every authenticated caller.
    fn authorize(&self, path: &str, actor: &Actor) -> Result<(), Status> {
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let (service, method) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let Some(table) = self.tables.iter().find(|t| t.service == service) else {
            return Ok(());
        };
        match table.least_role(method) {
            Some(least) if actor.role.at_least(least) => Ok(()),
            Some(least) => Err(permission_denied(
                format!(
                    "{service}/{method} needs the {least} role; {} is {}",
                    actor.user, actor.role
                ),
                AUTH_DOMAIN,
            )),
            None => Err(permission_denied(
                format!("{service}/{method} is not in the method table"),
                AUTH_DOMAIN,
            )),
        }
    }
}

/// A tower layer putting a [`Gate`] in front of a gRPC server's services.
#[derive(Debug, Clone)]
pub struct GateLayer(Arc<Gate>);

impl GateLayer {
    /// The layer over `gate`.
    pub fn new(gate: Gate) -> Self {
        Self(Arc::new(gate))
    }
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated {
            inner,
            gate: self.0.clone(),
        }
    }
}

/// A service behind the [`Gate`].
#[derive(Debug, Clone)]
pub struct Gated<S> {
    inner: S,
    gate: Arc<Gate>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for Gated<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.gate.check(request.uri().path(), request.headers()) {
            Ok(caller) => {
                if let Some(caller) = caller {
                    request.extensions_mut().insert(caller);
                }
                Box::pin(self.inner.call(request))
            }
            Err(status) => {
                tracing::debug!(path = %request.uri().path(), code = ?status.code(), "grpc call refused");
                let response = status.into_http();
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}

/// A client channel presenting a bearer token on every call, and the
/// caller's trace context (`traceparent`, from the current span) when the
/// request does not carry one already.
#[derive(Debug, Clone)]
pub struct WithToken<S> {
    inner: S,
    header: HeaderValue,
}

/// A transport channel presenting a token: what Omniroute's clients call through.
pub type AuthChannel = WithToken<tonic::transport::Channel>;

/// A token that cannot be sent as a header value.
#[derive(Debug, thiserror::Error)]
#[error("a gRPC token must be visible ASCII without spaces")]
pub struct InvalidToken;

impl<S> WithToken<S> {
    /// `inner` presenting `token`.
    pub fn new(inner: S, token: &SecretString) -> Result<Self, InvalidToken> {
        let secret = token.expose_secret();
        if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidToken);
        }
        let mut header =
            HeaderValue::try_from(format!("Bearer {secret}")).map_err(|_| InvalidToken)?;
        header.set_sensitive(true);
        Ok(Self { inner, header })
    }
}

impl<S, B> tower::Service<http::Request<B>> for WithToken<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        request
            .headers_mut()
            .insert(AUTHORIZATION, self.header.clone());
        if !request.headers().contains_key(omni_telemetry::TRACEPARENT)
            && let Some(trace) = omni_telemetry::current(&tracing::Span::current())
            && let Ok(value) = HeaderValue::try_from(trace.to_string())
        {
            request
                .headers_mut()
                .insert(omni_telemetry::TRACEPARENT, value);
        }
        self.inner.call(request)
    }
}

/// Names `actor` as the person a service-token call is made for.
pub fn act_for<T>(request: &mut tonic::Request<T>, actor: &Actor) {
    let metadata = request.metadata_mut();
    if let Ok(user) = actor.user.parse() {
        metadata.insert(USER_HEADER, user);
    }
    metadata.insert(
        ROLE_HEADER,
        tonic::metadata::MetadataValue::from_static(actor.role.as_str()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: MethodTable = MethodTable {
        service: "omni.routing.v1.RouterService",
        methods: &[("GetAgent", Role::Agent), ("UpsertAgent", Role::Admin)],
    };

    #[test]
    fn a_table_differs_from_its_proto_by_the_methods_either_lacks() {
        let proto = "service RouterService {\n  rpc GetAgent(GetAgentRequest) returns (AgentState);\n  \
                     rpc ListQueues (ListQueuesRequest) returns (ListQueuesResponse);\n}\n";
        assert_eq!(
            TABLE.differences(proto),
            (
                vec!["ListQueues".to_owned()],
                vec!["UpsertAgent".to_owned()]
            )
        );
        let verdict = TABLE.check_against(proto).unwrap_err();
        assert!(verdict.contains("ListQueues") && verdict.contains("UpsertAgent"));
        assert!(
            TABLE
                .check_against("rpc GetAgent(A) returns (B);\nrpc UpsertAgent(C) returns (D);")
                .is_ok()
        );
    }

    fn gate() -> Gate {
        Gate::new([TABLE])
            .with_account("desk", TokenKind::Service, &"svc-token".into())
            .with_account(
                "alice",
                TokenKind::Person(Role::Agent),
                &"alice-token".into(),
            )
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header"));
        }
        map
    }

    const GET: &str = "/omni.routing.v1.RouterService/GetAgent";
    const UPSERT: &str = "/omni.routing.v1.RouterService/UpsertAgent";

    #[test]
    fn health_is_open_and_everything_else_needs_a_known_token() {
        let gate = gate();
        assert_eq!(
            gate.check("/grpc.health.v1.Health/Check", &HeaderMap::new())
                .ok(),
            Some(None)
        );
        for h in [
            headers(&[]),
            headers(&[("authorization", "Bearer wrong")]),
            headers(&[("authorization", "svc-token")]),
        ] {
            let refused = gate.check(GET, &h).expect_err("refused");
            assert_eq!(refused.code(), Code::Unauthenticated);
            assert_eq!(
                crate::status::reason(&refused),
                Some(ErrorReason::Unauthenticated)
            );
        }
    }

    #[test]
    fn a_person_token_is_held_to_the_method_table_and_cannot_name_another() {
        let gate = gate();
        let alice = headers(&[("authorization", "Bearer alice-token")]);
        assert_eq!(
            gate.check(GET, &alice).expect("allowed"),
            Some(Caller::Person(Actor::new("alice", Role::Agent)))
        );
        let denied = gate.check(UPSERT, &alice).expect_err("admin only");
        assert_eq!(denied.code(), Code::PermissionDenied);
        let unlisted = gate
            .check("/omni.routing.v1.RouterService/Nope", &alice)
            .expect_err("unlisted");
        assert_eq!(unlisted.code(), Code::PermissionDenied);
        let posing = headers(&[
            ("authorization", "Bearer alice-token"),
            ("x-omni-user", "bob"),
            ("x-omni-role", "admin"),
        ]);
        assert_eq!(
            gate.check(GET, &posing).expect_err("refused").code(),
            Code::PermissionDenied
        );
    }

    #[test]
    fn a_service_token_acts_as_itself_or_for_the_person_it_names() {
        let gate = gate();
        let service = headers(&[("authorization", "Bearer svc-token")]);
        assert_eq!(
            gate.check(UPSERT, &service).expect("allowed"),
            Some(Caller::Service {
                account: "desk".into()
            })
        );
        let for_bob = headers(&[
            ("authorization", "Bearer svc-token"),
            ("x-omni-user", "bob"),
            ("x-omni-role", "agent"),
        ]);
        assert_eq!(
            gate.check(GET, &for_bob).expect("allowed"),
            Some(Caller::Person(Actor::new("bob", Role::Agent)))
        );
        assert_eq!(
            gate.check(UPSERT, &for_bob).expect_err("admin only").code(),
            Code::PermissionDenied
        );
        let no_role = headers(&[
            ("authorization", "Bearer svc-token"),
            ("x-omni-user", "bob"),
        ]);
        assert_eq!(
            gate.check(GET, &no_role).expect_err("no role").code(),
            Code::InvalidArgument
        );
    }

    #[test]
    fn with_token_refuses_what_cannot_be_a_header() {
        assert!(WithToken::new((), &"ok-token".into()).is_ok());
        assert!(WithToken::new((), &"has space".into()).is_err());
        assert!(WithToken::new((), &"".into()).is_err());
    }
}
