//! Client names: the Host Name option (12) and the Client FQDN option (81, RFC 4702), as
//! kea-dhcp4 2.2 answers them with DNS updates disabled (`Dhcpv4Srv::processClientName`).
//! Nestor has no DHCP-DDNS client, so this is also what it does when `dhcp-ddns` is enabled.
//!
//! Observed on kea-dhcp4 2.2 (loopback lab, default DDNS parameters):
//! * option 81 wins over option 12 (the reply carries 81 only);
//! * reply flags: N set, S clear, O set when the client set S, E as the client sent it;
//!   RCODE1 = RCODE2 = 0;
//! * the name is lower-cased, sanitized with `hostname-char-set`, and a partial name is
//!   qualified with `ddns-qualifying-suffix` (empty: just made absolute, `host2.`);
//! * an empty name is replaced by `<ddns-generated-prefix>-a-b-c-d` built from the address
//!   (`myhost-192-0-2-12.`);
//! * the lease stores the full name with its trailing dot (`myhost.`);
//! * option 12 is answered lower-cased and sanitized (`MyHost_x` -> `myhostx`), not qualified
//!   when the suffix is empty.
//!
//! A host reservation's `hostname` replaces the client's name in both options.

use std::net::Ipv4Addr;

use nestor_config::dhcp4::{LeaseParams, ReplaceClientName};
use nestor_proto::pkt::{ClientFqdn, FqdnFlags, FqdnName};

/// Kea's default `hostname-char-set`, the only one applied (a custom regular expression is
/// not evaluated: names are then kept as sent).
const DEFAULT_CHAR_SET: &str = "[^A-Za-z0-9.-]";

/// The name a client gets: what the reply carries and what the lease stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientName {
    /// Option code (12 or 81) and payload for the reply.
    pub(crate) option: (u8, Vec<u8>),
    /// The lease's `hostname`.
    pub(crate) lease_hostname: String,
}

/// Lower-cases and replaces characters outside the default set (dots kept).
pub(crate) fn sanitize(raw: &[u8], params: &LeaseParams) -> String {
    let apply = params.hostname_char_set == DEFAULT_CHAR_SET;
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if !apply || b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            out.push(char::from(b.to_ascii_lowercase()));
        } else {
            out.push_str(&params.hostname_char_replacement.to_ascii_lowercase());
        }
    }
    out
}

/// The name for option 12: the reservation's, else the client's, sanitized; qualified with a
/// non-empty `ddns-qualifying-suffix`.
pub(crate) fn hostname_option(
    sent: Option<&[u8]>,
    reserved: Option<&str>,
    params: &LeaseParams,
) -> Option<ClientName> {
    let base = match reserved.filter(|r| !r.is_empty()) {
        Some(r) => sanitize(r.as_bytes(), params),
        None => sanitize(sent?, params),
    };
    let base = base.trim_end_matches('.');
    if base.is_empty() {
        return None;
    }
    let suffix = params.ddns.qualifying_suffix.trim_matches('.');
    let name = if suffix.is_empty() || base.contains('.') {
        base.to_string()
    } else {
        format!("{base}.{suffix}")
    };
    Some(ClientName {
        option: (12, name.clone().into_bytes()),
        lease_hostname: name,
    })
}

