//! Checks for dead letters: kept once per message, listed newest first by
//! channel, durable, and bounded to the newest.

use super::{StoreFactory, T0, Tag, open, step};
use crate::{DeadLetterRecord, DeadLetterStore};

fn letter(t: &Tag, channel: &str, n: i64) -> DeadLetterRecord {
    DeadLetterRecord {
        message_id: t.key(&format!("msg{n}")),
        conversation_id: t.key("conv"),
        channel: channel.to_owned(),
        destination: "https://app.example/hook".into(),
        attempts: 5,
        reason: format!("app answered 503: down {n}"),
        at_ms: T0 + n,
        text: format!("reply {n}"),
        decode_error: None,
    }
}

/// A dead letter is kept once however often it is put, listed newest
/// first, by channel when asked, up to the limit, and survives a reopen;
/// deleting a conversation's (erasure) leaves the others.
pub async fn dead_letters_are_kept_once_newest_first<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let (app, other) = (t.key("app"), t.key("other"));
    let letters = [
        letter(&t, &app, 1),
        letter(&t, &other, 2),
        letter(&t, &app, 3),
    ];
    for l in &letters {
        assert!(step("put", store.put_dead_letter(l, u64::MAX)).await);
    }
    let mut again = letters[0].clone();
    again.reason = "redelivered".into();
    assert!(
        !step("put again", store.put_dead_letter(&again, u64::MAX)).await,
        "a redelivered dead letter is not new"
    );
    drop(store);
    let store = open(factory).await;
    let of_app = step("list app", store.dead_letters(Some(&app), 10)).await;
    assert_eq!(
        of_app,
        vec![letters[2].clone(), letters[0].clone()],
        "the app's, newest first, the first kept as first put"
    );
    let newest = step("list app, one", store.dead_letters(Some(&app), 1)).await;
    assert_eq!(newest, vec![letters[2].clone()]);
    let all = step("list all", store.dead_letters(None, usize::MAX)).await;
    let ours: Vec<_> = all
        .into_iter()
        .filter(|l| l.channel == app || l.channel == other)
        .collect();
    assert_eq!(
        ours,
        vec![letters[2].clone(), letters[1].clone(), letters[0].clone()]
    );
    let mut undecodable = letter(&t, &app, 4);
    undecodable.decode_error = Some("invalid wire type".into());
    step(
        "put undecodable",
        store.put_dead_letter(&undecodable, u64::MAX),
    )
    .await;
    let first = step("list app again", store.dead_letters(Some(&app), 1)).await;
    assert_eq!(first, vec![undecodable.clone()], "the decode error is kept");

    // An erasure deletes one conversation's, and only those.
    let mut elsewhere = letter(&t, &other, 5);
    elsewhere.conversation_id = t.key("conv-other");
    step("put elsewhere", store.put_dead_letter(&elsewhere, u64::MAX)).await;
    let gone = step("delete", store.delete_dead_letters(&[t.key("conv")])).await;
    assert_eq!(gone, 4, "the conversation's four dead letters");
    let left = step("list after delete", store.dead_letters(Some(&other), 10)).await;
    assert_eq!(left, vec![elsewhere]);
    assert!(
        step("list app after", store.dead_letters(Some(&app), 10))
            .await
            .is_empty()
    );
    assert!(
        step(
            "put again after delete",
            store.put_dead_letter(&letters[0], u64::MAX)
        )
        .await,
        "a deleted dead letter is forgotten"
    );
}

/// The store keeps the newest `keep` dead letters: older ones are deleted
/// when a newer one comes, and an older one than all kept is not kept.
pub async fn dead_letters_keep_the_newest<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let app = t.key("app");
    // Other checks on a shared store may have left dead letters; ours are
    // older than theirs (stamped before T0), so ours are trimmed first.
    let before = step("list before", store.dead_letters(None, usize::MAX)).await;
    let keep = before.len() as u64 + 3;
    for n in -20..-15 {
        step("put", store.put_dead_letter(&letter(&t, &app, n), keep)).await;
    }
    let kept = step("list", store.dead_letters(Some(&app), 10)).await;
    let ats: Vec<_> = kept.iter().map(|l| l.at_ms - T0).collect();
    assert_eq!(
        ats,
        vec![-16, -17, -18],
        "the newest three of ours are kept"
    );
    let old = letter(&t, &app, -30);
    assert!(step("put old", store.put_dead_letter(&old, keep)).await);
    let kept = step("list again", store.dead_letters(Some(&app), 10)).await;
    let ats: Vec<_> = kept.iter().map(|l| l.at_ms - T0).collect();
    assert_eq!(
        ats,
        vec![-16, -17, -18],
        "a letter older than all kept is trimmed"
    );
    let total = step("count", store.dead_letters(None, usize::MAX)).await;
    assert_eq!(total.len() as u64, keep);
}
