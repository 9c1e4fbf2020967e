//! Everything hashbuy says to a shopper, in one place: replies on X and emails. Replies
//! carry the purchase or post they answer, so no two are identical (X refuses duplicates).

use std::time::Duration;

use askama::Template;

use crate::domain::{EmailAddress, GiftCode, Language, Purchase, Sale, State, TweetId};
use crate::ports::Email;
use crate::x::text;

/// What an echoed name or hashtag may weigh in a post (X's weights: a CJK character or
/// an emoji counts 2), so that every reply fits in [`text::MAX_WEIGHT`].
const ECHO_WEIGHT: usize = 40;

fn short(name: &str) -> String {
    text::cut(name, ECHO_WEIGHT)
}

fn minutes(d: Duration) -> u64 {
    d.as_secs().div_ceil(60)
}

/// The reply asking for the retweet, with the usual price beside the price when the
/// offer is discounted and the post has room for it (a long hashtag may leave none).
pub fn confirm_prompt(p: &Purchase, window: Duration) -> String {
    let prompt = |price: String| {
        format!(
            "@{} {} for {price} is held for you: retweet this within {} minutes to buy it. {} (ref {})",
            p.buyer_screen_name,
            short(&p.product_name),
            minutes(window),
            p.product.confirmation(),
            p.id
        )
    };
    let shown = prompt(p.price_shown());
    if text::weight(&shown) <= text::MAX_WEIGHT {
        shown
    } else {
        prompt(p.price.to_string())
    }
}

pub fn not_linked(screen_name: &str, tweet: &TweetId, base_url: &str) -> String {
    format!(
        "@{screen_name} To buy with a post, first link your X account and a card at {base_url}/account - then post the hashtag again. (ref {tweet})"
    )
}

pub fn no_address(
    screen_name: &str,
    product_name: &str,
    tweet: &TweetId,
    base_url: &str,
) -> String {
    format!(
        "@{screen_name} {} ships to you: add a shipping address to your account at {base_url}/account - then post the hashtag again. Nothing was charged. (ref {tweet})",
        short(product_name)
    )
}

pub fn unknown_product(screen_name: &str, hashtag: &str, tweet: &TweetId) -> String {
    format!(
        "@{screen_name} Sorry, #{} is not something we sell. Nothing was charged. (ref {tweet})",
        short(hashtag)
    )
}

pub fn sold_out(screen_name: &str, product_name: &str, tweet: &TweetId) -> String {
    format!(
        "@{screen_name} Sorry, {} is sold out. Nothing was charged. (ref {tweet})",
        short(product_name)
    )
}

/// Why an offer that exists cannot be bought now, and, when it is known, from when it can.
pub fn not_on_sale(screen_name: &str, product_name: &str, sale: Sale, tweet: &TweetId) -> String {
    let name = short(product_name);
    let why = match sale {
        Sale::NotYet(start) => {
            let at = start.rfc3339();
            // "2027-02-01T08:00:00Z" → "2027-02-01 08:00 UTC"
            format!("{name} goes on sale on {} {} UTC", &at[..10], &at[11..16])
        }
        Sale::Ended => format!("the sale of {name} has ended"),
        Sale::Paused | Sale::On => format!("{name} is not on sale right now"),
    };
    format!("@{screen_name} Sorry, {why}. Nothing was charged. (ref {tweet})")
}

pub fn over_limit(screen_name: &str, product_name: &str, limit: u32, tweet: &TweetId) -> String {
    format!(
        "@{screen_name} Sorry, {} is limited to {limit} per shopper, and you have reached it. Nothing was charged. (ref {tweet})",
        short(product_name)
    )
}

pub fn already_waiting(screen_name: &str, product_name: &str, tweet: &TweetId) -> String {
    format!(
        "@{screen_name} You already have {} waiting for you: retweet our earlier reply to buy it. Nothing was charged. (ref {tweet})",
        short(product_name)
    )
}

