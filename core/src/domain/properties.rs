//! Properties of the values parsed from outside, over random inputs: whatever is written
//! reads back the same, and what could not have been written is refused.

use std::time::Duration;

use proptest::prelude::*;

use super::{
    ConfirmationToken, Currency, GiftCode, Hashtag, Language, LinkKey, Money, PurchaseId, Shipment,
    TagKind, Timestamp, TweetId, UserId, WebhookUrl,
};

/// Reads an amount back from its English or French writing, as a person would.
fn read_back(written: &str) -> Option<u64> {
    let digits: String = written
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect();
    // English groups with `,` and marks decimals with `.`; French marks them with `,`.
    let decimal = if written.starts_with(|c: char| c.is_ascii_digit()) {
        digits.replace(',', ".")
    } else {
        digits.replace(',', "")
    };
    let (units, cents) = decimal.split_once('.')?;
    Some(units.parse::<u64>().ok()? * 100 + cents.parse::<u64>().ok()?)
}

proptest! {
    #[test]
    fn ids_round_trip_and_have_one_spelling(n in 1u64..) {
        let text = n.to_string();
        prop_assert_eq!(UserId::parse(&text).map(|id| id.as_str().to_owned()), Ok(text.clone()));
        let tweet = TweetId::parse(&text).expect("an id");
        let purchase = PurchaseId::for_request(&tweet);
        prop_assert_eq!(PurchaseId::parse(purchase.as_str()), Ok(purchase));
        let padded = format!("0{text}");
        prop_assert!(UserId::parse(&padded).is_err(), "a leading zero is another spelling");
        let suffixed = format!("{text}x");
        prop_assert!(TweetId::parse(&suffixed).is_err());
    }

    #[test]
    fn a_snowflake_says_when_it_was_made(ms in 1_288_834_974_657i64..4_000_000_000_000, low in 0u32..(1 << 22)) {
        let id = TweetId::snowflake(ms, low);
        prop_assert_eq!(id.created_at(), Timestamp(ms / 1000));
        prop_assert_eq!(TweetId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn hashtags_fold_case_and_round_trip(tag in "[A-Za-z][A-Za-z0-9_]{0,40}") {
        let parsed = Hashtag::parse(&format!("#{tag}")).expect("a hashtag");
        prop_assert_eq!(parsed.as_str(), tag.as_str());
        prop_assert_eq!(parsed.key(), tag.to_lowercase());
        prop_assert_eq!(Hashtag::parse(&tag.to_uppercase()).map(|t| t.key().to_owned()), Ok(parsed.key().to_owned()));
        if let TagKind::Purchase(product) = parsed.kind() {
            prop_assert_eq!(product.confirmation().kind(), TagKind::Confirmation(product));
        }
    }

    #[test]
    fn amounts_read_back_as_written_in_each_language(minor in 1u64..10_000_000_000, code in prop::sample::select(vec!["USD", "EUR", "GBP", "CAD"])) {
        let money = Money::price(minor, Currency::parse(code).expect("currency")).expect("price");
        for language in [Language::En, Language::Fr] {
            let written = money.in_language(language).to_string();
            prop_assert_eq!(read_back(&written), Some(minor), "{}", written);
        }
    }

    #[test]
    fn a_link_reads_back_to_its_purchase_and_token(n in 1u64..) {
        let purchase = PurchaseId::for_request(&TweetId::parse(&n.to_string()).expect("id"));
        let key = LinkKey { purchase, token: ConfirmationToken::generate() };
        let read = LinkKey::parse(&key.expose()).expect("a link it issued");
        prop_assert_eq!(read.token.hash(), key.token.hash());
        prop_assert_eq!(read, key);
    }

    #[test]
    fn links_it_never_issued_are_refused(raw in ".{0,80}") {
        // Only `pur_{id}.{43 base64url characters}` could have been issued.
        let issued = raw
            .split_once('.')
            .is_some_and(|(p, t)| PurchaseId::parse(p).is_ok() && t.len() == 43);
        prop_assert!(issued || LinkKey::parse(&raw).is_err(), "{}", raw);
    }

    #[test]
    fn a_timestamp_moves_forward_by_what_is_added(t in 0i64..4_000_000_000, secs in 0u64..10_000_000) {
        prop_assert_eq!(Timestamp(t).plus(Duration::from_secs(secs)).seconds() - t, i64::try_from(secs).expect("small"));
    }

    #[test]
    fn a_webhook_accepted_for_a_deployment_is_https_on_a_host_name(raw in "(https?://)?[a-z0-9.:@\\[\\]-]{0,30}(/[a-z0-9?=&]{0,10})?") {
        if let Ok(url) = WebhookUrl::parse(&raw, false) {
            let uri: http::Uri = url.as_str().parse().expect("it parsed once");
            prop_assert_eq!(uri.scheme_str(), Some("https"));
            let host = uri.host().unwrap_or_default();
            prop_assert!(host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('['), "{}", raw);
            prop_assert!(!url.as_str().contains('@') && host.contains('.'), "{}", raw);
        }
    }

    #[test]
    fn what_a_merchant_writes_is_kept_as_one_trimmed_line_or_refused(raw in "\\PC{0,70}|[ -~\n\t\r]{0,70}") {
        for kept in [
            GiftCode::parse(&raw).map(|c| c.expose().to_owned()).ok(),
            Shipment::parse(&raw, "1Z 999").map(|s| s.carrier).ok(),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert_eq!(kept.trim(), kept.as_str());
            prop_assert!(!kept.is_empty() && !kept.chars().any(char::is_control), "{:?}", kept);
        }
    }
}
