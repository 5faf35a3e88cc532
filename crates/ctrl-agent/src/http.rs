//! The HTTP/1.x subset kea-ctrl-agent speaks, as values: request heads in, responses out. No I/O.
//!
//! Kea 2.2's agent (`src/lib/http`, reference 3.4, checked against the real agent) accepts only
//! `POST` with `Content-Type: application/json` (compared case-insensitively, parameters such as
//! `; charset=utf-8` refused) and a `Content-Length` (no chunked bodies), on any path, in
//! HTTP/1.0 or 1.1. Every HTTP-level refusal is `400 Bad Request` with the JSON body
//! `{ "result": 400, "text": "Bad Request" }` and closes the connection (a `401` does not). Responses carry exactly
//! `Content-Length`, `Content-Type: application/json` and `Date`, in that order (plus
//! `WWW-Authenticate` on a 401). A 1.1 connection stays open unless the client sends
//! `Connection: close`; a 1.0 one closes unless it sends `Connection: keep-alive`.
//!
//! Kea 2.2 has no size limits at all (a 70 MB body is read); Nestor answers `413` above
//! [`MAX_BODY_SIZE`] and `431` above [`MAX_HEAD_SIZE`] of headers, with the same body shape.

use std::time::{SystemTime, UNIX_EPOCH};

/// Largest request body accepted: 16 MiB holds a `config-set` of tens of thousands of subnets
/// and reservations, while bounding memory to `MAX_BODY_SIZE` x connections.
pub const MAX_BODY_SIZE: usize = 16 * 1024 * 1024;

/// Largest request line plus headers accepted.
pub const MAX_HEAD_SIZE: usize = 64 * 1024;

/// Most headers parsed in one request (more is refused as malformed).
const MAX_HEADERS: usize = 64;

/// HTTP version of a request, echoed in its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0 (also used for requests too broken to tell, as Kea does).
    Http10,
    /// HTTP/1.1.
    Http11,
}

impl Version {
    fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }
}

/// The response statuses the agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 200: the body is a JSON list of answers.
    Ok,
    /// 400: not a request Kea accepts.
    BadRequest,
    /// 401: Basic credentials missing or wrong.
    Unauthorized,
    /// 408: the request did not arrive within the request timeout.
    RequestTimeout,
    /// 413: body larger than [`MAX_BODY_SIZE`] (a Nestor addition).
    PayloadTooLarge,
    /// 431: head larger than [`MAX_HEAD_SIZE`] (a Nestor addition).
    HeaderFieldsTooLarge,
    /// 503: the agent is at its connection limit (a Nestor addition).
    ServiceUnavailable,
}

impl Status {
    /// The numeric code.
    pub const fn code(self) -> u16 {
        match self {
            Self::Ok => 200,
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::RequestTimeout => 408,
            Self::PayloadTooLarge => 413,
            Self::HeaderFieldsTooLarge => 431,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The reason phrase, also the `text` of the error body.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::BadRequest => "Bad Request",
            Self::Unauthorized => "Unauthorized",
            Self::RequestTimeout => "Request Timeout",
            Self::PayloadTooLarge => "Payload Too Large",
            Self::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Self::ServiceUnavailable => "Service Unavailable",
        }
    }

    /// Kea's body for an HTTP-level error: `{ "result": 400, "text": "Bad Request" }`.
    pub fn error_body(self) -> String {
        format!(
            "{{ \"result\": {}, \"text\": \"{}\" }}",
            self.code(),
            self.reason()
        )
    }
}

/// What the agent needs from a request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, as sent.
    pub method: String,
    /// The protocol version.
    pub version: Version,
    /// The `Content-Type` value, as sent.
    pub content_type: Option<String>,
    /// The `Content-Length`, when present and a number.
    pub content_length: Option<usize>,
    /// A `Transfer-Encoding` header was present (Kea refuses chunked bodies).
    pub transfer_encoding: bool,
    /// The `Authorization` value, as sent.
    pub authorization: Option<String>,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// Bytes of the head, including the blank line.
    pub head_len: usize,
}

impl RequestHead {
    /// Kea's acceptance rule for a request, before its body is looked at: POST, JSON content
    /// type, and a length-delimited body.
    pub fn is_acceptable(&self) -> bool {
        self.method == "POST"
            && self
                .content_type
                .as_deref()
                .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"))
            && self.content_length.is_some()
            && !self.transfer_encoding
    }
}

/// Why a head cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// Not HTTP/1.x, or a header is unreadable.
    #[error("malformed HTTP request head")]
    Malformed,
    /// The head is longer than [`MAX_HEAD_SIZE`].
    #[error("HTTP request head larger than {MAX_HEAD_SIZE} bytes")]
    TooLarge,
}