pub fn shipped(p: &Purchase) -> String {
    format!(
        "@{} Thank you! Your {} is on its way. Receipt sent by email. (ref {})",
        p.buyer_screen_name,
        short(&p.product_name),
        p.id
    )
}

pub fn declined_reply(p: &Purchase) -> String {
    format!(
        "@{} Your card was declined for {}, so nothing was charged. (ref {})",
        p.buyer_screen_name,
        short(&p.product_name),
        p.id
    )
}

/// For a purchase whose prompt never went out in time (X kept refusing the brand's posts):
/// the unit held for the shopper is back on sale.
pub fn unanswered_reply(p: &Purchase) -> String {
    format!(
        "@{} Sorry, we could not answer your request for {} in time, so nothing was charged. Post the hashtag again to try once more. (ref {})",
        p.buyer_screen_name,
        short(&p.product_name),
        p.id
    )
}

pub fn expired_reply(p: &Purchase) -> String {
    format!(
        "@{} The time to confirm {} has passed, so nothing was charged. Post the hashtag again to start over. (ref {})",
        p.buyer_screen_name,
        short(&p.product_name),
        p.id
    )
}

/// The link that proves an address is the shopper's, in their language.
pub fn verify_email(to: &EmailAddress, language: Language, link: &str) -> Email {
    let (subject, paragraphs) = match language {
        Language::En => (
            "Verify your email address for hashbuy",
            [
                "Someone (we hope you) asked hashbuy to send purchase confirmations for an X account to this address.",
                "Open this link within 24 hours to verify it. If it was not you, ignore this email: nothing changes.",
            ],
        ),
        Language::Fr => (
            "Vérifiez votre adresse email pour hashbuy",
            [
                "Quelqu'un (vous, nous l'espérons) a demandé à hashbuy d'envoyer à cette adresse les confirmations d'achat d'un compte X.",
                "Ouvrez ce lien dans les 24 heures pour la vérifier. Si ce n'était pas vous, ignorez cet email : rien ne change.",
            ],
        ),
    };
    let paragraphs = paragraphs.map(String::from);
    email(to, subject.to_owned(), &paragraphs, Some(link))
}

/// An email's HTML part: `shared/templates/email.html`, which escapes every value.
#[derive(Template)]
#[template(path = "email.html")]
struct EmailHtml<'a> {
    paragraphs: &'a [String],
    link: Option<&'a str>,
}

fn email(to: &EmailAddress, subject: String, paragraphs: &[String], link: Option<&str>) -> Email {
    let mut text = paragraphs.join("\n\n");
    if let Some(link) = link {
        text.push_str(&format!("\n\n{link}\n"));
    }
    let html = EmailHtml { paragraphs, link }
        .render()
        .unwrap_or_else(|error| {
            // Only a failing `Display` of a value could get here; the text part still goes.
            tracing::error!(error = %error, "email HTML did not render");
            String::new()
        });
    Email {
        to: to.clone(),
        subject,
        text,
        html,
    }
}

/// One of two texts, by the purchase's language.
fn en_fr(p: &Purchase, en: String, fr: String) -> String {
    p.language.pick(en, fr)
}

pub fn confirmation_email(to: &EmailAddress, p: &Purchase, link: &str, window: Duration) -> Email {
    let (name, m, price) = (
        &p.product_name,
        minutes(window),
        p.price_shown_in(p.language),
    );
    email(
        to,
        en_fr(
            p,
            format!(
                "Confirm your purchase of {} within {m} minutes",
                short(name)
            ),
            format!(
                "Confirmez votre achat de {} dans les {m} minutes",
                short(name)
            ),
        ),
        &[
            en_fr(
                p,
                format!("You asked to buy {name} for {price} with a post on X."),
                format!("Vous avez demandé à acheter {name} pour {price} par un post sur X."),
            ),
            en_fr(
                p,
                format!(
                    "Open the link below and press Confirm within {m} minutes. Your card is charged only after you confirm. If this was not you, ignore this email and nothing happens."
                ),
                format!(
                    "Ouvrez le lien ci-dessous et appuyez sur Confirmer dans les {m} minutes. Votre carte n'est débitée qu'après votre confirmation. Si ce n'était pas vous, ignorez cet email : rien ne se passera."
                ),
            ),
        ],
        Some(link),
    )
}

