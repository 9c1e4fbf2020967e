//! X's webhook: a signature header (the first line) and a body (the rest). Whatever
//! arrives, checking and reading it never panics; a body signed with the key verifies;
//! and no CRC answer can pass for a delivery (the route that signs tokens for anyone).
#![no_main]

use hashbuy_core::Secret;
use hashbuy_core::domain::UserId;
use hashbuy_core::x::delivery::posts;
use hashbuy_core::x::posts::classify;
use hashbuy_core::x::signature::{CrcToken, WebhookKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = WebhookKey::new(Secret::new("fuzzing consumer secret"));
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&[][..], data),
    };
    let _ = key.verify(body, std::str::from_utf8(header).ok());
    assert!(key.verify(body, Some(&key.sign(body))));

    if let Some(token) = std::str::from_utf8(data).ok().and_then(CrcToken::parse) {
        assert!(
            posts(data).is_err(),
            "a CRC token read as a delivery: {token:?}"
        );
    }
    if let Ok(delivered) = posts(body) {
        let brand = UserId::parse("1000").expect("a user id");
        for post in &delivered.seen {
            let _ = classify(post, &brand);
        }
    }
});
