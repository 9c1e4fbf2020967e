//! The processor's webhook: a `Stripe-Signature` header (the first line) and a body (the
//! rest). Whatever arrives is answered without a panic; any body signed now verifies and
//! is read or refused as malformed; signed outside the tolerance, it is refused.
#![no_main]

use hashbuy_core::Secret;
use hashbuy_core::domain::Timestamp;
use hashbuy_core::stripe_webhook::{EndpointSecret, Refused, TOLERANCE_SECS, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let secret = EndpointSecret::new(Secret::new("whsec_fuzzing"));
    let now = Timestamp(1_800_000_000);
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&[][..], data),
    };
    let _ = parse(&secret, body, std::str::from_utf8(header).ok(), now);

    let signed = secret.sign(body, now);
    match parse(&secret, body, Some(&signed), now) {
        Ok(_) | Err(Refused::Malformed(_)) => {}
        Err(other) => panic!("a body signed now was refused: {other}"),
    }
    let stale = secret.sign(body, Timestamp(now.seconds() - TOLERANCE_SECS - 1));
    assert_eq!(
        parse(&secret, body, Some(&stale), now).err(),
        Some(Refused::Stale)
    );
});