/// The receipt, saying what happens next: the code itself for a digital offer (this
/// email is the one place it is shown), tracking to come for a merchant's parcel.
pub fn receipt_email(to: &EmailAddress, p: &Purchase, code: Option<&GiftCode>) -> Email {
    let (name, price, id) = (&p.product_name, p.price_shown_in(p.language), &p.id);
    let payment = p.payment_intent.as_deref().unwrap_or("-");
    let mut paragraphs = vec![
        en_fr(
            p,
            format!("Thank you! We charged {price} for {name}."),
            format!("Merci ! Nous avons débité {price} pour {name}."),
        ),
        en_fr(
            p,
            format!("Purchase {id}, payment {payment}."),
            format!("Achat {id}, paiement {payment}."),
        ),
    ];
    paragraphs.push(match (p.state, code) {
        (_, Some(code)) => en_fr(
            p,
            format!("Your code: {}. Keep this email: it is the only place we show the code.", code.expose()),
            format!("Votre code : {}. Gardez cet email : c'est le seul endroit où nous montrons le code.", code.expose()),
        ),
        (State::AwaitingShipment, None) => en_fr(
            p,
            "The brand is preparing your order; we will email you the tracking when it ships.".into(),
            "La marque prépare votre commande ; nous vous enverrons le suivi par email à l'expédition.".into(),
        ),
        _ => en_fr(p, "Your order is on its way.".into(), "Votre commande est en route.".into()),
    });
    let subject = en_fr(
        p,
        format!("Receipt: {}", short(name)),
        format!("Reçu : {}", short(name)),
    );
    email(to, subject, &paragraphs, None)
}

/// The merchant shipped it: the carrier and tracking they gave.
pub fn tracking_email(to: &EmailAddress, p: &Purchase) -> Email {
    let (name, id) = (&p.product_name, &p.id);
    let tracking = match &p.shipment {
        Some(s) => en_fr(
            p,
            format!("Carrier: {}. Tracking number: {}.", s.carrier, s.tracking),
            format!(
                "Transporteur : {}. Numéro de suivi : {}.",
                s.carrier, s.tracking
            ),
        ),
        None => en_fr(
            p,
            "The brand gave no tracking.".into(),
            "La marque n'a pas donné de suivi.".into(),
        ),
    };
    email(
        to,
        en_fr(
            p,
            format!("Shipped: {}", short(name)),
            format!("Expédié : {}", short(name)),
        ),
        &[
            en_fr(
                p,
                format!("{name} is on its way."),
                format!("{name} est en route."),
            ),
            tracking,
            en_fr(p, format!("Purchase {id}."), format!("Achat {id}.")),
        ],
        None,
    )
}

/// To the merchant: a paid order to ship, and where. Names the buyer by their public X
/// handle; the shopper's email address stays with hashbuy.
pub fn order_email(to: &EmailAddress, p: &Purchase) -> Email {
    let ship_to = match &p.ship_to {
        Some(a) => {
            let lines = [
                &a.name,
                &a.line1,
                &a.line2,
                &a.postal_code,
                &a.city,
                &a.country,
            ];
            let lines: Vec<&str> = lines
                .iter()
                .map(|l| l.as_str())
                .filter(|l| !l.is_empty())
                .collect();
            format!("Ship to: {}.", lines.join(", "))
        }
        None => "No shipping address was given.".into(),
    };
    email(
        to,
        format!("New order: {}", short(&p.product_name)),
        &[
            format!(
                "@{} bought {} (#{}) for {}.",
                p.buyer_screen_name, p.product_name, p.product, p.price
            ),
            ship_to,
            format!(
                "Order {}. When it ships, record the carrier and tracking: POST /merchant/v1/orders/{}/shipment.",
                p.id, p.id
            ),
        ],
        None,
    )
}

