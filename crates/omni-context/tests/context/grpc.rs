//! The gRPC API on a real socket: profiles, linking, merging, unmerging,
//! attachments, and precise errors for bad input.

use omni_context::ContextApi;
use omni_core::access::Role;
use omni_core::trace::TraceContext;
use omni_core::{Attachment, EmailDetails, Identity};
use omni_proto::auth::{AuthChannel, Gate, GateLayer, TokenKind, WithToken};
use omni_proto::common as pb;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::*;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{Harness, inbound};

/// The token of the admin account the test server accepts.
const ADMIN_TOKEN: &str = "context-test-admin-token-0123";

/// The token of the service account the test server accepts (an adapter).
const SERVICE_TOKEN: &str = "context-test-service-token-0123";

async fn serve(h: &Harness) -> ContextServiceClient<AuthChannel> {
    serve_both(h).await.0
}

/// Clients as the admin and as a service (an adapter).
async fn serve_both(
    h: &Harness,
) -> (
    ContextServiceClient<AuthChannel>,
    ContextServiceClient<AuthChannel>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let api = ContextApi::new(h.service.clone());
    let gate = Gate::new([omni_context::authority::METHODS])
        .with_account("admin", TokenKind::Person(Role::Admin), &ADMIN_TOKEN.into())
        .with_account("adapter", TokenKind::Service, &SERVICE_TOKEN.into());
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GateLayer::new(gate))
            .add_service(api.into_server())
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("url")
        .connect()
        .await
        .expect("connect");
    (
        ContextServiceClient::new(
            WithToken::new(channel.clone(), &ADMIN_TOKEN.into()).expect("token"),
        ),
        ContextServiceClient::new(WithToken::new(channel, &SERVICE_TOKEN.into()).expect("token")),
    )
}

/// Internal notes are listed only to a person who asks for them, never to
/// a service: the chat adapter builds the customer's history from this list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_notes_are_listed_only_to_people_who_ask() {
    let h = Harness::start(|_| {}).await;
    let (mut admin, mut service) = serve_both(&h).await;
    let got = h
        .service
        .ingest(
            &inbound(Identity::ChatVisitor("v-listed-0123".into()), "l1", "hi"),
            TraceContext::new_root(),
        )
        .await
        .expect("ingest");
    let id = got.conversation.id.to_string();
    let note = admin
        .add_note(AddNoteRequest {
            conversation_id: id.clone(),
            agent_id: "admin".into(),
            text: "watch this one".into(),
            idempotency_key: "n1".into(),
            transfer_to: "queue support".into(),
        })
        .await
        .expect("note")
        .into_inner();
    assert!(matches!(
        note.notice.and_then(|n| n.kind),
        Some(pb::notice::Kind::InternalNote(n)) if n.transfer_to == "queue support"
    ));
    let list = |include_notes| ListMessagesRequest {
        conversation_id: id.clone(),
        after_seq: 0,
        limit: 10,
        include_notes,
    };
    let texts = |r: ListMessagesResponse| -> Vec<String> {
        r.messages.into_iter().map(|m| m.text).collect()
    };
    let asked = admin.list_messages(list(true)).await.expect("list");
    assert_eq!(texts(asked.into_inner()), ["hi", "watch this one"]);
    let plain = admin.list_messages(list(false)).await.expect("list");
    assert_eq!(texts(plain.into_inner()), ["hi"]);
    let adapter = service.list_messages(list(true)).await.expect("list");
    assert_eq!(
        texts(adapter.into_inner()),
        ["hi"],
        "a service never sees notes"
    );
}

fn email(v: &str) -> pb::Identity {
    pb::Identity {
        kind: Some(pb::identity::Kind::Email(v.into())),
    }
}