/// The answer to a Client FQDN option.
pub(crate) fn fqdn_option(
    fqdn: &ClientFqdn<'_>,
    reserved: Option<&str>,
    params: &LeaseParams,
    addr: Ipv4Addr,
) -> ClientName {
    let suffix = params.ddns.qualifying_suffix.trim_matches('.');
    let sent_empty = fqdn.name.is_empty();
    let replace = match params.ddns.replace_client_name {
        ReplaceClientName::Always => true,
        ReplaceClientName::WhenPresent => !sent_empty,
        ReplaceClientName::Never | ReplaceClientName::WhenNotPresent => false,
    };
    let labels: Vec<String> = if let Some(r) = reserved.filter(|r| !r.is_empty()) {
        sanitize(r.as_bytes(), params)
            .split('.')
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    } else if replace || sent_empty {
        let o = addr.octets();
        vec![format!(
            "{}-{}-{}-{}-{}",
            params.ddns.generated_prefix, o[0], o[1], o[2], o[3]
        )]
    } else {
        fqdn.name
            .labels()
            .map(|l| sanitize(l, params))
            .filter(|l| !l.is_empty())
            .collect()
    };
    let already_full = reserved.is_none_or(str::is_empty)
        && !replace
        && !sent_empty
        && fqdn.name.is_fully_qualified();
    let mut all = labels;
    if !already_full && !suffix.is_empty() {
        all.extend(suffix.split('.').map(str::to_string));
    }
    let mut dotted = all.join(".");
    dotted.push('.');
    let flags = FqdnFlags::N
        | if fqdn.flags.s() { FqdnFlags::O } else { 0 }
        | if fqdn.flags.e() { FqdnFlags::E } else { 0 };
    let mut payload = vec![flags, 0, 0];
    if matches!(fqdn.name, FqdnName::Wire { .. }) {
        for l in &all {
            // Labels come from a validated name or from the configuration; over-long ones are
            // cut rather than producing an invalid encoding.
            let bytes = l.as_bytes();
            let len = bytes.len().min(63);
            payload.push(len as u8);
            payload.extend_from_slice(bytes.get(..len).unwrap_or_default());
        }
        payload.push(0);
    } else {
        payload.extend_from_slice(dotted.as_bytes());
    }
    ClientName {
        option: (81, payload),
        lease_hostname: dotted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};

    fn params(extra: &str) -> LeaseParams {
        let text = format!(r#"{{"Dhcp4":{{{extra}"valid-lifetime":10}}}}"#);
        nestor_config::parse_dhcp4_str_with(&text, "t", &Default::default())
            .map_err(|e| e.to_string())
            .unwrap()
            .config
            .global_params
    }

    fn answer(value: &[u8], p: &LeaseParams, addr: Ipv4Addr) -> ClientName {
        let mut b = MessageBuilder::client(MessageType::Discover, 1, &[1; 6]).unwrap();
        b.set_option(81, value).unwrap();
        let mut buf = Vec::new();
        b.encode_into(&mut buf, &EncodeLimits::unlimited()).unwrap();
        let pkt = Packet::parse(&buf).unwrap();
        let fqdn = pkt.client_fqdn().unwrap().unwrap();
        fqdn_option(&fqdn, None, p, addr)
    }

    #[test]
    fn fqdn_answers_observed_on_kea() {
        let p = params("");
        let a = Ipv4Addr::new(192, 0, 2, 12);
        let n = answer(b"\x05\x00\x00\x06MyHost\x00", &p, a);
        assert_eq!(n.option.1, b"\x0e\x00\x00\x06myhost\x00");
        assert_eq!(n.lease_hostname, "myhost.");
        let n = answer(b"\x00\x00\x00host2.example.com", &p, a);
        assert_eq!(n.option.1, b"\x08\x00\x00host2.example.com.");
        let n = answer(b"\x04\x00\x00\x05host3", &p, a);
        assert_eq!(n.option.1, b"\x0c\x00\x00\x05host3\x00");
        let n = answer(b"\x01\x00\x00Host2", &p, a);
        assert_eq!(n.option.1, b"\x0a\x00\x00host2.");
        assert_eq!(n.lease_hostname, "host2.");
        let n = answer(b"\x05\x00\x00", &p, a);
        assert_eq!(n.option.1, b"\x0e\x00\x00\x11myhost-192-0-2-12\x00");
        // A qualifying suffix completes partial names.
        let p = params(r#""ddns-qualifying-suffix":"example.org","#);
        let n = answer(b"\x04\x00\x00\x05host3", &p, a);
        assert_eq!(n.lease_hostname, "host3.example.org.");
        assert_eq!(n.option.1, b"\x0c\x00\x00\x05host3\x07example\x03org\x00");
    }

    #[test]
    fn hostname_option_rules() {
        let p = params("");
        let n = hostname_option(Some(b"MyHost_x"), None, &p).unwrap();
        assert_eq!(n.option, (12, b"myhostx".to_vec()));
        assert_eq!(hostname_option(None, None, &p), None);
        let n = hostname_option(Some(b"x"), Some("Resv"), &p).unwrap();
        assert_eq!(n.lease_hostname, "resv");
        let p = params(r#""ddns-qualifying-suffix":"example.org","#);
        let n = hostname_option(Some(b"h"), None, &p).unwrap();
        assert_eq!(n.lease_hostname, "h.example.org");
    }
}