/// A digital offer ran out of codes between the charge and the delivery: refunded.
pub fn no_code_email(to: &EmailAddress, p: &Purchase) -> Email {
    let (name, price, id) = (&p.product_name, p.price.in_language(p.language), &p.id);
    email(
        to,
        en_fr(
            p,
            format!("Sorry: no code left for {}", short(name)),
            format!("Désolés : plus de code pour {}", short(name)),
        ),
        &[
            en_fr(
                p,
                format!("We are sorry: the last code of {name} went before yours could be given."),
                format!(
                    "Nous sommes désolés : le dernier code de {name} est parti avant que le vôtre puisse être donné."
                ),
            ),
            en_fr(
                p,
                format!("We refunded {price} to your card. Banks take a few days to show it."),
                format!(
                    "Nous avons remboursé {price} sur votre carte. Les banques mettent quelques jours à l'afficher."
                ),
            ),
            en_fr(p, format!("Purchase {id}."), format!("Achat {id}.")),
        ],
        None,
    )
}

pub fn declined_email(to: &EmailAddress, p: &Purchase) -> Email {
    let (name, price) = (&p.product_name, p.price.in_language(p.language));
    email(
        to,
        en_fr(
            p,
            format!("Your card was declined for {}", short(name)),
            format!("Votre carte a été refusée pour {}", short(name)),
        ),
        &[
            en_fr(
                p,
                format!("We could not charge your card {price} for {name}, so nothing was bought."),
                format!(
                    "Nous n'avons pas pu débiter votre carte de {price} pour {name} : rien n'a été acheté."
                ),
            ),
            en_fr(
                p,
                "Please check the card linked to your account, then post the hashtag again.".into(),
                "Vérifiez la carte liée à votre compte, puis postez à nouveau le hashtag.".into(),
            ),
        ],
        None,
    )
}

/// The bank wants the shopper: a link to the page where they answer it (the confirmation
/// link they already have leads there too).
pub fn authentication_email(
    to: &EmailAddress,
    p: &Purchase,
    link: &str,
    window: Duration,
) -> Email {
    let (name, price, m) = (
        &p.product_name,
        p.price.in_language(p.language),
        minutes(window),
    );
    email(
        to,
        en_fr(
            p,
            format!("Your bank asks you to approve {}", short(name)),
            format!("Votre banque vous demande d'approuver {}", short(name)),
        ),
        &[
            en_fr(
                p,
                format!(
                    "Your bank wants you to approve the payment of {price} for {name} before we can charge it."
                ),
                format!(
                    "Votre banque veut que vous approuviez le paiement de {price} pour {name} avant que nous puissions le débiter."
                ),
            ),
            en_fr(
                p,
                format!(
                    "Open the link below within {m} minutes and approve the payment there. Until then nothing is charged, and your item is kept for you."
                ),
                format!(
                    "Ouvrez le lien ci-dessous dans les {m} minutes et approuvez-y le paiement. D'ici là rien n'est débité, et votre article vous est réservé."
                ),
            ),
        ],
        Some(link),
    )
}

pub fn refunded_email(to: &EmailAddress, p: &Purchase) -> Email {
    let (name, price, id) = (&p.product_name, p.price.in_language(p.language), &p.id);
    email(
        to,
        en_fr(
            p,
            format!("Refunded: {}", short(name)),
            format!("Remboursé : {}", short(name)),
        ),
        &[
            en_fr(
                p,
                format!(
                    "We refunded {price} for {name} to your card. Banks take a few days to show it."
                ),
                format!(
                    "Nous avons remboursé {price} pour {name} sur votre carte. Les banques mettent quelques jours à l'afficher."
                ),
            ),
            en_fr(p, format!("Purchase {id}."), format!("Achat {id}.")),
        ],
        None,
    )
}

