//! `session_file::validate_file_name` (docs/storage.md §10.6), the check the file store's cleanup
//! applies before deleting anything: never panics; whatever it accepts has the shape
//! `[prefix_]name_rest[.suffix]` with `rest` of at least 3 bytes; and every record file name
//! the store itself writes (`[prefix_]name_<43-byte key>[.suffix]`) is accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session_file::validate_file_name;

fuzz_target!(|input: (Option<&str>, Option<&str>, &str, &str, &str)| {
    let (prefix, suffix, name, filename, key) = input;
    if validate_file_name(prefix, suffix, name, filename) {
        assert!(filename != "." && filename != "..");
        let mut rest = filename;
        if let Some(p) = prefix {
            assert_eq!(filename.as_bytes().get(p.len()), Some(&b'_'), "'_' after the prefix");
            // The reference skips prefix and '_' only for a non-empty prefix: with
            // `prefix = ""` the name starts at the (required) leading '_'.
            if !p.is_empty() {
                assert!(filename.starts_with(p));
                rest = &rest[p.len() + 1..];
            }
        }
        if let Some(s) = suffix {
            let cut = rest.len().checked_sub(s.len() + 1).expect("suffix fits");
            assert!(filename.ends_with(s));
            assert_eq!(rest.as_bytes()[cut], b'.');
            rest = &rest[..cut];
        }
        let rest = rest
            .strip_prefix(name)
            .and_then(|r| r.strip_prefix('_'))
            .expect("name_ follows the prefix");
        assert!(rest.len() >= 3);
    }

    // What the store writes always passes (non-empty prefix and suffix, as the store
    // normalises "" to none; a 43-byte key).
    if key.len() == 43 {
        let prefix = prefix.filter(|p| !p.is_empty());
        let suffix = suffix.filter(|s| !s.is_empty());
        let mut written = String::new();
        if let Some(p) = prefix {
            written.push_str(p);
            written.push('_');
        }
        written.push_str(name);
        written.push('_');
        written.push_str(key);
        if let Some(s) = suffix {
            written.push('.');
            written.push_str(s);
        }
        assert!(
            validate_file_name(prefix, suffix, name, &written),
            "{written:?} refused"
        );
    }
});
