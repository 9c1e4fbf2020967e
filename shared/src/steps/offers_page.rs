//! The public offers page: `GET /offers` (HTML, in the browser's language, English or
//! French) and `GET /offers.json` — every offer on sale or about to be, with its price
//! against the usual one, roughly how many are left, its dates, its merchant, and the
//! hashtag to post. Public data only: no exact stock when few are left, nothing about
//! anyone who bought.

use std::collections::BTreeMap;

use askama::Template;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use tracing::Instrument;

use super::pages::{browser_language, hardened};
use super::webhook::reply;
use crate::app::App;
use crate::domain::{Language, MerchantId, Product, Sale, Timestamp};
use crate::ports::PortResult;

pub const PAGE: &str = "/offers";
pub const JSON: &str = "/offers.json";

/// At or below this many units, the page says "few left" rather than the number.
pub const FEW_LEFT: u32 = 5;

/// Offers change by the minute; a browser or CDN may keep the page this long.
const CACHE: &str = "public, max-age=30";

pub async fn handle(app: &App, request: Request<Bytes>) -> Response<String> {
    let span = tracing::info_span!("offers_page", path = request.uri().path());
    async {
        let response = respond(app, &request).await;
        tracing::info!(status = response.status().as_u16(), "offers page answered");
        response
    }
    .instrument(span)
    .await
}

async fn respond(app: &App, request: &Request<Bytes>) -> Response<String> {
    if request.method() != Method::GET {
        return reply(StatusCode::METHOD_NOT_ALLOWED, json!({"error": "use GET"}));
    }
    let path = request.uri().path();
    if path != PAGE && path != JSON {
        return reply(StatusCode::NOT_FOUND, json!({"error": "no such page"}));
    }
    let offers = match listed(app).await {
        Ok(offers) => offers,
        Err(error) => {
            tracing::warn!(error = %error, "offers not read; the caller may retry");
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "try again"}),
            );
        }
    };
    if path == JSON {
        let mut response = reply(
            StatusCode::OK,
            json!({ "offers": offers.iter().map(Listed::json).collect::<Vec<_>>() }),
        );
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(CACHE),
        );
        return response;
    }
    let language = browser_language(request);
    let mut response = hardened(StatusCode::OK, render(app, &offers, language), CACHE);
    response.headers_mut().insert(
        header::VARY,
        header::HeaderValue::from_static("Accept-Language"),
    );
    response
}

/// An offer as the public sees it.
struct Listed {
    offer: Product,
    sale: Sale,
    merchant: String,
}

/// Every offer on sale or scheduled (not paused, not ended), on sale first, with its
/// merchant's name (the brand's own products are sold by the brand).
async fn listed(app: &App) -> PortResult<Vec<Listed>> {
    let now = app.ports.clock.now();
    let offers: Vec<(Product, Sale)> = app
        .ports
        .catalog
        .products()
        .await?
        .into_iter()
        .map(|p| {
            let sale = p.sale(now);
            (p, sale)
        })
        .filter(|(_, sale)| matches!(sale, Sale::On | Sale::NotYet(_)))
        .collect();
    let mut names: BTreeMap<MerchantId, String> = BTreeMap::new();
    for id in offers.iter().filter_map(|(p, _)| p.terms.merchant.as_ref()) {
        if !names.contains_key(id) {
            let name = app.ports.merchants.merchant(id).await?.map(|m| m.name);
            names.insert(id.clone(), name.unwrap_or_default());
        }
    }
    let brand = format!("@{}", app.settings.brand.screen_name);
    let mut listed: Vec<Listed> = offers
        .into_iter()
        .map(|(offer, sale)| Listed {
            merchant: offer
                .terms
                .merchant
                .as_ref()
                .and_then(|id| names.get(id).cloned())
                .unwrap_or_else(|| brand.clone()),
            offer,
            sale,
        })
        .collect();
    listed.sort_by_key(|l| matches!(l.sale, Sale::NotYet(_)));
    Ok(listed)
}

