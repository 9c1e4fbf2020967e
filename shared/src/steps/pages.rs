//! The confirmation page's HTML: small, self-contained, no scripts.

use http::{Response, StatusCode, header};

use crate::messages::escape_html;

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
    response
}

pub(crate) fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape_html(text))
}