/// Parses a request head from the start of `buf`: `Ok(None)` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<RequestHead>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_SIZE => {
            return Err(HeadError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Malformed),
    };
    if head_len > MAX_HEAD_SIZE {
        return Err(HeadError::TooLarge);
    }
    let version = match request.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(HeadError::Malformed),
    };
    let mut head = RequestHead {
        method: request.method.unwrap_or_default().to_owned(),
        version,
        content_type: None,
        content_length: None,
        transfer_encoding: false,
        authorization: None,
        keep_alive: version == Version::Http11,
        head_len,
    };
    for header in request.headers.iter() {
        let value = || String::from_utf8_lossy(header.value).trim().to_owned();
        let name = header.name;
        if name.eq_ignore_ascii_case("content-type") {
            head.content_type = Some(value());
        } else if name.eq_ignore_ascii_case("content-length") {
            // Two different lengths are a request smuggling attempt: refuse the request.
            let length = value().parse().map_err(|_| HeadError::Malformed)?;
            if head.content_length.is_some_and(|old| old != length) {
                return Err(HeadError::Malformed);
            }
            head.content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.transfer_encoding = true;
        } else if name.eq_ignore_ascii_case("authorization") {
            head.authorization = Some(value());
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value().split(',') {
                let token = token.trim();
                if token.eq_ignore_ascii_case("close") {
                    head.keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    head.keep_alive = true;
                }
            }
        }
    }
    Ok(Some(head))
}

/// A response ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status.
    pub status: Status,
    /// The JSON body.
    pub body: String,
    /// The realm of a `WWW-Authenticate: Basic realm="..."` challenge.
    pub challenge_realm: Option<String>,
}

impl Response {
    /// A 200 with a JSON list body.
    pub fn ok(body: String) -> Self {
        Self {
            status: Status::Ok,
            body,
            challenge_realm: None,
        }
    }

    /// An HTTP-level error with Kea's body.
    pub fn error(status: Status) -> Self {
        Self {
            status,
            body: status.error_body(),
            challenge_realm: None,
        }
    }

    /// A 401 challenging for Basic credentials in `realm`.
    pub fn unauthorized(realm: &str) -> Self {
        Self {
            challenge_realm: Some(realm.to_owned()),
            ..Self::error(Status::Unauthorized)
        }
    }

    /// The bytes on the wire, with Kea's header set and order; `now` gives the `Date`.
    pub fn encode(&self, version: Version, now: SystemTime) -> Vec<u8> {
        let mut head = format!(
            "{} {} {}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nDate: {}\r\n",
            version.as_str(),
            self.status.code(),
            self.status.reason(),
            self.body.len(),
            http_date(now)
        );
        if let Some(realm) = &self.challenge_realm {
            head.push_str(&format!("WWW-Authenticate: Basic realm=\"{realm}\"\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(self.body.as_bytes());
        out
    }
}

/// RFC 9110 IMF-fixdate (`Wed, 25 Nov 2026 19:28:56 GMT`), the format of Kea's `Date`.
pub fn http_date(now: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("Thu");
    let month_name = MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`, restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn head(raw: &str) -> RequestHead {
        parse_head(raw.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn date_matches_kea_capture() {
        // From the seed capture: `Date: Wed, 25 Nov 2026 19:28:56 GMT`.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_634_936);
        assert_eq!(http_date(t), "Wed, 25 Nov 2026 19:28:56 GMT");
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        // A leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(http_date(t), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn response_bytes_are_keas() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_634_936);
        let body = r#"[ { "result": 0, "text": "IPv4 lease added." } ]"#;
        let bytes = Response::ok(body.to_owned()).encode(Version::Http11, t);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Length: 48\r\nContent-Type: application/json\r\n\
             Date: Wed, 25 Nov 2026 19:28:56 GMT\r\n\r\n\
             [ { \"result\": 0, \"text\": \"IPv4 lease added.\" } ]"
        );
        let bytes = Response::unauthorized("myrealm").encode(Version::Http11, t);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\nContent-Length: 41\r\n"));
        assert!(text.contains("GMT\r\nWWW-Authenticate: Basic realm=\"myrealm\"\r\n\r\n"));
        assert!(text.ends_with("{ \"result\": 401, \"text\": \"Unauthorized\" }"));
        assert_eq!(
            Status::BadRequest.error_body(),
            r#"{ "result": 400, "text": "Bad Request" }"#
        );
    }

    #[test]
    fn acceptance_rule() {
        let ok = head(
            "POST /a/b HTTP/1.1\r\nHost: x\r\ncontent-type: Application/JSON\r\nContent-Length: 2\r\n\r\n{}",
        );
        assert!(ok.is_acceptable());
        assert!(ok.keep_alive);
        assert_eq!(ok.content_length, Some(2));
        for bad in [
            "GET / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Type: application/json\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
        ] {
            assert!(!head(bad).is_acceptable(), "{bad}");
        }
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!head("POST / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("POST / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(!head("POST / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
    }

    #[test]
    fn partial_malformed_and_oversized_heads() {
        assert_eq!(parse_head(b"POST / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        assert_eq!(
            parse_head(b"hello world\r\n\r\n"),
            Err(HeadError::Malformed)
        );
        assert_eq!(
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Err(HeadError::Malformed)
        );
        assert_eq!(
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(HeadError::Malformed)
        );
        let mut big = b"POST / HTTP/1.1\r\nX-A: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD_SIZE));
        assert_eq!(parse_head(&big), Err(HeadError::TooLarge));
    }
}
