//! The store conformance suite against the embedded (redb) store, directly
//! and behind the timing wrapper, plus the embedded store's own failure
//! modes.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use omni_store::conformance::{self, StoreFactory};
use omni_store::{EmbeddedStore, StoreError, Timed};

/// One store file in its own temporary directory.
struct Embedded {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Embedded {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("data").join("store.redb");
        Self { _dir: dir, path }
    }
}

#[async_trait]
impl StoreFactory for Embedded {
    type Store = EmbeddedStore;

    async fn open(&self) -> Result<Arc<EmbeddedStore>, StoreError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || EmbeddedStore::open(&path))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

omni_store::store_conformance_tests!(Embedded::new());

#[tokio::test]
async fn all_checks_pass_on_one_shared_store() {
    conformance::run_all(&Embedded::new()).await;
}

/// The same store behind [`Timed`], as the parts run it: the wrapper
/// forwards every operation unchanged.
struct TimedEmbedded(Embedded);

#[async_trait]
impl StoreFactory for TimedEmbedded {
    type Store = Timed<EmbeddedStore>;

    async fn open(&self) -> Result<Arc<Timed<EmbeddedStore>>, StoreError> {
        Ok(Timed::new(self.0.open().await?, "embedded"))
    }
}

#[tokio::test]
async fn all_checks_pass_through_the_timing_wrapper() {
    conformance::run_all(&TimedEmbedded(Embedded::new())).await;
}

#[test]
fn a_store_open_elsewhere_is_unavailable_and_named() {
    let factory = Embedded::new();
    let _first = EmbeddedStore::open(&factory.path).expect("first open");
    let err = EmbeddedStore::open(&factory.path).expect_err("second open of the same file");
    let message = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        message.contains(&factory.path.display().to_string()),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_a_store_is_unavailable() {
    let factory = Embedded::new();
    std::fs::create_dir_all(factory.path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&factory.path, vec![0x5a; 64 * 1024]).expect("write junk");
    let err = EmbeddedStore::open(&factory.path).expect_err("junk file");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("store.redb"), "{err}");
}
