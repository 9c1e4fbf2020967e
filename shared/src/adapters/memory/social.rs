use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::lock;
use crate::domain::{TweetId, UserId};
use crate::ports::{PortError, PortResult, Social};

/// A post as the X stand-in recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostedTweet {
    pub id: TweetId,
    pub author_id: UserId,
    pub text: String,
    pub in_reply_to: Option<TweetId>,
}

/// An X stand-in that records the brand's posts and numbers them like X does.
#[derive(Debug)]
pub struct XStandIn {
    brand: UserId,
    next_id: AtomicU64,
    posts: Mutex<Vec<PostedTweet>>,
}

impl XStandIn {
    pub fn new(brand: UserId) -> Self {
        Self {
            brand,
            next_id: AtomicU64::new(1_900_000_000_000_000_000),
            posts: Mutex::new(Vec::new()),
        }
    }

    pub fn posts(&self) -> Vec<PostedTweet> {
        lock(&self.posts).clone()
    }
}

#[async_trait]
impl Social for XStandIn {
    async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst).to_string();
        let id = TweetId::parse(&id).map_err(|e| PortError::new("x stand-in", e))?;
        lock(&self.posts).push(PostedTweet {
            id: id.clone(),
            author_id: self.brand.clone(),
            text: text.to_owned(),
            in_reply_to: Some(to.clone()),
        });
        Ok(id)
    }
}
