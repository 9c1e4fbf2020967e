//! Posting to merchants' webhooks from inside AWS, where an address chosen by someone else
//! could reach inward: no redirects followed, host names that resolve to a private,
//! loopback or link-local address refused (the URL itself may hold no IP address, see
//! [`WebhookUrl`]), and a short timeout. The local stack, whose webhooks are on
//! 127.0.0.1, turns the address check off.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::WebhookUrl;
use crate::ports::{Posted, Webhooks};

pub const SIGNATURE_HEADER: &str = "hashbuy-signature";
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct HttpWebhooks(reqwest::Client);

impl HttpWebhooks {
    /// `private_ok` lets names resolve to private addresses: the local stack only.
    pub fn new(private_ok: bool) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(super::https::tls()?)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .user_agent("hashbuy-webhooks/1");
        if !private_ok {
            builder = builder.dns_resolver(PublicOnly);
        }
        builder.build().map(Self).map_err(|e| e.to_string())
    }
}

#[async_trait]
impl Webhooks for HttpWebhooks {
    async fn post(&self, url: &WebhookUrl, signature: &str, body: &str) -> Posted {
        let sent = self
            .0
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(response) => Posted::Status(response.status().as_u16()),
            // The error names the host, not the body or the signature.
            Err(error) => Posted::Unreachable(error.without_url().to_string()),
        }
    }
}

/// Resolves as the system does, keeping only public addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local
/// (the metadata endpoints), shared (carrier-grade NAT), documentation, benchmarking,
/// multicast or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn only_public_addresses_are_reached() {
        for inward in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "198.18.0.1",
            "192.0.0.1",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "2001:db8::1",
        ] {
            let ip: IpAddr = inward.parse().expect("ip");
            assert!(!is_public(ip), "{inward}");
        }
        for outward in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            let ip: IpAddr = outward.parse().expect("ip");
            assert!(is_public(ip), "{outward}");
        }
    }

    #[tokio::test]
    async fn a_name_for_a_private_address_is_not_resolved() {
        let resolved = PublicOnly
            .resolve(Name::from_str("localhost").expect("name"))
            .await;
        assert!(resolved.is_err(), "localhost resolves only inward");
    }
}
