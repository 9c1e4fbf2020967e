//! The post queue in memory: the local stack drains it on a timer, tests by hand.

use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::domain::{QueuedPost, Timestamp};
use crate::ports::{PortResult, PostQueue};

#[derive(Debug, Default)]
pub struct WaitingPosts(Mutex<Vec<QueuedPost>>);

impl WaitingPosts {
    /// Takes the posts whose time has come, oldest first.
    pub fn take_due(&self, now: Timestamp) -> Vec<QueuedPost> {
        let mut waiting = lock(&self.0);
        let (due, later) = waiting.drain(..).partition(|p| p.not_before <= now);
        *waiting = later;
        due
    }

    pub fn waiting(&self) -> Vec<QueuedPost> {
        lock(&self.0).clone()
    }
}

#[async_trait]
impl PostQueue for WaitingPosts {
    async fn enqueue(&self, post: &QueuedPost, _: Timestamp) -> PortResult<()> {
        lock(&self.0).push(post.clone());
        Ok(())
    }
}