impl Listed {
    fn json(&self) -> Value {
        let p = &self.offer;
        let availability = match p.stock {
            0 => "sold_out",
            n if n <= FEW_LEFT => "few_left",
            _ => "available",
        };
        json!({
            "hashtag": p.hashtag.as_str(),
            "name": p.name,
            "description": p.terms.description,
            "price_cents": p.price.minor,
            "list_price_cents": p.terms.list_price.map(|m| m.minor),
            "currency": p.price.currency.as_str(),
            "availability": availability,
            "units_left": (p.stock > FEW_LEFT).then_some(p.stock),
            "on_sale": self.sale == Sale::On,
            "starts_at": p.terms.starts_at.map(Timestamp::rfc3339),
            "ends_at": p.terms.ends_at.map(Timestamp::rfc3339),
            "per_shopper_limit": p.terms.per_shopper_limit,
            "merchant": self.merchant,
            "how_to_buy": format!("Post #{} from the X account you linked to hashbuy", p.hashtag.as_str()),
        })
    }
}

/// What the page says, in one language.
struct Words {
    title: &'static str,
    intro: &'static str,
    nothing: &'static str,
    as_json: &'static str,
    how: &'static str,
    usually: &'static str,
    left: &'static str,
    few_left: &'static str,
    sold_out: &'static str,
    from: &'static str,
    until: &'static str,
    sold_by: &'static str,
}

const ENGLISH: Words = Words {
    title: "On sale now",
    intro: "Buy with a post: post an offer's hashtag from the X account you linked to hashbuy. We reply; retweet our reply within {minutes} minutes, confirm from the email we send, and your card is charged once.",
    nothing: "Nothing is on sale right now.",
    as_json: "These offers as JSON",
    how: "To buy, post",
    usually: "usually",
    left: "left",
    few_left: "Few left",
    sold_out: "Sold out",
    from: "On sale from",
    until: "Until",
    sold_by: "Sold by",
};

const FRENCH: Words = Words {
    title: "En vente maintenant",
    intro: "Achetez avec un post : publiez le hashtag d'une offre depuis le compte X que vous avez lié à hashbuy. Nous répondons ; retweetez notre réponse dans les {minutes} minutes, confirmez depuis l'e-mail envoyé, et votre carte est débitée une seule fois.",
    nothing: "Rien n'est en vente pour le moment.",
    as_json: "Ces offres en JSON",
    how: "Pour acheter, publiez",
    usually: "au lieu de",
    left: "restants",
    few_left: "Plus que quelques-uns",
    sold_out: "Épuisé",
    from: "En vente à partir du",
    until: "Jusqu'au",
    sold_by: "Vendu par",
};

/// An offer as the page shows it, every text already in the page's language.
struct OfferView {
    hashtag: String,
    name: String,
    description: String,
    price: String,
    usually: Option<String>,
    how: &'static str,
    left: String,
    when: Option<String>,
    merchant: String,
}

#[derive(Template)]
#[template(path = "offers.html")]
struct OffersPage<'a> {
    lang: &'static str,
    words: &'a Words,
    intro: String,
    offers: Vec<OfferView>,
}

/// "2027-02-08T08:00:00Z" → "2027-02-08 08:00 UTC"
fn date(at: Timestamp) -> String {
    let text = at.rfc3339();
    format!("{} {} UTC", &text[..10], &text[11..16])
}

