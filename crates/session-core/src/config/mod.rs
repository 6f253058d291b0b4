//! Configuration: every option of lua-resty-session 4.1.5 under its Lua name
//! and default (docs/semantics.md §1), deserializable from JSON or TOML, validated once
//! when built into a [`SessionConfig`], which caches everything a request
//! needs (keys with their HKDF-extract state, cookie names, the attribute
//! string).

mod built;
mod defaults;
mod diagnose;
mod options;
mod resolve;

pub use crate::payload::DEFAULT_COOKIE_MAX_PLAINTEXT_SIZE;
pub use built::{SessionConfig, SessionConfigBuilder};
pub use defaults::{init, init_config};
pub use diagnose::{closest_name, describe_serde_error};
pub use options::{Config, HeaderProperty, OPTION_NAMES, RememberSafetyOption, StorageOption};
pub use resolve::LUA_STORAGE_NAMES;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;

    fn build(json: &str) -> Result<SessionConfig, ConfigError> {
        serde_json::from_str::<Config>(json).unwrap().build()
    }

    #[test]
    fn validation_invalid_ikm_size() {
        let err = build(r#"{"ikm": "12345"}"#).unwrap_err();
        assert_eq!(err.reason(), "invalid ikm size");
        assert!(
            init(Config {
                ikm: Some("12345".into()),
                ..Config::default()
            })
            .is_err()
        );
    }

    #[test]
    fn validation_invalid_ikm_size_in_fallbacks() {
        let err = build(r#"{"ikm_fallbacks": ["00000000000000000000000000000000", "123456"]}"#)
            .unwrap_err();
        assert_eq!(err.reason(), "invalid ikm size in ikm_fallbacks");
        assert_eq!(err.option(), "ikm_fallbacks");
    }

    #[test]
    fn validation_same_party_with_strict() {
        let err =
            build(r#"{"cookie_same_party": true, "cookie_same_site": "Strict"}"#).unwrap_err();
        assert_eq!(
            err.reason(),
            "SameParty session cookies cannot use SameSite=Strict"
        );
    }

    #[test]
    fn validation_invalid_bind_and_header_names() {
        assert_eq!(
            build(r#"{"bind": ["port"]}"#).unwrap_err().reason(),
            "invalid bind"
        );
        assert_eq!(
            build(r#"{"request_headers": ["nonce"]}"#)
                .unwrap_err()
                .reason(),
            "invalid header name"
        );
        assert!(build(r#"{"bind": []}"#).is_ok());
    }

    #[test]
    fn cookie_prefix_table_of_cookie_format_section_8() {
        let host = build(r#"{"cookie_prefix": "__Host-", "cookie_domain": "example.com", "cookie_path": "/x", "cookie_secure": false}"#).unwrap();
        assert_eq!(host.cookie_name(), "__Host-session");
        assert_eq!(host.remember_cookie_name(), "__Host-remember");
        assert_eq!(
            host.attributes(),
            "; Path=/; SameSite=Lax; Secure; HttpOnly"
        );
        let secure = build(r#"{"cookie_prefix": "__Secure-", "cookie_domain": "example.com", "cookie_path": "/x", "cookie_secure": false}"#).unwrap();
        assert_eq!(secure.cookie_name(), "__Secure-session");
        assert_eq!(
            secure.attributes(),
            "; Domain=example.com; Path=/x; SameSite=Lax; Secure; HttpOnly"
        );
        let other = build(r#"{"cookie_prefix": "foo-"}"#).unwrap();
        assert_eq!(other.cookie_name(), "session");
        assert_eq!(other.attributes(), "; Path=/; SameSite=Lax; HttpOnly");
        let none = build(r#"{"cookie_same_site": "None", "cookie_secure": false}"#).unwrap();
        assert_eq!(
            none.attributes(),
            "; Path=/; SameSite=None; Secure; HttpOnly"
        );
        let all = build(r#"{"cookie_domain": "example.com", "cookie_priority": "High", "cookie_same_party": true, "cookie_partitioned": true}"#).unwrap();
        assert_eq!(
            all.attributes(),
            "; Domain=example.com; Path=/; SameSite=Lax; Priority=High; SameParty; Partitioned; Secure; HttpOnly"
        );
        let lower = build(r#"{"cookie_same_site": "lax"}"#).unwrap();
        assert_eq!(lower.attributes(), "; Path=/; SameSite=lax; HttpOnly");
        let names = build(
            r#"{"cookie_name": "sid", "remember_cookie_name": "rem", "cookie_prefix": "__Host-"}"#,
        )
        .unwrap();
        assert_eq!(
            (names.cookie_name(), names.remember_cookie_name()),
            ("__Host-sid", "__Host-rem")
        );
    }

    #[test]
    fn storage_name_needs_an_instance() {
        let err = build(r#"{"storage": "redis"}"#).unwrap_err();
        assert_eq!(err.reason(), "invalid session storage");
        assert!(build(r#"{"storage": "cookie"}"#).is_ok());
        assert!(build(r#"{"storage": false}"#).is_ok());
        assert!(build(r#"{"storage": true}"#).is_err());
    }

    #[test]
    fn unknown_options_are_named() {
        let err = build(r#"{"secrte": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("secrte"));
        assert!(build(r#"{"redis": {"prefix": "x"}}"#).is_ok());
    }

    #[test]
    fn every_listed_option_is_a_field() {
        for name in OPTION_NAMES {
            let config: Config = serde_json::from_str(&format!("{{\"{name}\": null}}")).unwrap();
            assert!(config.backends.is_empty(), "{name} is not a Config field");
        }
    }

    #[test]
    fn unknown_options_suggest_the_nearest_name() {
        let err = build(r#"{"idling_timout": 60}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("`idling_timout` (did you mean `idling_timeout`?)"),
            "{err}"
        );
        let err = build(r#"{"reddis": {}}"#).unwrap_err();
        assert!(err.to_string().contains("did you mean `redis`?"), "{err}");
        let err = build(r#"{"frobnicate": 1}"#).unwrap_err();
        assert!(!err.to_string().contains("did you mean"), "{err}");
    }

    /// No configuration error shows the value of a secret option, whatever went wrong.
    #[test]
    fn errors_never_show_secret_values() {
        let cases = [
            "secret = \"hunter2-secret",
            "secret = 918273645",
            "secret_fallbacks = \"hunter2-secret\"",
            "secret_fallbacks = [918273645]",
            "ikm = 918273645",
            "ikm_hex = true\n",
            "ikm_fallbacks = \"hunter2-secret\"",
            "ikm_fallbacks_hex = [918273645]",
            "ikm_hex = \"hunter2-secret\"\nsecret = 1",
            "[redis]\npassword = \"hunter2-secret\"\nport = \"x\"\nsecret = ",
            "{\"secret\": 918273645}",
            "{\"secret\": \"hunter2-secret\", \"idling_timeout\": \"x\"}",
            "{\"secret_fallbacks\": \"hunter2-secret\"}",
        ];
        for text in cases {
            let err = Config::from_text(text).unwrap_err();
            for shown in [format!("{err}"), format!("{err:?}")] {
                assert!(!shown.contains("hunter2"), "{text:?} gave {shown}");
                assert!(!shown.contains("918273645"), "{text:?} gave {shown}");
            }
        }
        // Values that parse but do not validate: hex that is not hex, keys of the wrong size.
        for json in [
            r#"{"ikm_hex": "zzhunter2-secretzz"}"#,
            r#"{"ikm": "hunter2-secret"}"#,
            r#"{"ikm_fallbacks": ["hunter2-secret"]}"#,
            r#"{"ikm_fallbacks_hex": ["hunter2-secret"]}"#,
        ] {
            let err = build(json).unwrap_err();
            for shown in [format!("{err}"), format!("{err:?}")] {
                assert!(!shown.contains("hunter2"), "{json} gave {shown}");
                assert!(!shown.contains("zz"), "{json} gave {shown}");
            }
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let c: Config = serde_json::from_str(r#"{"secret": "hunter2", "ikm_hex": "00"}"#).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn toml_configuration_is_accepted() {
        let c = Config::from_text("secret = \"s\"\nbind = [\"ip\"]\n[redis]\nprefix = \"x\"\n")
            .unwrap();
        assert_eq!(c.bind.as_deref(), Some(&["ip".to_owned()][..]));
        assert!(c.build().is_ok());
    }
}
