//! Configuration text (JSON or TOML, `Config::from_text`) and its validation
//! (`Config::build`): never panics; a configuration that builds has a cookie name and an
//! attribute string free of control characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::from_text(text) else { return };
    let _ = format!("{config:?}");
    if let Ok(built) = config.build() {
        assert!(!built.cookie_name().is_empty());
        assert!(!built.attributes().bytes().any(|b| b.is_ascii_control()));
    }
});
