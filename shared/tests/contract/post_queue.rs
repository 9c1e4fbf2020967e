//! The post queue's promise: a post comes back whole, and not before its `not_before`.

use hashbuy::adapters::memory::WaitingPosts;
use hashbuy::adapters::sqs::SqsPostQueue;
use hashbuy::domain::{Priority, PurchaseId, QueuedPost, Timestamp, TweetId};
use hashbuy::ports::PostQueue;

use crate::emulator;

const NOW: Timestamp = Timestamp(1_800_000_000);

fn post(key: &str, wait: i64) -> QueuedPost {
    QueuedPost {
        key: key.into(),
        in_reply_to: TweetId::parse("1870000000000000001").expect("id"),
        text: "@shopper Retweet to buy 🎁 #BuyGift25_Confirm".into(),
        priority: Priority::Prompt,
        prompt_for: Some(PurchaseId::parse("pur_42").expect("id")),
        look_first: true,
        not_before: Timestamp(NOW.0 + wait),
        queued_at: NOW,
    }
}

#[tokio::test]
async fn memory_queue_gives_each_post_back_once_its_time_has_come() {
    let queue = WaitingPosts::default();
    queue.enqueue(&post("now", 0), NOW).await.expect("enqueue");
    queue
        .enqueue(&post("later", 60), NOW)
        .await
        .expect("enqueue");
    assert_eq!(queue.take_due(NOW), [post("now", 0)]);
    assert!(queue.take_due(Timestamp(NOW.0 + 59)).is_empty());
    assert_eq!(queue.take_due(Timestamp(NOW.0 + 60)), [post("later", 60)]);
    assert!(queue.waiting().is_empty());
}

#[tokio::test]
async fn sqs_queue_hides_a_post_until_its_time_and_gives_it_back_whole() {
    let config = emulator::config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = sqs
        .create_queue()
        .queue_name(emulator::unique("hashbuy-posts"))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let queue = SqsPostQueue::new(sqs, &url);
    queue.enqueue(&post("now", 0), NOW).await.expect("enqueue");
    queue
        .enqueue(&post("later", 600), NOW)
        .await
        .expect("enqueue");
    let received = emulator::drain(&config, &url).await;
    let posts: Vec<QueuedPost> = received
        .into_iter()
        .map(|body| serde_json::from_value(body).expect("a queued post"))
        .collect();
    assert_eq!(posts, [post("now", 0)], "the later one is still delayed");
}
