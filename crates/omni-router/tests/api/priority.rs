//! A contact's priority from its routing request (set by routing rules):
//! it goes first in its queue, keeps its place across a restart, and the
//! explanation names the rules that set it; a later request with a higher
//! priority raises a held contact, durably.

use omni_store::ContactRecord;

use super::{Router, contact};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_priority_goes_first_survives_a_restart_and_is_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start(dir.path()).await;
    // Nobody is available: both wait, the plain one longer.
    router.arrive("con_plain", "support").await;
    let angry = ContactRecord {
        priority: 5,
        reasons: vec!["priority 5 by rule angry-customers: sentiment -0.82".into()],
        ..contact("con_angry", "support")
    };
    router.shell.arrive(angry).await.expect("arrives");
    let explained = router.explain("con_angry").await;
    let summaries: Vec<(&str, &str)> = explained
        .iter()
        .map(|d| (d.kind.as_str(), d.summary.as_str()))
        .collect();
    assert_eq!(
        summaries,
        [
            (
                "queued",
                "queued in support (priority 0, contact priority 5)"
            ),
            (
                "rules",
                "priority 5 by rule angry-customers: sentiment -0.82"
            ),
        ]
    );
    router.stop().await;

    // After a restart the angry contact still goes first.
    let mut router = Router::start(dir.path()).await;
    router.available("alice").await;
    let alice = router.agent("alice").await;
    let offered: Vec<&str> = alice
        .offers
        .iter()
        .map(|o| o.conversation_id.as_str())
        .collect();
    assert_eq!(offered, ["con_angry"]);
    let explained = router.explain("con_angry").await;
    assert!(
        explained
            .iter()
            .any(|d| d.kind == "rules" && d.summary.contains("angry-customers")),
        "{explained:?}"
    );
    router.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_request_raises_a_held_contact_durably_and_never_lowers_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start(dir.path()).await;
    // Nobody is available: both wait, the plain one longer.
    router.arrive("con_plain", "support").await;
    router.arrive("con_late", "support").await;
    let raised = ContactRecord {
        priority: 5,
        reasons: vec!["priority 5 by rule angry-customers: sentiment -0.82".into()],
        ..contact("con_late", "support")
    };
    router.shell.arrive(raised.clone()).await.expect("raised");
    // A redelivery and a lower priority change nothing.
    router.shell.arrive(raised).await.expect("again");
    let calmer = ContactRecord {
        priority: 2,
        reasons: vec!["priority 2 by rule other: tier gold".into()],
        ..contact("con_late", "support")
    };
    router.shell.arrive(calmer).await.expect("lower");
    let explained = router.explain("con_late").await;
    let kinds: Vec<(&str, &str)> = explained
        .iter()
        .filter(|d| d.kind != "queued")
        .map(|d| (d.kind.as_str(), d.summary.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("priority_raised", "contact priority raised from 0 to 5"),
            (
                "rules",
                "priority 5 by rule angry-customers: sentiment -0.82"
            ),
        ]
    );
    router.stop().await;

    // The raise was recorded: after a restart the later contact goes first.
    let mut router = Router::start(dir.path()).await;
    router.available("alice").await;
    let alice = router.agent("alice").await;
    let offered: Vec<&str> = alice
        .offers
        .iter()
        .map(|o| o.conversation_id.as_str())
        .collect();
    assert_eq!(offered, ["con_late"]);
    router.stop().await;
}