fn render(app: &App, offers: &[Listed], language: Language) -> String {
    let words = match language {
        Language::En => &ENGLISH,
        Language::Fr => &FRENCH,
    };
    let minutes = app.settings.windows.retweet.as_secs().div_ceil(60);
    let views = offers
        .iter()
        .map(|listed| {
            let p = &listed.offer;
            let money = |m: crate::domain::Money| m.in_language(language).to_string();
            OfferView {
                hashtag: format!("#{}", p.hashtag.as_str()),
                name: p.name.clone(),
                description: p.terms.description.clone(),
                price: money(p.price),
                usually: p
                    .terms
                    .list_price
                    .filter(|list| list.minor > p.price.minor)
                    .map(|list| format!("({} {})", words.usually, money(list))),
                how: words.how,
                left: match p.stock {
                    0 => words.sold_out.to_owned(),
                    n if n <= FEW_LEFT => words.few_left.to_owned(),
                    n => format!("{n} {}", words.left),
                },
                when: match (listed.sale, p.terms.ends_at) {
                    (Sale::NotYet(start), _) => Some(format!("{} {}", words.from, date(start))),
                    (_, Some(end)) => Some(format!("{} {}", words.until, date(end))),
                    _ => None,
                },
                merchant: format!("{} {}", words.sold_by, listed.merchant),
            }
        })
        .collect();
    let page = OffersPage {
        lang: language.code(),
        words,
        intro: words.intro.replace("{minutes}", &minutes.to_string()),
        offers: views,
    };
    page.render().unwrap_or_else(|error| {
        tracing::warn!(error = %error, "offers page did not render");
        String::from("<!doctype html><title>hashbuy</title><p>Please try again.</p>")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Commission, Currency, Merchant, Money, Terms};
    use crate::ports::{Catalog, Merchants};
    use crate::steps::testing::{World, tag};

    async fn offer(world: &World, hashtag: &str, stock: u32, terms: Terms) {
        let usd = Currency::parse("USD").expect("USD");
        let product = Product {
            hashtag: tag(hashtag),
            name: format!("{hashtag} item"),
            price: Money::price(1_500, usd).expect("price"),
            stock,
            terms,
        };
        world.mem.store.put_product(&product).await.expect("put");
    }

    async fn get(world: &World, path: &str, language: &str) -> Response<String> {
        let request = Request::builder()
            .uri(path)
            .header(header::ACCEPT_LANGUAGE, language)
            .body(Bytes::new())
            .expect("request");
        handle(&world.app, request).await
    }

    async fn shop() -> World {
        let world = World::new();
        let acme = Merchant {
            id: MerchantId::generate(),
            name: "Acme <script>alert(1)</script>".into(),
            commission: Commission::basis_points(1_000).expect("10%"),
            created_at: Timestamp(0),
            orders_email: None,
            orders_webhook: None,
            webhook_version: 0,
            revision: 0,
        };
        world.mem.store.put_merchant(&acme).await.expect("merchant");
        let now = world.app.ports.clock.now().seconds();
        let usd = Currency::parse("USD").expect("USD");
        let by_acme = |terms: Terms| Terms {
            merchant: Some(acme.id.clone()),
            ..terms
        };
        offer(
            &world,
            "BuyGiftCard",
            40,
            by_acme(Terms {
                list_price: Some(Money::price(2_500, usd).expect("price")),
                description: "<b>Spend</b> it anywhere".into(),
                ends_at: Some(Timestamp(now + 86_400)),
                ..Terms::default()
            }),
        )
        .await;
        offer(&world, "BuyFewLeft", 3, by_acme(Terms::default())).await;
        offer(
            &world,
            "BuySoon",
            9,
            by_acme(Terms {
                starts_at: Some(Timestamp(now + 3_600)),
                ..Terms::default()
            }),
        )
        .await;
        offer(
            &world,
            "BuyPaused",
            9,
            by_acme(Terms {
                paused: true,
                ..Terms::default()
            }),
        )
        .await;
        offer(
            &world,
            "BuyEnded",
            9,
            by_acme(Terms {
                ends_at: Some(Timestamp(now)),
                ..Terms::default()
            }),
        )
        .await;
        offer(&world, "BuyHouseMug", 0, Terms::default()).await;
        world
    }

    #[tokio::test]
    async fn the_json_lists_what_can_be_bought_and_hides_exact_low_stock() {
        let world = shop().await;
        let response = get(&world, JSON, "").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], CACHE);
        let body: Value = serde_json::from_str(response.body()).expect("JSON");
        let offers = body["offers"].as_array().expect("offers");
        let tags: Vec<_> = offers
            .iter()
            .map(|o| o["hashtag"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            tags,
            ["BuyFewLeft", "BuyGiftCard", "BuyHouseMug", "BuySoon"],
            "on sale first; paused and ended left out"
        );
        let by = |t: &str| {
            offers
                .iter()
                .find(|o| o["hashtag"] == t)
                .expect("offer")
                .clone()
        };
        let gift = by("BuyGiftCard");
        assert_eq!(
            (
                gift["price_cents"].clone(),
                gift["list_price_cents"].clone()
            ),
            (json!(1500), json!(2500))
        );
        assert_eq!(
            (gift["availability"].clone(), gift["units_left"].clone()),
            (json!("available"), json!(40))
        );
        assert_eq!(
            gift["merchant"], "Acme <script>alert(1)</script>",
            "JSON carries text as it is"
        );
        let few = by("BuyFewLeft");
        assert_eq!(
            (few["availability"].clone(), few["units_left"].clone()),
            (json!("few_left"), Value::Null)
        );
        assert_eq!(by("BuyHouseMug")["availability"], "sold_out");
        assert_eq!(
            by("BuyHouseMug")["merchant"],
            "@hashbuy",
            "the brand sells its own"
        );
        assert_eq!(by("BuySoon")["on_sale"], false);
        assert!(by("BuySoon")["starts_at"].is_string());
    }

    #[tokio::test]
    async fn the_page_speaks_the_browsers_language_and_escapes_what_merchants_wrote() {
        let world = shop().await;
        let english = get(&world, PAGE, "en-GB,en;q=0.9").await;
        assert_eq!(english.status(), StatusCode::OK);
        let csp = english.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script-src"),
            "{csp}"
        );
        assert_eq!(english.headers()[header::VARY], "Accept-Language");
        let html = english.body();
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert!(
            html.contains("<strong>$15.00</strong> (usually $25.00)"),
            "{html}"
        );
        assert!(
            html.contains("To buy, post <code>#BuyGiftCard</code>"),
            "{html}"
        );
        assert!(
            html.contains("40 left") && html.contains("Few left") && html.contains("Sold out"),
            "{html}"
        );
        assert!(html.contains("On sale from 2027-01-15 09:00 UTC"), "{html}");
        assert!(
            !html.contains("BuyPaused") && !html.contains("BuyEnded"),
            "{html}"
        );
        assert!(
            !html.contains("<script>") && !html.contains("<b>Spend"),
            "escaped: {html}"
        );
        assert!(html.contains("&#60;script&#62;"), "{html}");

        let french = get(&world, PAGE, "fr-CA,fr;q=0.9,en;q=0.5").await;
        let html = french.body();
        assert!(html.contains("<html lang=\"fr\">"), "{html}");
        assert!(html.contains("En vente maintenant"), "{html}");
        assert!(html.contains("(au lieu de 25,00\u{a0}$US)"), "{html}");
        assert!(html.contains("Plus que quelques-uns"), "{html}");
    }

    #[tokio::test]
    async fn only_get_on_the_two_paths() {
        let world = World::new();
        let empty = get(&world, PAGE, "").await;
        assert!(
            empty.body().contains("Nothing is on sale right now."),
            "{}",
            empty.body()
        );
        assert_eq!(
            get(&world, "/offers/secret", "").await.status(),
            StatusCode::NOT_FOUND
        );
        let post = Request::builder()
            .method("POST")
            .uri(PAGE)
            .body(Bytes::new())
            .expect("request");
        assert_eq!(
            handle(&world.app, post).await.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
