//! What a spawned process logs, kept out of a passing test's output and shown when the test
//! fails: a green run should not print the ERROR lines of faults a test injects on purpose.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Collects a child's log lines as they come; prints them if dropped during a panic (a
/// failing test), and drops them otherwise.
pub struct CapturedLogs {
    lines: Arc<Mutex<Vec<String>>>,
}

impl CapturedLogs {
    /// Reads `stream` (a child's piped stderr) to its end on a task of its own, so the child
    /// never blocks on a full pipe.
    pub fn capture(stream: impl AsyncRead + Unpin + Send + 'static) -> Self {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line);
            }
        });
        Self { lines }
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for CapturedLogs {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for line in self.lines() {
                eprintln!("{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_every_line_of_the_stream() {
        let logs = CapturedLogs::capture(&b"one\ntwo\n"[..]);
        for _ in 0..100 {
            if logs.lines().len() == 2 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(logs.lines(), ["one", "two"]);
    }
}
