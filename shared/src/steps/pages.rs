//! The confirmation page's HTML: small, self-contained, no scripts.

use http::{Response, StatusCode, header};

use crate::messages::escape_html;

/// What every HTML response may do: no scripts, styles or images from anywhere, forms
/// posting only back here, and no framing (no clickjacking of the Confirm button).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

pub(crate) fn page(status: StatusCode, title: &str, body_html: &str) -> Response<String> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1>{body_html}</main></body></html>",
        title = escape_html(title)
    );
    let mut response = Response::new(html);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    response
}

pub(crate) fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape_html(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_carries_the_hardening_headers() {
        let response = page(StatusCode::OK, "Confirm", "<p>x</p>");
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let csp = header(header::CONTENT_SECURITY_POLICY);
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("script-src"), "no page needs a script: {csp}");
        assert_eq!(header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header(header::X_FRAME_OPTIONS), "DENY");
    }
}
