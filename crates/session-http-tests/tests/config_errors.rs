//! The built-in stores' options blocks, through the facade: a typo names the nearest known
//! option (no "line 0, column 0"), and no error shows a password or a URL's credentials.
#![allow(clippy::unwrap_used, missing_docs)]

use resty_session::Config;

fn setup_error(text: &str) -> String {
    let config = Config::from_text(text).unwrap();
    let err = resty_session::build(&config).unwrap_err();
    let shown = err.to_string();
    assert_eq!(format!("{err:?}"), shown, "Debug says what Display says");
    shown
}

#[test]
fn a_typo_in_a_store_block_names_the_nearest_option() {
    for (block, typo, meant) in [
        ("redis", "hots", "host"),
        ("redis", "pasword", "password"),
        ("postgres", "databse", "database"),
        ("mysql", "usernme", "username"),
        ("memcached", "prot", "port"),
        ("dshm", "prefx", "prefix"),
        // (`[file]` and `[shm]` ignore keys they do not know, as the Lua library does.)
    ] {
        let shown = setup_error(&format!("storage = \"{block}\"\n[{block}]\n{typo} = \"x\""));
        assert!(
            shown.contains(&format!(
                "unknown option `{typo}` (did you mean `{meant}`?)"
            )),
            "[{block}] {typo}: {shown}"
        );
        assert!(!shown.contains("line 0"), "{shown}");
    }
}

#[test]
fn no_store_error_shows_a_password_or_url_credentials() {
    for text in [
        "storage = \"redis\"\n[redis]\npassword = 918273645",
        "storage = \"redis\"\n[redis]\npassword = \"hunter2\"\nport = \"hunter2\"",
        "storage = \"redis\"\n[redis]\nsentinel_password = 918273645",
        "storage = \"redis\"\n[redis]\nnodes = [\"redis://app:hunter2@10.0.0.1:7000\"]",
        "storage = \"redis\"\n[redis]\nsentinels = [\"redis://app:hunter2@10.0.0.1:26379\"]\nmaster = \"m\"",
        "storage = \"postgres\"\n[postgres]\npassword = 918273645",
        "storage = \"postgres\"\n[postgres]\npassword = \"hunter2\"\nport = 99999999",
        "storage = \"postgres\"\n[postgres]\nhost = \"postgres://app:hunter2@db\"\npool_size = \"x\"",
        "storage = \"mysql\"\n[mysql]\npassword = 918273645",
        "storage = \"mariadb\"\n[mariadb]\npassword = [\"hunter2\"]",
        "storage = \"memcached\"\n[memcached]\nhost = \"memcached://u:hunter2@h\"\nport = \"hunter2\"",
        "storage = \"dshm\"\n[dshm]\nhost = \"x\"\nport = \"hunter2\"",
    ] {
        let shown = setup_error(text);
        assert!(!shown.contains("hunter2"), "{text:?} gave {shown}");
        assert!(!shown.contains("918273645"), "{text:?} gave {shown}");
    }
}
