//! Checks for canned responses: shared ones seen by everyone, personal ones
//! only by their owner, replaced in place, deleted once, durable.

use super::{StoreFactory, T0, Tag, open, step};
use crate::{CannedResponse, CannedStore};

fn canned(t: &Tag, name: &str, owner: Option<&str>, shortcut: &str) -> CannedResponse {
    CannedResponse {
        id: t.key(name),
        owner: owner.map(str::to_owned),
        shortcut: shortcut.to_owned(),
        title: format!("title {name}"),
        text: format!("Hello {{customer.name}}, {name}"),
        updated_by: "sup".into(),
        updated_at_ms: T0,
    }
}

/// Shared canned responses and the owner's personal ones are listed by
/// shortcut; another agent's personal ones never; a put replaces; a delete
/// removes once; everything survives a reopen.
pub async fn canned_responses_shared_and_personal<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let (ann, bob) = (t.key("ann"), t.key("bob"));
    let shared = canned(&t, "shared", None, &t.key("b-greet"));
    let anns = canned(&t, "anns", Some(&ann), &t.key("a-refund"));
    let bobs = canned(&t, "bobs", Some(&bob), &t.key("c-bye"));
    for c in [&shared, &anns, &bobs] {
        step("put", store.put_canned(c)).await;
    }
    let mut changed = anns.clone();
    changed.text = "changed".into();
    step("replace", store.put_canned(&changed)).await;
    drop(store);
    let store = open(factory).await;
    let ours = |all: Vec<CannedResponse>| -> Vec<CannedResponse> {
        all.into_iter().filter(|c| c.id.contains(&t.0)).collect()
    };
    let for_ann = ours(step("list ann", store.canned_for(&ann)).await);
    assert_eq!(
        for_ann,
        vec![changed.clone(), shared.clone()],
        "ann sees her own (replaced) and the shared one, by shortcut, not bob's"
    );
    let for_bob = ours(step("list bob", store.canned_for(&bob)).await);
    assert_eq!(for_bob, vec![shared.clone(), bobs.clone()]);
    assert_eq!(
        step("get", store.canned(&shared.id)).await,
        Some(shared.clone())
    );
    assert!(step("delete", store.delete_canned(&shared.id)).await);
    assert!(
        !step("delete again", store.delete_canned(&shared.id)).await,
        "a second delete finds nothing"
    );
    assert_eq!(step("get deleted", store.canned(&shared.id)).await, None);
    let for_ann = ours(step("list ann after", store.canned_for(&ann)).await);
    assert_eq!(for_ann, vec![changed]);
}
