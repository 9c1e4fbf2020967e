//! `hashbuy-local demo`: one purchase, start to finish, through the stack's HTTP routes
//! only, told the way the shopper would see it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::simulators::shopper::{Client, Original, XUser, link_in};

const SETTLE: Duration = Duration::from_secs(10);
const PRODUCT: &str = "BuyAmexGiftCard25";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the stack did not answer: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Story(String),
}

fn fail(message: impl Into<String>) -> DemoError {
    DemoError::Story(message.into())
}

fn say(who: &str, what: &str) {
    println!("\n[{who}]");
    if !what.is_empty() {
        println!("  {}", what.replace('\n', "\n  "));
    }
}

/// Prints an email as the shopper reads it and returns its text. moto keeps only the HTML
/// part of what SES sent, so on the emulator the text is the HTML without its tags.
fn show_email(email: &Value) -> String {
    let text = match (email["text"].as_str(), email["html"].as_str()) {
        (Some(text), _) => text.to_owned(),
        (None, Some(html)) => without_tags(html),
        (None, None) => String::new(),
    };
    let to = email["to"].as_str().unwrap_or_default();
    let subject = email["subject"].as_str().unwrap_or_default();
    say(
        &format!("email to {to}"),
        &format!("Subject: {subject}\n\n{text}"),
    );
    text
}

/// What a page says: the text of its `<main>`, its button's label included.
fn page_text(html: &str) -> String {
    let main = match (html.find("<main>"), html.find("</main>")) {
        (Some(start), Some(end)) if start < end => &html[start..end],
        _ => html,
    };
    without_tags(main)
}

