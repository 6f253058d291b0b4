//! Setup errors help: each names what to change (the cargo feature, the nearest option or
//! storage name), `Debug` says the same as `Display`, and no value of an option is shown.
#![allow(clippy::unwrap_used, missing_docs)]

use resty_session::crates::core::config::LUA_STORAGE_NAMES;
use resty_session::memory::MemoryStorage;
use resty_session::{Backend, Backends, Config, SetupError, StorageError};

/// Every built-in storage name, asked of a build without it, names the cargo feature to
/// enable, in `Display` and in `Debug` (what `main() -> Result<(), Box<dyn Error>>` prints).
#[test]
fn a_missing_backend_names_its_feature_in_display_and_debug() {
    for name in LUA_STORAGE_NAMES {
        let config = Config::from_text(&format!("storage = \"{name}\"")).unwrap();
        let err = resty_session::build_with(&config, &Backends::none()).unwrap_err();
        let feature = match *name {
            "memcache" => "memcached",
            "mariadb" => "mysql",
            "postgresql" => "postgres",
            other => other,
        };
        assert!(
            matches!(&err, SetupError::FeatureDisabled { feature: f, .. } if *f == feature),
            "{err}"
        );
        let shown = err.to_string();
        assert!(
            shown.contains(&format!("features = [\"{feature}\"]")),
            "{shown}"
        );
        assert_eq!(format!("{err:?}"), shown);
        let boxed: Box<dyn std::error::Error> = Box::new(err);
        assert_eq!(format!("{boxed:?}"), shown);
    }
}

#[test]
fn an_unknown_option_names_the_nearest_known_one() {
    let config = Config::from_text("secret = \"s\"\nidling_timout = 60").unwrap();
    let err = resty_session::build(&config).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("unknown option") && shown.contains("did you mean `idling_timeout`?"),
        "{shown}"
    );
    assert_eq!(format!("{err:?}"), shown);

    // A misspelt backend block is an unknown option too.
    let config = Config::from_text("secret = \"s\"\n[reddis]\nhost = \"h\"").unwrap();
    let shown = resty_session::build(&config).unwrap_err().to_string();
    assert!(shown.contains("did you mean `redis`?"), "{shown}");
}

#[test]
fn an_unknown_storage_names_the_nearest_built_in_one() {
    let config = Config::from_text("storage = \"reddis\"").unwrap();
    let shown = resty_session::build(&config).unwrap_err().to_string();
    assert!(
        shown.starts_with("unknown storage \"reddis\" (did you mean \"redis\"?)"),
        "{shown}"
    );
    let config = Config::from_text("storage = \"cassandra\"").unwrap();
    let shown = resty_session::build(&config).unwrap_err().to_string();
    assert!(!shown.contains("did you mean"), "{shown}");
    assert!(shown.contains("resty_session::Backend"), "{shown}");
}

/// A store of this test's own, whose options block has a password.
struct Vault(MemoryStorage);

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultConfig {
    #[allow(dead_code)]
    password: Option<String>,
    #[allow(dead_code)]
    shards: Option<u8>,
    url: Option<String>,
}

impl resty_session::Storage for Vault {
    async fn set(&self, req: &resty_session::SetRequest<'_>) -> Result<(), StorageError> {
        self.0.set(req).await
    }
    async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
        self.0.get(name, key, now).await
    }
    async fn delete(
        &self,
        name: &str,
        key: &str,
        now: i64,
        metadata: Option<&resty_session::Metadata>,
    ) -> Result<(), StorageError> {
        self.0.delete(name, key, now, metadata).await
    }
    async fn read_metadata(
        &self,
        name: &str,
        audience: &str,
        subject: &str,
        now: i64,
    ) -> Result<resty_session::SessionIndex, StorageError> {
        self.0.read_metadata(name, audience, subject, now).await
    }
}

impl Backend for Vault {
    const NAME: &'static str = "vault";
    type Config = VaultConfig;
    fn from_config(config: VaultConfig) -> Result<Self, StorageError> {
        match config.url {
            // A store that echoes its URL: the facade still leaves the credentials out.
            Some(url) => Err(StorageError::config(format!("cannot reach {url}"))),
            None => Ok(Self(MemoryStorage::new())),
        }
    }
}

/// Typos inside a backend block name the option and the nearest known one, with no
/// meaningless "line 0, column 0".
#[test]
fn a_typo_in_a_backend_block_names_the_nearest_option() {
    let backends = Backends::none().with::<Vault>();
    let config = Config::from_text("storage = \"vault\"\n[vault]\npasword = \"x\"").unwrap();
    let err = resty_session::build_with(&config, &backends).unwrap_err();
    let shown = err.to_string();
    assert_eq!(
        shown,
        "invalid `[vault]` options: unknown option `pasword` (did you mean `password`?)"
    );
    assert!(!shown.contains("line 0"), "{shown}");
    assert_eq!(format!("{err:?}"), shown);
}

/// No setup error shows a password, whatever its type, nor a URL's credentials.
#[test]
fn setup_errors_never_show_passwords_or_url_credentials() {
    let backends = Backends::none().with::<Vault>();
    for block in [
        "password = 918273645",
        "password = [\"hunter2\"]",
        "password = \"hunter2\"\nshards = \"hunter2\"",
        "password = \"hunter2\"\nshards = 918273645",
        "url = \"redis://admin:hunter2@10.0.0.1:6379/0\"",
        "url = \"redis://hunter2@10.0.0.1\"",
    ] {
        let config = Config::from_text(&format!("storage = \"vault\"\n[vault]\n{block}")).unwrap();
        let err = resty_session::build_with(&config, &backends).unwrap_err();
        for shown in [format!("{err}"), format!("{err:?}")] {
            assert!(!shown.contains("hunter2"), "{block:?} gave {shown}");
            assert!(!shown.contains("918273645"), "{block:?} gave {shown}");
        }
    }
    // The same through the configuration text itself.
    for text in [
        "secret = 918273645",
        "secret = \"hunter2",
        "secret_fallbacks = \"hunter2\"",
        "ikm = [918273645]",
        "{\"secret\": 918273645, \"ikm_hex\": \"hunter2\"}",
    ] {
        let err = Config::from_text(text).unwrap_err();
        for shown in [format!("{err}"), format!("{err:?}")] {
            assert!(!shown.contains("hunter2"), "{text:?} gave {shown}");
            assert!(!shown.contains("918273645"), "{text:?} gave {shown}");
        }
    }
}
