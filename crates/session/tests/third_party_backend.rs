//! A store written outside this repository, selected by name through configuration: it
//! implements `Backend`, is added to the table with `Backends::with`, and
//! `storage = "journal"` with a `[journal]` options block builds it, end to end through a
//! save and an open.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::{Arc, Mutex};

use resty_session::memory::MemoryStorage;
use resty_session::{
    Backend, Backends, Capability, Config, Metadata, Request, Session, SessionIndex, SetRequest,
    SetupError, Storage, StorageError,
};

/// What every `JournalStorage` built in this process wrote: (label, key) per `set`.
static JOURNAL: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The `[journal]` options block.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalConfig {
    label: Option<String>,
}

/// A third-party store: the in-memory store, journaling its writes under its label.
struct JournalStorage {
    label: String,
    records: Arc<MemoryStorage>,
}

impl Storage for JournalStorage {
    async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
        JOURNAL
            .lock()
            .unwrap()
            .push((self.label.clone(), req.key.to_owned()));
        self.records.set(req).await
    }

    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        self.records.get(name, key, now).await
    }

    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        self.records.delete(name, key, now, metadata).await
    }

    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<SessionIndex, StorageError> {
        self.records
            .read_metadata(name, audience, subject, now)
            .await
    }

    fn capability(&self) -> Capability {
        self.records.capability()
    }
}

impl Backend for JournalStorage {
    const NAME: &'static str = "journal";
    const ALIASES: &'static [&'static str] = &["log"];
    type Config = JournalConfig;

    fn from_config(config: JournalConfig) -> Result<Self, StorageError> {
        let label = config.label.unwrap_or_else(|| "default".to_owned());
        if label.is_empty() {
            return Err(StorageError::config(
                "journal option `label` must not be empty",
            ));
        }
        Ok(Self {
            label,
            records: Arc::new(MemoryStorage::new()),
        })
    }
}

fn journaled(label: &str) -> Vec<String> {
    JOURNAL
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, _)| l == label)
        .map(|(_, key)| key.clone())
        .collect()
}

#[tokio::test]
async fn a_third_party_store_is_selected_by_name_from_configuration() {
    let config = Config::from_text(
        "secret = \"RaJKp8UQW1\"\nstorage = \"journal\"\n[journal]\nlabel = \"e2e\"",
    )
    .unwrap();
    let backends = Backends::builtin().with::<JournalStorage>();
    assert_eq!(backends.names().next(), Some("journal"));
    let built = resty_session::build_with(&config, &backends).unwrap();
    assert!(built.has_storage());

    let mut session = Session::new(&built, Request::new());
    session.set("user", &"john").unwrap();
    session.save().await.unwrap();
    // The options block reached the store, and the store holds the record.
    assert_eq!(journaled("e2e").len(), 1);
    let (cookie, _attributes) = session.set_cookies()[0].split_once(';').unwrap();
    // A server-side cookie is the 110-character header alone: the payload is in the store.
    assert_eq!(cookie.len(), "session=".len() + 110);

    let mut again = Session::new(&built, Request::new().with_cookie(cookie.to_owned()));
    again.open().await.unwrap();
    assert_eq!(
        again.get::<String>("user").unwrap().as_deref(),
        Some("john")
    );
}

#[test]
fn an_alias_selects_it_and_its_options_are_checked() {
    let backends = Backends::builtin().with::<JournalStorage>();
    // The alias selects the store; with no options block the options type's default is used.
    let alias = Config::from_text("secret = \"s\"\nstorage = \"log\"").unwrap();
    assert!(backends.storage(&alias).unwrap().is_some());

    // Options the store's serde type refuses, and options its constructor refuses.
    let typo = Config::from_text("storage = \"journal\"\n[journal]\nlabels = \"x\"").unwrap();
    let err = backends.storage(&typo).err().unwrap();
    assert!(
        matches!(
            err,
            SetupError::BackendOptions {
                backend: "journal",
                ..
            }
        ),
        "{err}"
    );
    let empty = Config::from_text("storage = \"journal\"\n[journal]\nlabel = \"\"").unwrap();
    let err = backends.storage(&empty).err().unwrap();
    assert!(
        matches!(
            err,
            SetupError::Storage {
                backend: "journal",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("`label` must not be empty"),
        "{err}"
    );
}

#[test]
fn without_registration_the_name_is_unknown() {
    let config = Config::from_text("secret = \"s\"\nstorage = \"journal\"").unwrap();
    let err = resty_session::build(&config).unwrap_err();
    assert!(
        matches!(err, SetupError::UnknownStorage(ref name) if name == "journal"),
        "{err}"
    );
}

#[test]
fn its_options_block_may_go_by_an_alias_while_an_unknown_block_is_refused() {
    let backends = Backends::builtin().with::<JournalStorage>();
    // `storage = "log"` (the alias) with the block under the store's main name, and the
    // other way round: both build, because the table tells the engine every name it answers to.
    for text in [
        "secret = \"s\"\nstorage = \"log\"\n[journal]\nlabel = \"by-alias\"",
        "secret = \"s\"\nstorage = \"journal\"\n[log]\nlabel = \"by-name\"",
    ] {
        let config = Config::from_text(text).unwrap();
        let built = resty_session::build_with(&config, &backends);
        assert!(built.is_ok(), "{text}: {:?}", built.err());
    }
    // A table no store answers to is still an unknown option.
    let typo = Config::from_text("secret = \"s\"\nstorage = \"journal\"\n[jornal]\nlabel = \"x\"")
        .unwrap();
    let err = resty_session::build_with(&typo, &backends).unwrap_err();
    assert!(err.to_string().contains("unknown option"), "{err}");
}
