//! The proto's channel names beside the old enum: an old writer that sets
//! only the enum is read as before, a declared channel travels by name,
//! and a declared identity kind round-trips.

use omni_core::{Channel, Identity, InboundMessage};
use omni_proto::common as pb;
use omni_proto::convert::{channel_from_pb, channel_to_pb};
use omni_proto::events as ev;

fn inbound(channel: Channel, from: Identity) -> InboundMessage {
    InboundMessage {
        idempotency_key: "k1".into(),
        channel,
        from,
        text: "hello".into(),
        received_at_ms: 1,
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}

#[test]
fn an_old_writer_setting_only_the_enum_is_read_as_before() {
    let mut m = ev::InboundMessage::from(&inbound(
        Channel::SMS,
        Identity::Phone("+12025550143".into()),
    ));
    assert_eq!(
        (m.channel, m.channel_name.as_str()),
        (pb::Channel::Sms as i32, "sms")
    );
    m.channel_name.clear();
    let back = InboundMessage::try_from(m).expect("enum only");
    assert_eq!(back.channel, Channel::SMS);
    assert_eq!(
        channel_from_pb(pb::Channel::Email as i32, ""),
        Some(Channel::EMAIL)
    );
    assert_eq!(channel_from_pb(0, ""), None);
}

#[test]
fn a_declared_channel_and_identity_kind_round_trip_by_name() {
    let app = Channel::parse("proto-app").expect("name");
    let from = Identity::Declared {
        kind: "proto-app".into(),
        value: "user-42".into(),
    };
    let m = ev::InboundMessage::from(&inbound(app, from.clone()));
    // An old reader sees "unspecified", never a wrong built-in channel.
    assert_eq!((m.channel, m.channel_name.as_str()), (0, "proto-app"));
    assert_eq!(channel_to_pb(app), (0, "proto-app".to_owned()));
    let back = InboundMessage::try_from(m.clone()).expect("by name");
    assert_eq!((back.channel, back.from), (app, from));
    // The name wins over the enum; a name this process never declared is
    // no channel, whatever the enum says.
    assert_eq!(
        channel_from_pb(pb::Channel::Chat as i32, "proto-app"),
        Some(app)
    );
    assert_eq!(
        channel_from_pb(pb::Channel::Chat as i32, "proto-never-declared"),
        None
    );
    let mut unknown = m;
    unknown.channel_name = "proto-never-declared".into();
    assert!(InboundMessage::try_from(unknown).is_err());
}

#[test]
fn a_declared_identity_needs_a_kind_name() {
    let bad = pb::Identity {
        kind: Some(pb::identity::Kind::Declared(pb::DeclaredIdentity {
            kind: "Not A Kind".into(),
            value: "x".into(),
        })),
    };
    assert!(Identity::try_from(bad).is_err());
    let built_in = pb::Identity {
        kind: Some(pb::identity::Kind::Declared(pb::DeclaredIdentity {
            kind: "email".into(),
            value: "ana@example.com".into(),
        })),
    };
    assert_eq!(
        Identity::try_from(built_in).expect("a built-in kind by name"),
        Identity::Email("ana@example.com".into())
    );
}
