//! The last segment of a confirmation link. Only what hashbuy could have issued parses,
//! exactly as it was written (no second spelling of one link), and it is URL-safe.
#![no_main]

use hashbuy_core::domain::LinkKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = LinkKey::parse(raw) {
        assert_eq!(key.expose(), raw);
        assert!(
            raw.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
            "{raw:?}"
        );
        assert_eq!(LinkKey::parse(&key.expose()), Ok(key));
    }
});
