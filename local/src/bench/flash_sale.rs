//! A flash sale under X's write limits (200 posts in 15 minutes, 300 in 3 hours): many
//! shoppers for fewer units, all asking in the first ten minutes, on a stack whose clock
//! the bench moves a minute at a time for three hours. Every shopper answers a prompt and
//! its email within the minute they see it. What one brand account can sell is then
//! bounded by its posting budget, not by hashbuy, and the figures say how it was spent.

use std::collections::{BTreeMap, BTreeSet};

use hashbuy::domain::{Purchase, State, TweetId};
use serde::Serialize;
use serde_json::json;

use super::purchases::{link_shopper, page, settle, start_stack};
use crate::simulators::shopper::{Client, Original, XUser, link_in};
use crate::simulators::x_api::PostLimits;
use crate::stack::Running;

/// How long the sale is watched: X's longest window.
const MINUTES: u64 = 180;
/// Requests arrive over this many minutes.
const ARRIVAL_MINUTES: u64 = 10;

#[derive(Clone, Debug, Serialize)]
pub struct FlashSale {
    pub shoppers: u64,
    pub units: u32,
    /// Paid in the three hours (each order then waits for the shop to ship it).
    pub completed: usize,
    pub brand_posts: usize,
    pub prompts: usize,
    /// Minutes from a request to its prompt on X: the median and the longest.
    pub prompt_wait_minutes: (u64, u64),
    /// Prompts that waited in the post queue at least a minute.
    pub prompts_delayed: usize,
    /// Expired without a prompt: X's budget could not carry it within the first window.
    pub expired_unprompted: usize,
    /// Every shopper who answered a prompt in time bought: no window was cut short.
    pub windows_whole: bool,
    /// Units sold, held and back on sale add up to the stock at the start.
    pub stock_conserved: bool,
    /// One charge per completed purchase, none twice.
    pub charged_once: bool,
}

/// Runs the sale in memory: `shoppers` for `units`.
pub async fn run(shoppers: u64, units: u32) -> Result<FlashSale, String> {
    let (running, client) = start_stack(None, PostLimits::default(), units).await?;
    let brand = client.brand().await.map_err(|e| e.to_string())?;
    let mut linked = Vec::new();
    for n in 1..=shoppers {
        linked.push(link_shopper(&client, n).await?);
    }
    let per_minute = shoppers.div_ceil(ARRIVAL_MINUTES) as usize;
    let mut arrivals = linked.chunks(per_minute.max(1));
    // The request post of each shopper, with the minute it was made.
    let mut requests: BTreeMap<String, (XUser, u64)> = BTreeMap::new();
    let mut answered: BTreeSet<String> = BTreeSet::new();
    let mut confirmed: BTreeSet<String> = BTreeSet::new();
    let mut waits = Vec::new();
    for minute in 0..MINUTES {
        if let Some(batch) = arrivals.next() {
            let tweets = batch.iter().map(|s| client.tweet(s, "#BuyBenchMug"));
            for (shopper, tweet) in batch.iter().zip(futures::future::join_all(tweets).await) {
                let tweet = tweet.map_err(|e| e.to_string())?;
                requests.insert(tweet.id, (shopper.clone(), minute));
            }
        }
        settle(&client).await?;
        for (request, prompt_id, text) in new_prompts(&running, &requests, &answered) {
            let (shopper, asked_at) = &requests[&request];
            waits.push(minute - asked_at);
            let original = Original {
                id: &prompt_id,
                author: &brand,
                text: &text,
                in_reply_to: Some(&request),
            };
            client
                .retweet(shopper, &original)
                .await
                .map_err(|e| e.to_string())?;
            answered.insert(request);
        }
        settle(&client).await?;
        confirm_new_links(&running, &client, &mut confirmed).await?;
        settle(&client).await?;
        let advance = json!({"advance_seconds": 60});
        client
            .post_json("/_local/clock", &advance)
            .await
            .map_err(|e| e.to_string())?;
    }
    settle(&client).await?;
    summarize(&running, shoppers, units, &answered, waits).await
}

/// Prompts on X to requests not answered yet: (request, prompt id, prompt text).
fn new_prompts(
    running: &Running,
    requests: &BTreeMap<String, (XUser, u64)>,
    answered: &BTreeSet<String>,
) -> Vec<(String, String, String)> {
    running
        .local
        .mem
        .x
        .posts()
        .into_iter()
        .filter(|p| p.text.contains("_Confirm"))
        .filter_map(|p| {
            let to = p.in_reply_to.as_ref().map(TweetId::to_string)?;
            (requests.contains_key(&to) && !answered.contains(&to))
                .then(|| (to, p.id.to_string(), p.text))
        })
        .collect()
}

/// Presses Confirm on every confirmation link not pressed yet.
async fn confirm_new_links(
    running: &Running,
    client: &Client,
    confirmed: &mut BTreeSet<String>,
) -> Result<(), String> {
    let emails = running
        .local
        .views
        .emails()
        .await
        .map_err(|e| e.to_string())?;
    let links: Vec<String> = emails
        .iter()
        .filter_map(|e| link_in(e.text.as_deref().unwrap_or(&e.html)))
        .filter(|link| !confirmed.contains(link))
        .collect();
    for link in links {
        page(client, reqwest::Method::POST, &link).await?;
        confirmed.insert(link);
    }
    Ok(())
}

async fn summarize(
    running: &Running,
    shoppers: u64,
    units: u32,
    answered: &BTreeSet<String>,
    mut waits: Vec<u64>,
) -> Result<FlashSale, String> {
    let local = &running.local;
    let purchases: Vec<Purchase> = local.views.purchases().await.map_err(|e| e.to_string())?;
    let count = |state: State| purchases.iter().filter(|p| p.state == state).count();
    // Paid and handed to the shop, which ships on its own time.
    let completed = count(State::AwaitingShipment);
    let sold = completed + count(State::Paid);
    let held = purchases.iter().filter(|p| p.state.holds_stock()).count();
    let products = local
        .app
        .ports
        .catalog
        .products()
        .await
        .map_err(|e| e.to_string())?;
    let left: u32 = products.iter().map(|p| p.stock).sum();
    let charges = local.mem.cards.charges();
    let charged: BTreeSet<_> = charges.iter().map(|c| c.purchase.clone()).collect();
    let prompted: BTreeSet<_> = answered.iter().collect();
    let bought = purchases
        .iter()
        .filter(|p| p.state == State::AwaitingShipment)
        .filter(|p| prompted.contains(&p.request_tweet.to_string()))
        .count();
    waits.sort_unstable();
    Ok(FlashSale {
        shoppers,
        units,
        completed,
        brand_posts: local.mem.x.posts().len(),
        prompts: answered.len(),
        prompt_wait_minutes: (
            waits.get(waits.len() / 2).copied().unwrap_or(0),
            waits.last().copied().unwrap_or(0),
        ),
        prompts_delayed: waits.iter().filter(|w| **w > 0).count(),
        expired_unprompted: purchases
            .iter()
            .filter(|p| p.state == State::Expired && p.reply_tweet.is_none())
            .count(),
        windows_whole: bought == answered.len(),
        stock_conserved: sold + held + left as usize == units as usize,
        charged_once: charges.len() == completed && charged.len() == completed,
    })
}