fn without_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    decode_entities(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Turns the numeric character references the templates write (`&#38;`) back into text.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("&#") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let decoded = after.find(';').and_then(|end| {
            let c = after[..end].parse().ok().and_then(char::from_u32)?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

async fn settle(client: &Client) -> Result<(), DemoError> {
    if client.settle(SETTLE).await? {
        Ok(())
    } else {
        Err(fail("events did not settle in time"))
    }
}

async fn last_reply_to(client: &Client, tweet_id: &str) -> Result<Value, DemoError> {
    let tweets = client.get_json("/_local/tweets").await?;
    tweets
        .as_array()
        .and_then(|all| {
            all.iter()
                .rev()
                .find(|t| t["in_reply_to_tweet_id"] == tweet_id)
                .cloned()
        })
        .ok_or_else(|| fail(format!("the brand never replied to post {tweet_id}")))
}

/// Plays the story against the stack at `client`; Ok only if the gift card's code was
/// delivered and the card was charged exactly once.
pub async fn run(client: &Client) -> Result<(), DemoError> {
    let brand = client.brand().await?;
    let shopper = XUser {
        id: "2244994945".into(),
        screen_name: "ada".into(),
    };

    // The operator adds the brand that sells; the brand puts its offer on sale.
    let brand_shop = json!({"name": "Amex", "commission_bps": 1000});
    let (_, merchant) = client.post_json("/_local/merchants", &brand_shop).await?;
    let key = merchant["api_key"].as_str().unwrap_or_default().to_owned();
    let offer = json!({"hashtag": PRODUCT, "name": "Amex gift card, $25", "price_cents": 1500, "list_price_cents": 2500, "currency": "USD", "fulfilment": "digital"});
    let (status, _) = client
        .merchant_call(&key, reqwest::Method::POST, "/offers", Some(&offer))
        .await?;
    if status != 201 {
        return Err(fail(format!(
            "the merchant API answered {status} to the offer"
        )));
    }
    // A gift card is a code: the brand uploads ten, which are the offer's stock.
    let codes: Vec<String> = (1..=10).map(|n| format!("AMEX-25-{n:04}")).collect();
    let path = format!("/offers/{PRODUCT}/codes");
    let (status, _) = client
        .merchant_call(
            &key,
            reqwest::Method::POST,
            &path,
            Some(&json!({ "codes": codes })),
        )
        .await?;
    if status != 201 {
        return Err(fail(format!(
            "the merchant API answered {status} to the codes"
        )));
    }
    settle(client).await?;
    let account = json!({"x_user_id": shopper.id, "screen_name": shopper.screen_name, "email": "ada@example.com", "payment_method": "pm_card_visa"});
    client.post_json("/_local/accounts", &account).await?;
    println!(
        "hashbuy demo: the brand is @{}; @{} has linked an email and a card.",
        brand.screen_name, shopper.screen_name
    );
    println!(
        "Amex (a merchant, 10% commission) sells #{PRODUCT} through the merchant API: a $25 gift card for $15, ten codes uploaded (sealed), so 10 in stock."
    );

    let text = format!("Treating myself! #{PRODUCT}");
    say(&format!("@{} posts", shopper.screen_name), &text);
    let request = client.tweet(&shopper, &text).await?;
    if request.status != 200 {
        return Err(fail(format!("the webhook answered {}", request.status)));
    }
    settle(client).await?;

    let prompt = last_reply_to(client, &request.id).await?;
    let prompt_text = prompt["text"].as_str().unwrap_or_default().to_owned();
    say(&format!("@{} replies", brand.screen_name), &prompt_text);

    say(&format!("@{} retweets that reply", shopper.screen_name), "");
    let prompt_id = prompt["id"].as_str().unwrap_or_default();
    let original = Original {
        id: prompt_id,
        author: &brand,
        text: &prompt_text,
        in_reply_to: Some(&request.id),
    };
    client.retweet(&shopper, &original).await?;
    settle(client).await?;

    let emails = client.get_json("/_local/emails").await?;
    let email = emails
        .as_array()
        .and_then(|e| e.last())
        .ok_or_else(|| fail("no confirmation email arrived"))?;
    let email_text = show_email(email);
    let link = link_in(&email_text).ok_or_else(|| fail("the email has no confirmation link"))?;

    let (status, page) = client.page(reqwest::Method::GET, &link).await?;
    say(
        "the shopper opens the link (nothing is charged yet)",
        &format!("GET {link} -> {status}\n{}", page_text(&page)),
    );
    let (status, page) = client.page(reqwest::Method::POST, &link).await?;
    say(
        "the shopper presses Confirm",
        &format!("POST -> {status}\n{}", page_text(&page)),
    );
    settle(client).await?;

    let charges = client.get_json("/_local/charges").await?;
    let charges = charges.as_array().cloned().unwrap_or_default();
    for charge in &charges {
        say(
            "card processor",
            &format!(
                "{} {} cents {} as {} for {}",
                charge["status"].as_str().unwrap_or_default(),
                charge["amount_cents"],
                charge["currency"].as_str().unwrap_or_default(),
                charge["payment_intent"].as_str().unwrap_or_default(),
                charge["purchase_id"].as_str().unwrap_or_default(),
            ),
        );
    }
    let emails = client.get_json("/_local/emails").await?;
    if let Some(receipt) = emails.as_array().and_then(|e| e.last()) {
        show_email(receipt);
    }
    let replies = client.get_json("/_local/tweets").await?;
    let posts = replies.as_array().map_or(0, Vec::len);
    println!(
        "\nThe brand posted {posts} time(s) on X for this purchase: the prompt. The rest went by email."
    );

    let purchases = client.get_json("/_local/purchases").await?;
    let state = purchases
        .as_array()
        .and_then(|all| all.iter().find(|p| p["x_user_id"] == shopper.id.as_str()))
        .map(|p| p["state"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let succeeded = charges
        .iter()
        .filter(|c| c["status"] == "succeeded")
        .count();
    println!("\nThe purchase ended {state}, with {succeeded} charge(s).");
    let (_, report) = client
        .merchant_call(&key, reqwest::Method::GET, "/reports/sales", None)
        .await?;
    let line = &report["offers"][0];
    say(
        "Amex reads its sales report (the ledger)",
        &format!(
            "{} sold: {} cents gross, {} commission to the platform, {} net",
            line["units_sold"], line["gross_cents"], line["commission_cents"], line["net_cents"]
        ),
    );
    if state == "delivered" && succeeded == 1 && charges.len() == 1 {
        Ok(())
    } else {
        Err(fail(
            "expected the purchase delivered (its code in the receipt) and exactly one charge",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_read_as_text() {
        assert_eq!(
            without_tags("<p>Mugs &#38; cups</p><p>&#60;3 &#bad; &#</p>"),
            "Mugs & cups <3 &#bad; &#"
        );
    }

    #[test]
    fn a_page_reads_as_its_main_text() {
        let page = "<html><head><title>Paid</title></head><body><main><h1>Paid</h1><p>Your card was charged $12.00.</p></main></body></html>";
        assert_eq!(page_text(page), "Paid Your card was charged $12.00.");
    }
}