fn phone(v: &str) -> pb::Identity {
    pb::Identity {
        kind: Some(pb::identity::Kind::Phone(v.into())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_link_merge_and_unmerge_over_grpc() {
    let h = Harness::start(|_| {}).await;
    let mut client = serve(&h).await;
    let trace = TraceContext::new_root;
    let chat = h
        .service
        .ingest(
            &inbound(Identity::ChatVisitor("v-grpc".into()), "c1", "hi"),
            trace(),
        )
        .await
        .expect("chat");
    let sms = h
        .service
        .ingest(
            &inbound(Identity::Phone("+12025550199".into()), "s1", "hi"),
            trace(),
        )
        .await
        .expect("sms");
    let a = chat.customer.id.to_string();
    let b = sms.customer.id.to_string();

    let updated = client
        .update_customer(UpdateCustomerRequest {
            customer_id: a.clone(),
            language: Some("es".into()),
            tier: Some("gold".into()),
            attributes: [("plan".to_owned(), "pro".to_owned())].into(),
            ..Default::default()
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(
        (updated.language.as_str(), updated.tier.as_str()),
        ("es", "gold")
    );

    // Unverified: recorded, never matched.
    let claimed = client
        .link_identity(LinkIdentityRequest {
            customer_id: a.clone(),
            identity: Some(email("typed@example.com")),
            agent_id: "agt_alice".into(),
            evidence: String::new(),
            verified: false,
        })
        .await
        .expect("claim")
        .into_inner();
    assert_eq!(
        claimed.customer.expect("customer").unverified,
        vec![email("typed@example.com")]
    );
    let err = client
        .find_customer(FindCustomerRequest {
            identity: Some(email("typed@example.com")),
        })
        .await
        .expect_err("unverified identities are not matched");
    assert_eq!(err.code(), Code::NotFound);

    // Linking B's phone (typed nationally) merges B into A.
    let linked = client
        .link_identity(LinkIdentityRequest {
            customer_id: a.clone(),
            identity: Some(phone("202-555-0199")),
            agent_id: "agt_alice".into(),
            evidence: "read back the order number".into(),
            verified: true,
        })
        .await
        .expect("link")
        .into_inner();
    let merge = linked.merge.expect("a merge");
    assert_eq!(merge.survivor_id, a);
    assert_eq!(
        merge.absorbed.as_ref().map(|c| c.id.clone()),
        Some(b.clone())
    );
    let provenance = merge.provenance.clone().expect("provenance");
    assert_eq!(
        (provenance.by.as_str(), provenance.evidence.as_str()),
        ("agt_alice", "read back the order number")
    );
    let found = client
        .find_customer(FindCustomerRequest {
            identity: Some(phone("+1 (202) 555-0199")),
        })
        .await
        .expect("find")
        .into_inner();
    assert_eq!(found.id, a);
    assert_eq!(found.merge_ids, vec![merge.id.clone()]);
    let conversations = client
        .list_customer_conversations(ListCustomerConversationsRequest {
            customer_id: a.clone(),
            offset: 0,
            limit: 1,
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(conversations.conversations.len(), 1);
    assert_eq!(conversations.next_offset, 1);
    assert!(
        conversations.conversations[0]
            .reply_address
            .ends_with("@reply.test")
    );

    let restored = client
        .unmerge_customers(UnmergeCustomersRequest {
            merge_id: merge.id.clone(),
            agent_id: "agt_alice".into(),
            reason: "two different people".into(),
        })
        .await
        .expect("unmerge")
        .into_inner();
    assert_eq!(
        restored.restored.expect("restored").identities,
        vec![phone("+12025550199")]
    );
    let record = client
        .get_merge(GetMergeRequest {
            merge_id: merge.id.clone(),
        })
        .await
        .expect("merge")
        .into_inner();
    assert_eq!(
        record.undone.map(|u| u.evidence),
        Some("two different people".to_owned())
    );
    // The merge (by linking) and the unmerge are in the audit log, by the
    // admin token's account, from the client's address.
    let audit = h.audit.audit(10).await.expect("audit");
    for action in ["customers_merged", "customers_unmerged"] {
        let line = audit
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} audited: {audit:?}"));
        assert_eq!(
            (line.actor.as_str(), line.target.as_str()),
            ("admin", a.as_str())
        );
        assert!(line.from.starts_with("127.0.0.1:"), "{}", line.from);
        assert!(line.detail.contains(&merge.id), "{}", line.detail);
    }
    let err = client
        .unmerge_customers(UnmergeCustomersRequest {
            merge_id: merge.id,
            agent_id: "agt_alice".into(),
            reason: "again".into(),
        })
        .await
        .expect_err("already undone");
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_sender_that_is_not_a_phone_number_is_a_customer_with_an_unverified_identity() {
    let h = Harness::start(|_| {}).await;
    let mut client = serve(&h).await;
    let sender = Identity::SmsSender("+15551234567".into());
    let first = h
        .service
        .ingest(
            &inbound(sender.clone(), "kannel:u1", "is my order ready?"),
            TraceContext::new_root(),
        )
        .await
        .expect("stored");
    let again = h
        .service
        .ingest(
            &inbound(sender.clone(), "kannel:u2", "hello?"),
            TraceContext::new_root(),
        )
        .await
        .expect("stored");
    assert_eq!(first.customer.id, again.customer.id, "one customer");
    assert_eq!(first.conversation.id, again.conversation.id);
    // STOP from such a sender is an opt-out like any other, with its notice.
    let mut stop = inbound(sender.clone(), "kannel:u3", "STOP");
    stop.sms = Some(omni_core::SmsDetails {
        opt: Some(omni_core::OptChange::Out),
        ..Default::default()
    });
    let stopped = h
        .service
        .ingest(&stop, TraceContext::new_root())
        .await
        .expect("stored");
    assert!(stopped.customer.opt_out(&sender).is_some());
    assert!(
        matches!(
            &stopped.message.notice,
            Some(omni_core::Notice::SmsOptOut { phone, .. }) if phone == "+15551234567"
        ),
        "{:?}",
        stopped.message.notice
    );

    let found = client
        .find_customer(FindCustomerRequest {
            identity: Some(pb::Identity::from(&sender)),
        })
        .await
        .expect("found by the sender as given")
        .into_inner();
    let view = omni_proto::view::CustomerView::from(&found);
    let shown = serde_json::to_value(&view.identities).expect("json");
    assert_eq!(
        shown,
        serde_json::json!([{
            "kind": "sms_sender",
            "value": "+15551234567",
            "note": omni_proto::view::SMS_SENDER_NOTE,
        }])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_precise_status() {
    let h = Harness::start(|_| {}).await;
    let mut client = serve(&h).await;
    let chat = h
        .service
        .ingest(
            &inbound(Identity::ChatVisitor("v-bad".into()), "c1", "hi"),
            TraceContext::new_root(),
        )
        .await
        .expect("chat");
    let a = chat.customer.id.to_string();
    let link = |identity: pb::Identity, evidence: &str| LinkIdentityRequest {
        customer_id: a.clone(),
        identity: Some(identity),
        agent_id: "agt_alice".into(),
        evidence: evidence.into(),
        verified: true,
    };
    let err = client
        .link_identity(link(phone("12"), "x"))
        .await
        .expect_err("bad phone");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("invalid phone number \"12\""),
        "{}",
        err.message()
    );
    let err = client
        .link_identity(link(email("ana@@example"), "x"))
        .await
        .expect_err("bad email");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("invalid email address"),
        "{}",
        err.message()
    );
    let err = client
        .link_identity(link(email("ana@example.com"), ""))
        .await
        .expect_err("no evidence");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("evidence"), "{}", err.message());
    let err = client
        .merge_customers(MergeCustomersRequest {
            survivor_id: a.clone(),
            absorbed_id: a.clone(),
            agent_id: "agt_alice".into(),
            evidence: "x".into(),
        })
        .await
        .expect_err("self merge");
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = client
        .get_customer(GetCustomerRequest {
            customer_id: "cus_nobody".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .get_attachment(GetAttachmentRequest {
            conversation_id: chat.conversation.id.to_string(),
            seq: 1,
            index: 1,
        })
        .await
        .expect_err("a chat message has no attachment");
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_download_with_name_and_type_unless_too_big() {
    let h = Harness::start(|c| c.context.max_attachment_bytes = 8).await;
    let mut client = serve(&h).await;
    let mut m = inbound(
        Identity::Email("ana@example.com".into()),
        "m1@x",
        "see attached",
    );
    m.email = Some(EmailDetails {
        message_id: "m1@x".into(),
        attachments: vec![
            Attachment {
                name: "a.txt".into(),
                content_type: "text/plain".into(),
                content: b"tiny".to_vec(),
            },
            Attachment {
                name: "b.bin".into(),
                content_type: "application/octet-stream".into(),
                content: vec![0; 9],
            },
        ],
        ..EmailDetails::default()
    });
    let got = h
        .service
        .ingest(&m, TraceContext::new_root())
        .await
        .expect("email");
    let id = got.conversation.id.to_string();
    let file = client
        .get_attachment(GetAttachmentRequest {
            conversation_id: id.clone(),
            seq: 1,
            index: 1,
        })
        .await
        .expect("attachment")
        .into_inner();
    assert_eq!(
        (file.name.as_str(), file.content_type.as_str(), file.size),
        ("a.txt", "text/plain", 4)
    );
    assert_eq!(file.content, b"tiny");
    let err = client
        .get_attachment(GetAttachmentRequest {
            conversation_id: id,
            seq: 1,
            index: 2,
        })
        .await
        .expect_err("too big to store");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("9 bytes"), "{}", err.message());
}
