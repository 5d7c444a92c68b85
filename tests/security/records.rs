//! Customer records: merging, unmerging and finding customers by identity
//! are supervisor actions; an agent links identities only to the customer
//! of a conversation they hold, only unverified, and never one another
//! customer has; replies go only to identities the customer wrote from or a
//! supervisor verified, so an agent cannot link a phone number and send it
//! SMS from the company's account.

use omni_proto::common::{self as pb, ErrorReason};
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{
    FindCustomerRequest, GetConversationRequest, LinkIdentityRequest, MergeCustomersRequest,
    SendMessageRequest, UnmergeCustomersRequest,
};
use omni_testkit::TestApp;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::grpc::{SERVICE_TOKEN, SUPERVISOR_TOKEN, admin_channel, channel};
use tonic::{Code, Status};

use crate::support::{for_user, refused_saying};

fn phone(number: &str) -> Option<pb::Identity> {
    Some(pb::Identity {
        kind: Some(pb::identity::Kind::Phone(number.into())),
    })
}

fn email(address: &str) -> Option<pb::Identity> {
    Some(pb::Identity {
        kind: Some(pb::identity::Kind::Email(address.into())),
    })
}

fn link(
    customer: &str,
    identity: Option<pb::Identity>,
    by: &str,
    verified: bool,
) -> LinkIdentityRequest {
    LinkIdentityRequest {
        customer_id: customer.to_owned(),
        identity,
        agent_id: by.to_owned(),
        evidence: "the customer said so".into(),
        verified,
    }
}

/// The customer id of the chat visitor `visitor`, once the first message
/// has made them one (the supervisor's lookup).
pub(crate) async fn customer_of_visitor(app: &TestApp, visitor: &str) -> anyhow::Result<String> {
    let mut supervisor = ContextServiceClient::new(channel(&app.grpc_url(), SUPERVISOR_TOKEN)?);
    for _ in 0..200 {
        let found = supervisor
            .find_customer(FindCustomerRequest {
                identity: Some(pb::Identity {
                    kind: Some(pb::identity::Kind::ChatVisitor(visitor.into())),
                }),
            })
            .await;
        match found {
            Ok(c) => return Ok(c.into_inner().id),
            Err(s) if s.code() == Code::NotFound => {
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            Err(s) => return Err(s.into()),
        }
    }
    anyhow::bail!("visitor {visitor} never became a customer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_merge_find_or_take_over_customers() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    // bob holds the first customer's conversation; a second customer exists.
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut first, _) = Customer::open(&app, None, "sales").await?;
    first.say("my order is late").await?;
    let conversation = bob.take_next_offer().await?;
    let (mut second, _) = Customer::open(&app, None, "sales").await?;
    second.say("hello from someone else").await?;
    let other = customer_of_visitor(&app, &second.visitor).await?;

    let mut admin = ContextServiceClient::new(admin_channel(&app.grpc_url())?);
    let mine = admin
        .get_conversation(GetConversationRequest {
            conversation_id: conversation.clone(),
        })
        .await?
        .into_inner()
        .customer
        .map(|c| c.id)
        .unwrap_or_default();
    let mut desk = ContextServiceClient::new(channel(&app.grpc_url(), SERVICE_TOKEN)?);
    let denied = |a: Result<(), Status>, says: &str, what: &str| {
        refused_saying(
            a,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            says,
            what,
        )
    };

    // Merging the other customer into his own, undoing a merge, looking
    // a customer up by phone: not an agent's.
    let merge = MergeCustomersRequest {
        survivor_id: mine.clone(),
        absorbed_id: other.clone(),
        agent_id: "bob".into(),
        evidence: "same person".into(),
    };
    denied(
        desk.merge_customers(for_user(merge.clone(), "bob", "agent"))
            .await
            .map(|_| ()),
        "",
        "bob merging a foreign customer into his own",
    );
    denied(
        desk.unmerge_customers(for_user(
            UnmergeCustomersRequest {
                merge_id: "m1".into(),
                agent_id: "bob".into(),
                reason: "undo".into(),
            },
            "bob",
            "agent",
        ))
        .await
        .map(|_| ()),
        "",
        "bob undoing a merge",
    );
    denied(
        desk.find_customer(for_user(
            FindCustomerRequest {
                identity: phone("+12025550143"),
            },
            "bob",
            "agent",
        ))
        .await
        .map(|_| ()),
        "",
        "bob looking a customer up by phone",
    );

    // Linking: never verified, never to a customer he does not hold, never
    // an identity another customer has.
    denied(
        desk.link_identity(for_user(
            link(&mine, phone("+12025550143"), "bob", true),
            "bob",
            "agent",
        ))
        .await
        .map(|_| ()),
        "an agent links it unverified",
        "bob linking a verified phone",
    );
    denied(
        desk.link_identity(for_user(
            link(&other, email("x@example.com"), "bob", false),
            "bob",
            "agent",
        ))
        .await
        .map(|_| ()),
        "no conversation of theirs is assigned to them",
        "bob linking to a customer he does not hold",
    );
    let mut supervisor = ContextServiceClient::new(channel(&app.grpc_url(), SUPERVISOR_TOKEN)?);
    supervisor
        .link_identity(link(&other, email("taken@Example.COM"), "sam", true))
        .await?;
    denied(
        desk.link_identity(for_user(
            link(&mine, email("taken@example.com"), "bob", false),
            "bob",
            "agent",
        ))
        .await
        .map(|_| ()),
        "belongs to another customer",
        "bob taking another customer's email",
    );

    // A supervisor merges.
    let record = supervisor.merge_customers(merge).await?.into_inner();
    assert_eq!(record.survivor_id, mine);
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_sms_a_number_the_customer_never_used() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("call me maybe").await?;
    let conversation = bob.take_next_offer().await?;
    let mut admin = ContextServiceClient::new(admin_channel(&app.grpc_url())?);
    let mine = admin
        .get_conversation(GetConversationRequest {
            conversation_id: conversation.clone(),
        })
        .await?
        .into_inner()
        .customer
        .map(|c| c.id)
        .unwrap_or_default();

    // bob may record the number as unverified, on his own customer.
    let mut desk = ContextServiceClient::new(channel(&app.grpc_url(), SERVICE_TOKEN)?);
    let linked = desk
        .link_identity(for_user(
            link(&mine, phone("+12025550143"), "bob", false),
            "bob",
            "agent",
        ))
        .await?
        .into_inner()
        .customer
        .unwrap_or_default();
    assert_eq!(
        linked.unverified,
        vec![phone("+12025550143").unwrap_or_default()]
    );
    assert!(
        linked
            .identities
            .iter()
            .all(|i| !matches!(i.kind, Some(pb::identity::Kind::Phone(_))))
    );

    // ...but no SMS goes to it.
    let sms = desk
        .send_message(for_user(
            SendMessageRequest {
                attachments: Vec::new(),
                conversation_id: conversation.clone(),
                agent_id: "bob".into(),
                text: "hi from the company's number".into(),
                idempotency_key: "sms-1".into(),
                channel: pb::Channel::Sms as i32,
                channel_name: "sms".to_owned(),
            },
            "bob",
            "agent",
        ))
        .await;
    refused_saying(
        sms.map(|_| ()),
        Code::FailedPrecondition,
        ErrorReason::Conflict,
        "is not verified",
        "bob sending SMS to a number the customer never used",
    );
    app.stop().await;
    Ok(())
}
