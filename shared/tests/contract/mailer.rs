//! The mailer's promises: an email reaches its recipient with its subject and body, and
//! SES refuses to send from an unverified sender rather than pretending.

use hashbuy::adapters::memory::Outbox;
use hashbuy::adapters::ses::SesMailer;
use hashbuy::domain::EmailAddress;
use hashbuy::ports::{Email, Mailer};

use crate::emulator;

fn email() -> Email {
    Email {
        to: EmailAddress::parse("ada@example.com").expect("email"),
        subject: "Confirm your purchase".into(),
        text: "Open the link: https://h.example/confirm/abc".into(),
        html: "<p>Open the link: <a href=\"https://h.example/confirm/abc\">confirm</a></p>".into(),
    }
}

#[tokio::test]
async fn memory_outbox_keeps_both_parts() {
    let outbox = Outbox::default();
    outbox.send(&email()).await.expect("send");
    assert_eq!(outbox.sent(), [email()]);
}

/// Sent messages as moto records them (it keeps the HTML part when both are sent).
async fn moto_messages() -> Vec<serde_json::Value> {
    let url = format!("{}/moto-api/data.json", emulator::endpoint());
    let body = reqwest_like_get(&url).await;
    let data: serde_json::Value = serde_json::from_str(&body).expect("moto data");
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A plain HTTP GET over a TCP socket: enough for the emulator's JSON dump.
async fn reqwest_like_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').expect("url with a path");
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect to the emulator");
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn ses_sends_from_a_verified_sender() {
    let config = emulator::config().await;
    let client = aws_sdk_sesv2::Client::new(&config);
    let domain = format!("{}.example.com", emulator::unique("shop"));
    let from = format!("orders@{domain}");
    let mailer = SesMailer::new(client.clone(), &from, None);
    assert!(
        mailer.send(&email()).await.is_err(),
        "an unverified sender is refused"
    );

    client
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .expect("verify domain");
    let mut unique = email();
    unique.subject = format!("Confirm your purchase {domain}");
    mailer.send(&unique).await.expect("send");
    let messages = moto_messages().await;
    let sent = messages
        .iter()
        .find(|m| m["subject"] == unique.subject.as_str())
        .unwrap_or_else(|| panic!("the message is recorded: {messages:?}"));
    assert_eq!(sent["source"], from.as_str());
    assert!(
        sent["destinations"].to_string().contains("ada@example.com"),
        "{sent}"
    );
    assert!(
        sent["body"]
            .as_str()
            .is_some_and(|b| b.contains("confirm/abc")),
        "{sent}"
    );
}