pub fn expired_email(to: &EmailAddress, p: &Purchase) -> Email {
    let name = &p.product_name;
    email(
        to,
        en_fr(
            p,
            format!("Your purchase of {} has expired", short(name)),
            format!("Votre achat de {} a expiré", short(name)),
        ),
        &[
            en_fr(
                p,
                format!("The time to confirm {name} has passed, so nothing was charged."),
                format!("Le délai pour confirmer {name} est passé : rien n'a été débité."),
            ),
            en_fr(
                p,
                "Post the hashtag again to start over.".into(),
                "Postez à nouveau le hashtag pour recommencer.".into(),
            ),
        ],
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Currency, Hashtag, LinkedAccount, Money, Product, SavedCard, Terms, Timestamp, UserId,
        Windows,
    };

    #[test]
    fn a_shoppers_emails_speak_their_language() {
        let to = EmailAddress::parse("zoe@example.com").expect("email");
        let english = purchase("Mug", "zoe");
        let french = Purchase {
            language: Language::Fr,
            ..english.clone()
        };
        let window = Duration::from_secs(900);
        let en = confirmation_email(&to, &english, "https://x.test/c", window);
        let fr = confirmation_email(&to, &french, "https://x.test/c", window);
        assert!(
            en.subject.starts_with("Confirm your purchase of Mug"),
            "{}",
            en.subject
        );
        assert!(
            fr.subject
                .starts_with("Confirmez votre achat de Mug dans les 15 minutes"),
            "{}",
            fr.subject
        );
        // French writes money its own way, and the usual price too.
        assert!(
            fr.text
                .contains("9\u{202f}999\u{202f}999,99\u{a0}$US (au lieu de"),
            "{}",
            fr.text
        );
        assert!(en.text.contains("$9,999,999.99 (usually"), "{}", en.text);
        for (en, fr) in [
            (
                receipt_email(&to, &english, None),
                receipt_email(&to, &french, None),
            ),
            (declined_email(&to, &english), declined_email(&to, &french)),
            (expired_email(&to, &english), expired_email(&to, &french)),
            (refunded_email(&to, &english), refunded_email(&to, &french)),
            (tracking_email(&to, &english), tracking_email(&to, &french)),
            (no_code_email(&to, &english), no_code_email(&to, &french)),
            (
                authentication_email(&to, &english, "https://x/confirm/1", window),
                authentication_email(&to, &french, "https://x/confirm/1", window),
            ),
        ] {
            assert_ne!(en.subject, fr.subject);
            assert_ne!(en.text, fr.text);
        }
    }

    fn purchase(name: &str, screen_name: &str) -> Purchase {
        let product = Product {
            hashtag: Hashtag::parse(&format!("Buy{}", "X".repeat(96))).expect("tag"),
            name: name.into(),
            price: Money::price(999_999_999, Currency::parse("USD").expect("c")).expect("p"),
            stock: 1,
            // Discounted: the usual price is shown too, and must fit as well.
            terms: Terms {
                list_price: Some(
                    Money::price(9_999_999_999, Currency::parse("USD").expect("c")).expect("p"),
                ),
                ..Terms::default()
            },
        };
        Purchase::request(
            TweetId::parse("18446744073709551615").expect("id"),
            &LinkedAccount {
                x_user_id: UserId::parse("1").expect("id"),
                screen_name: screen_name.into(),
                email: EmailAddress::parse("ada@example.com").expect("email"),
                card: SavedCard::new("cus_test", "pm_card_visa"),
                shipping_address: None,
                language: Default::default(),
            },
            screen_name.into(),
            &product,
            Timestamp(0),
            Windows::default(),
        )
    }

    #[test]
    fn every_reply_fits_a_post_even_at_the_limits() {
        let tweet = TweetId::parse("18446744073709551615").expect("id");
        let url = "https://hashbuy.example.com/account/a/long/way/down";
        // Latin, then CJK and emoji, which X counts double.
        for (name, tag) in [
            ("N".repeat(500), "Y".repeat(100)),
            ("語".repeat(80), "購".repeat(100)),
            ("😀".repeat(80), "Buy".to_owned() + &"買".repeat(97)),
        ] {
            let p = purchase(&name, &"s".repeat(15));
            for post in [
                confirm_prompt(&p, Duration::from_secs(900)),
                not_linked(&p.buyer_screen_name, &tweet, url),
                no_address(&p.buyer_screen_name, &p.product_name, &tweet, url),
                unknown_product(&p.buyer_screen_name, &tag, &tweet),
                sold_out(&p.buyer_screen_name, &p.product_name, &tweet),
                already_waiting(&p.buyer_screen_name, &p.product_name, &tweet),
                not_on_sale(
                    &p.buyer_screen_name,
                    &p.product_name,
                    Sale::NotYet(Timestamp(i64::from(i32::MAX))),
                    &tweet,
                ),
                not_on_sale(&p.buyer_screen_name, &p.product_name, Sale::Ended, &tweet),
                over_limit(&p.buyer_screen_name, &p.product_name, u32::MAX, &tweet),
                shipped(&p),
                declined_reply(&p),
                expired_reply(&p),
                unanswered_reply(&p),
            ] {
                let weight = text::weight(&post);
                assert!(weight <= text::MAX_WEIGHT, "weighs {weight}: {post}");
            }
        }
    }

    #[test]
    fn the_prompt_names_the_confirmation_hashtag_the_price_and_the_purchase() {
        let p = purchase("Mug", "ada");
        let text = confirm_prompt(&p, Duration::from_secs(900));
        assert!(text.starts_with("@ada "));
        assert!(text.contains(&p.product.confirmation().to_string()));
        assert!(
            text.contains("for $9,999,999.99 (usually $99,999,999.99) is held"),
            "the price against the usual one: {text}"
        );
        let mut plain = p.clone();
        plain.list_price = None;
        let text = confirm_prompt(&plain, Duration::from_secs(900));
        assert!(text.contains("for $9,999,999.99 is held"), "{text}");
        assert!(text.contains("15 minutes"));
        assert!(text.contains("held for you"));
        assert!(text.contains(p.id.as_str()));
    }

    #[test]
    fn emails_have_both_parts_and_escape_html() {
        let p = purchase("<b>Mug</b> & co", "ada");
        let to = EmailAddress::parse("ada@example.com").expect("email");
        let e = confirmation_email(
            &to,
            &p,
            "https://h.example/confirm/abc?x=1&y=2",
            Duration::from_secs(900),
        );
        assert!(e.subject.contains("15 minutes"));
        assert!(e.text.contains("https://h.example/confirm/abc?x=1&y=2"));
        assert!(e.html.contains("&#60;b&#62;Mug&#60;/b&#62; &#38; co"));
        assert!(
            e.html
                .contains("href=\"https://h.example/confirm/abc?x=1&#38;y=2\"")
        );
        assert!(!e.html.contains("<b>Mug"));
        for e in [
            receipt_email(&to, &p, None),
            declined_email(&to, &p),
            expired_email(&to, &p),
            tracking_email(&to, &p),
            no_code_email(&to, &p),
        ] {
            assert!(!e.text.is_empty() && e.html.starts_with("<!doctype html>"));
        }
    }

    #[test]
    fn the_receipt_says_what_comes_next() {
        let to = EmailAddress::parse("ada@example.com").expect("email");
        let mut p = purchase("Gift card", "ada");
        let code = GiftCode::parse("GIFT-<1234>").expect("code");
        let with_code = receipt_email(&to, &p, Some(&code));
        assert!(with_code.text.contains("Your code: GIFT-<1234>."));
        assert!(with_code.html.contains("GIFT-&#60;1234&#62;"), "escaped");
        p.state = State::AwaitingShipment;
        let parcel = receipt_email(&to, &p, None);
        assert!(parcel.text.contains("tracking when it ships"));
        p.shipment = Some(crate::domain::Shipment::parse("UPS", "1Z 999").expect("s"));
        let tracking = tracking_email(&to, &p);
        assert!(
            tracking
                .text
                .contains("Carrier: UPS. Tracking number: 1Z 999.")
        );
    }
}
