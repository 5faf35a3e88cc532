//! Building a reply: options with Kea's precedence and PRL filter, lifetimes and T1/T2, fixed
//! fields, server identifier and destination (reference 4.3 "Lifetimes and timers",
//! "option-data", "Fixed fields"; 6.3; 6.7).

use std::net::{Ipv4Addr, SocketAddrV4};

use nestor_config::Dhcp4Config;
use nestor_config::dhcp4::{ConfiguredOption, LeaseParams, Lifetime, Reservation, Subnet4};
use nestor_proto::pkt::{CodeSet, MessageBuilder, MessageType, Packet, code};

use super::RecvMeta;
use super::classify::ClientClasses;

/// The server port relays listen on (RFC 2131 section 4.1).
pub const SERVER_PORT: u16 = 67;
/// The client port (RFC 2131 section 4.1).
pub const CLIENT_PORT: u16 = 68;

/// Where a reply goes (Kea's `Dhcpv4Srv::adjustRemoteAddr`, reference 6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// To the relay (giaddr) on port 67, or on the relay's source port when it sent the RFC 8357
    /// relay-port sub-option.
    Relay(SocketAddrV4),
    /// To a client that has an address (ciaddr, or the source of an INFORM), port 68.
    Unicast(SocketAddrV4),
    /// To 255.255.255.255:68 on the receiving interface.
    Broadcast,
    /// To `ip`:68 framed for `mac` at layer 2 (raw sockets only: the client has no address yet,
    /// so the kernel could not resolve it).
    L2Unicast {
        ip: Ipv4Addr,
        mac: [u8; 16],
        mac_len: u8,
    },
}

/// The option levels of one exchange, highest precedence first: host reservation, pool, subnet,
/// shared network, client classes (in the packet's class order), global.
pub(crate) struct OptionLevels<'c> {
    levels: [&'c [ConfiguredOption]; 5],
    classes: Vec<&'c [ConfiguredOption]>,
    global: &'c [ConfiguredOption],
}

impl<'c> OptionLevels<'c> {
    pub(crate) fn new(
        cfg: &'c Dhcp4Config,
        host: Option<&'c Reservation>,
        subnet: Option<&'c Subnet4>,
        yiaddr: Ipv4Addr,
        classes: &ClientClasses,
    ) -> Self {
        let pool = subnet
            .filter(|_| !yiaddr.is_unspecified())
            .and_then(|s| s.pools.iter().find(|p| p.contains(yiaddr)));
        let network = subnet
            .and_then(|s| s.shared_network)
            .and_then(|n| cfg.shared_networks.get(n));
        let class_opts = classes
            .iter()
            .filter_map(|name| cfg.client_classes.iter().find(|c| c.name == name))
            .map(|c| c.options.as_slice())
            .filter(|o| !o.is_empty())
            .collect();
        OptionLevels {
            levels: [
                host.map_or(&[][..], |h| &h.options),
                pool.map_or(&[][..], |p| &p.options),
                subnet.map_or(&[][..], |s| &s.options),
                network.map_or(&[][..], |n| &n.options),
                &[],
            ],
            classes: class_opts,
            global: &cfg.options,
        }
    }

    fn all(&self) -> impl Iterator<Item = &'c ConfiguredOption> + '_ {
        self.levels
            .iter()
            .copied()
            .chain(self.classes.iter().copied())
            .chain(std::iter::once(self.global))
            .flatten()
            .filter(|o| o.space == "dhcp4")
    }

    /// The highest-precedence configured value of `code`.
    pub(crate) fn find(&self, code: u8) -> Option<&'c ConfiguredOption> {
        self.all().find(|o| o.code == code)
    }

    /// The configured `dhcp-server-identifier`, from any level but the host reservation
    /// (reference 6.7).
    pub(crate) fn server_id(&self) -> Option<Ipv4Addr> {
        self.levels
            .iter()
            .skip(1)
            .copied()
            .chain(self.classes.iter().copied())
            .chain(std::iter::once(self.global))
            .flatten()
            .find(|o| o.space == "dhcp4" && o.code == code::SERVER_ID)
            .and_then(|o| <[u8; 4]>::try_from(o.payload.as_slice()).ok())
            .map(Ipv4Addr::from)
    }

    /// Adds the options a client gets besides the lease ones: those it requested (option 55),
    /// those configured with `always-send`, and routers, DNS servers and domain name when
    /// configured (Kea's `appendRequestedOptions` + `appendBasicOptions`). Codes already in
    /// `msg` are left alone; options the server computes itself are never taken from the
    /// configuration.
    pub(crate) fn append(&self, msg: &mut MessageBuilder, prl: &[u8]) {
        const COMPUTED: CodeSet = CodeSet::from_codes(&[
            code::PAD,
            code::SUBNET_MASK,
            code::REQUESTED_ADDRESS,
            code::LEASE_TIME,
            code::OVERLOAD,
            code::MESSAGE_TYPE,
            code::SERVER_ID,
            code::PARAMETER_REQUEST_LIST,
            code::RENEWAL_TIME,
            code::REBINDING_TIME,
            code::CLIENT_ID,
            code::RELAY_AGENT_INFO,
            code::END,
        ]);
        const BASIC: [u8; 3] = [code::ROUTERS, code::DOMAIN_NAME_SERVERS, code::DOMAIN_NAME];
        let mut done = CodeSet::new();
        let put = |msg: &mut MessageBuilder, o: &ConfiguredOption, done: &mut CodeSet| {
            if COMPUTED.contains(o.code) || done.contains(o.code) || msg.option(o.code).is_some() {
                return;
            }
            done.insert(o.code);
            // A configured payload is at most what the config loader accepted; a BuildError
            // here can only be a reserved code, already excluded above.
            let _ = msg.set_option(o.code, &o.payload);
        };
        for &c in prl.iter().chain(BASIC.iter()) {
            if let Some(o) = self.find(c) {
                put(msg, o, &mut done);
            }
        }
        for o in self.all().filter(|o| o.always_send) {
            // The first (highest-precedence) always-send definition of a code wins; a
            // lower-level always-send does not override a higher-level value.
            if let Some(top) = self.find(o.code) {
                put(msg, top, &mut done);
            }
        }
    }
}

/// The valid lifetime of a lease (Kea's `AllocEngine::getValidLft`): the first client class
/// defining a lifetime, else the subnet's, with the client's option 51 clamped to
/// `[min, max]`.
pub(crate) fn valid_lifetime(
    cfg: &Dhcp4Config,
    params: &LeaseParams,
    classes: &ClientClasses,
    requested: Option<u32>,
) -> u32 {
    let class_lft = classes
        .iter()
        .filter_map(|name| cfg.client_classes.iter().find(|c| c.name == name))
        .find(|c| {
            c.params.valid_lifetime.is_some()
                || c.params.min_valid_lifetime.is_some()
                || c.params.max_valid_lifetime.is_some()
        })
        .map(|c| {
            let p = &c.params;
            let default = p.valid_lifetime.unwrap_or(params.valid_lifetime.default);
            Lifetime {
                min: p.min_valid_lifetime.unwrap_or(default),
                default,
                max: p.max_valid_lifetime.unwrap_or(default),
            }
        });
    let lft = class_lft.unwrap_or(params.valid_lifetime);
    match requested {
        Some(r) if r < lft.min => lft.min,
        Some(r) if r > lft.max => lft.max,
        Some(r) => r,
        None => lft.default,
    }
}

/// T1 and T2 for a lease of `valid` seconds (Kea's `Dhcpv4Srv::setTeeTimes`): explicit timers
/// win, else computed with `calculate-tee-times`; T2 is sent only if `0 < T2 < valid`, T1 only if
/// `0 < T1 <` (T2 if sent, else valid).
pub(crate) fn tee_times(params: &LeaseParams, valid: u32) -> (Option<u32>, Option<u32>) {
    let calc = |pct: f64| -> u32 {
        let v = (pct * f64::from(valid)).round();
        if v <= 0.0 {
            0
        } else if v >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            v as u32
        }
    };
    let t2 = params
        .rebind_timer
        .or_else(|| params.calculate_tee_times.then(|| calc(params.t2_percent)))
        .unwrap_or(0);
    let mut ceiling = valid;
    let t2 = (t2 > 0 && t2 < ceiling).then_some(t2);
    if let Some(t) = t2 {
        ceiling = t;
    }
    let t1 = params
        .renew_timer
        .or_else(|| params.calculate_tee_times.then(|| calc(params.t1_percent)))
        .unwrap_or(0);
    let t1 = (t1 > 0 && t1 < ceiling).then_some(t1);
    (t1, t2)
}

/// The subnet mask of a prefix length.
pub(crate) fn mask(prefix_len: u8) -> Ipv4Addr {
    let bits = if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len.min(32)))
    };
    Ipv4Addr::from(bits)
}

/// Sets siaddr, sname and file (Kea's `setFixedFields`): subnet values (already inherited from
/// the shared network and global level), overridden field by field by the first client class
/// that sets each, then by the host reservation.
pub(crate) fn set_fixed_fields(
    msg: &mut MessageBuilder,
    cfg: &Dhcp4Config,
    params: Option<&LeaseParams>,
    classes: &ClientClasses,
    host: Option<&Reservation>,
) {
    let global = &cfg.global_params;
    let p = params.unwrap_or(global);
    let mut next_server = p.next_server;
    let mut sname = p.server_hostname.as_str();
    let mut file = p.boot_file_name.as_str();
    let (mut got_ns, mut got_sname, mut got_file) = (false, false, false);
    for c in classes
        .iter()
        .filter_map(|name| cfg.client_classes.iter().find(|c| c.name == name))
    {
        if !got_ns && let Some(ns) = c.params.next_server.filter(|a| !a.is_unspecified()) {
            next_server = ns;
            got_ns = true;
        }
        if !got_sname
            && let Some(s) = c
                .params
                .server_hostname
                .as_deref()
                .filter(|s| !s.is_empty())
        {
            sname = s;
            got_sname = true;
        }
        if !got_file && let Some(f) = c.params.boot_file_name.as_deref().filter(|s| !s.is_empty()) {
            file = f;
            got_file = true;
        }
    }
    if let Some(h) = host {
        if let Some(ns) = h.next_server.filter(|a| !a.is_unspecified()) {
            next_server = ns;
        }
        if !h.server_hostname.is_empty() {
            sname = &h.server_hostname;
        }
        if !h.boot_file_name.is_empty() {
            file = &h.boot_file_name;
        }
    }
    msg.set_siaddr(next_server);
    // Lengths were checked against the field sizes when the configuration was loaded; an
    // oversized value is left out rather than failing the reply.
    if !sname.is_empty() {
        let _ = msg.set_sname(sname.as_bytes());
    }
    if !file.is_empty() {
        let _ = msg.set_file(file.as_bytes());
    }
}

/// The server identifier: configured, else the address the query arrived on, else (broadcast
/// reception) the receiving interface's first address (reference 6.7).
pub(crate) fn server_id(configured: Option<Ipv4Addr>, meta: &RecvMeta) -> Ipv4Addr {
    configured
        .or_else(|| {
            (!meta.broadcast && !meta.local_addr.is_unspecified()).then_some(meta.local_addr)
        })
        .or_else(|| meta.iface_addrs.first().copied())
        .unwrap_or(meta.local_addr)
}

/// Where the reply to `query` goes (Kea's `adjustRemoteAddr`). `reply_type` and `yiaddr` are
/// the reply's; for an INFORM relayed without ciaddr, the caller sets the broadcast flag.
pub(crate) fn destination(
    query: &Packet<'_>,
    meta: &RecvMeta,
    reply_type: MessageType,
    yiaddr: Ipv4Addr,
    query_type: MessageType,
) -> Destination {
    let giaddr = query.giaddr();
    let ciaddr = query.ciaddr();
    let relay_port = || {
        if query.relay_agent_info().is_some_and(|r| r.has_relay_port()) {
            meta.src.port()
        } else {
            SERVER_PORT
        }
    };
    if query_type == MessageType::Inform {
        return if !ciaddr.is_unspecified() {
            Destination::Unicast(SocketAddrV4::new(ciaddr, CLIENT_PORT))
        } else if !giaddr.is_unspecified() {
            Destination::Relay(SocketAddrV4::new(giaddr, relay_port()))
        } else {
            Destination::Unicast(SocketAddrV4::new(*meta.src.ip(), meta.src.port()))
        };
    }
    if !giaddr.is_unspecified() {
        Destination::Relay(SocketAddrV4::new(giaddr, relay_port()))
    } else if !ciaddr.is_unspecified() {
        Destination::Unicast(SocketAddrV4::new(ciaddr, CLIENT_PORT))
    } else if reply_type == MessageType::Nak {
        Destination::Broadcast
    } else if !yiaddr.is_unspecified() {
        if query.broadcast() || !meta.raw {
            Destination::Broadcast
        } else {
            let mut mac = [0u8; 16];
            let hw = query.chaddr();
            if let Some(dst) = mac.get_mut(..hw.len()) {
                dst.copy_from_slice(hw);
            }
            Destination::L2Unicast {
                ip: yiaddr,
                mac,
                mac_len: u8::try_from(hw.len()).unwrap_or(16),
            }
        }
    } else {
        Destination::Unicast(SocketAddrV4::new(*meta.src.ip(), meta.src.port()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_config::parse_dhcp4_str_with;
    use nestor_proto::pkt::EncodeLimits;
    use std::sync::Arc;

    fn cfg(text: &str) -> Dhcp4Config {
        parse_dhcp4_str_with(text, "t", &Default::default())
            .map_err(|e| e.to_string())
            .unwrap()
            .config
    }

    fn meta(raw: bool) -> RecvMeta {
        RecvMeta {
            iface: Arc::from("eth0"),
            iface_addrs: Arc::from([Ipv4Addr::new(198, 18, 0, 1)]),
            local_addr: Ipv4Addr::UNSPECIFIED,
            src: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 9), 67),
            broadcast: true,
            raw,
        }
    }

    #[test]
    fn tee_time_rules() {
        let c = cfg(r#"{"Dhcp4":{"renew-timer":1200,"rebind-timer":2400,"valid-lifetime":3600}}"#);
        assert_eq!(tee_times(&c.global_params, 3600), (Some(1200), Some(2400)));
        // T2 not below valid: not sent; T1 then bounded by valid.
        assert_eq!(tee_times(&c.global_params, 2400), (Some(1200), None));
        assert_eq!(tee_times(&c.global_params, 1000), (None, None));
        let c = cfg(r#"{"Dhcp4":{"calculate-tee-times":true,"valid-lifetime":1000}}"#);
        assert_eq!(tee_times(&c.global_params, 1000), (Some(500), Some(875)));
        let c = cfg(r#"{"Dhcp4":{"valid-lifetime":1000}}"#);
        assert_eq!(tee_times(&c.global_params, 1000), (None, None));
    }

    #[test]
    fn lifetime_clamping_and_class_override() {
        let c = cfg(
            r#"{"Dhcp4":{"valid-lifetime":4000,"min-valid-lifetime":4000,"max-valid-lifetime":4000,
            "client-classes":[{"name":"short","valid-lifetime":60}]}}"#,
        );
        let none = ClientClasses::default();
        // Observed in the lab (reference 4.3): min = max = 4000, a request of 100 s got 4000.
        assert_eq!(valid_lifetime(&c, &c.global_params, &none, Some(100)), 4000);
        assert_eq!(valid_lifetime(&c, &c.global_params, &none, None), 4000);
        let mut short = ClientClasses::default();
        short.insert(Arc::from("short"));
        assert_eq!(valid_lifetime(&c, &c.global_params, &short, None), 60);
        assert_eq!(valid_lifetime(&c, &c.global_params, &short, Some(7)), 60);
        assert_eq!(mask(16), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(mask(0), Ipv4Addr::UNSPECIFIED);
        assert_eq!(mask(32), Ipv4Addr::BROADCAST);
    }

    #[test]
    fn option_precedence_prl_and_always_send() {
        let c = cfg(r#"{"Dhcp4":{
            "option-data":[{"name":"domain-name","data":"global.example"},
                           {"name":"ntp-servers","data":"192.0.2.1","always-send":true},
                           {"name":"time-offset","data":"1"},
                           {"name":"default-ip-ttl","data":"0xf0"}],
            "client-classes":[{"name":"c","option-data":[{"name":"domain-name","data":"class.example"},{"name":"time-offset","data":"2"}]}],
            "subnet4":[{"id":1,"subnet":"10.0.0.0/24","pools":[{"pool":"10.0.0.10-10.0.0.20",
                "option-data":[{"name":"routers","data":"10.0.0.254"}]}],
                "option-data":[{"name":"routers","data":"10.0.0.1"},{"name":"domain-name","data":"subnet.example"}],
                "reservations":[{"hw-address":"01:02:03:04:05:06","option-data":[{"name":"time-offset","data":"3"}]}]}]}}"#);
        let s = &c.subnets[0];
        let mut classes = ClientClasses::default();
        classes.insert(Arc::from("c"));
        let levels = OptionLevels::new(
            &c,
            Some(&s.reservations[0]),
            Some(s),
            Ipv4Addr::new(10, 0, 0, 10),
            &classes,
        );
        let mut msg = MessageBuilder::new(2);
        levels.append(&mut msg, &[2, 15]);
        // pool > subnet for routers (sent unrequested), subnet > class > global for 15,
        // host > class > global for 2 (requested), always-send 42, unrequested 23 absent.
        assert_eq!(msg.option(3), Some(&[10, 0, 0, 254][..]));
        assert_eq!(msg.option(15), Some(&b"subnet.example"[..]));
        assert_eq!(msg.option(2), Some(&[0, 0, 0, 3][..]));
        assert_eq!(msg.option(42), Some(&[192, 0, 2, 1][..]));
        assert_eq!(msg.option(23), None);
        assert_eq!(levels.server_id(), None);
        let mut buf = Vec::new();
        msg.encode_into(&mut buf, &EncodeLimits::unlimited())
            .unwrap();
    }

    #[test]
    fn destinations() {
        use nestor_proto::pkt::MessageBuilder as B;
        let enc = |b: &B| {
            let mut v = Vec::new();
            b.encode_into(&mut v, &EncodeLimits::unlimited()).unwrap();
            v
        };
        let hw = [2, 0, 0, 0, 0, 1];
        let mut b = B::client(MessageType::Discover, 1, &hw).unwrap();
        let y = Ipv4Addr::new(198, 18, 0, 50);
        let v = enc(&b);
        let p = Packet::parse(&v).unwrap();
        let d = destination(
            &p,
            &meta(true),
            MessageType::Offer,
            y,
            MessageType::Discover,
        );
        assert!(matches!(d, Destination::L2Unicast { ip, mac_len: 6, .. } if ip == y));
        assert_eq!(
            destination(
                &p,
                &meta(false),
                MessageType::Offer,
                y,
                MessageType::Discover
            ),
            Destination::Broadcast
        );
        assert_eq!(
            destination(
                &p,
                &meta(true),
                MessageType::Nak,
                Ipv4Addr::UNSPECIFIED,
                MessageType::Request
            ),
            Destination::Broadcast
        );
        b.set_broadcast(true);
        let v = enc(&b);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(
            destination(
                &p,
                &meta(true),
                MessageType::Offer,
                y,
                MessageType::Discover
            ),
            Destination::Broadcast
        );
        b.set_giaddr(Ipv4Addr::new(198, 18, 1, 1));
        let v = enc(&b);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(
            destination(&p, &meta(true), MessageType::Nak, y, MessageType::Request),
            Destination::Relay(SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 1), 67))
        );
        // RFC 8357 relay-port sub-option: answer to the relay's source port.
        b.set_option(82, &[19, 0]).unwrap();
        let v = enc(&b);
        let p = Packet::parse(&v).unwrap();
        let mut m = meta(true);
        m.src = SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 1), 3000);
        assert_eq!(
            destination(&p, &m, MessageType::Ack, y, MessageType::Request),
            Destination::Relay(SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 1), 3000))
        );
        let mut b = B::client(MessageType::Request, 1, &hw).unwrap();
        b.set_ciaddr(y);
        let v = enc(&b);
        let p = Packet::parse(&v).unwrap();
        assert_eq!(
            destination(&p, &meta(true), MessageType::Ack, y, MessageType::Request),
            Destination::Unicast(SocketAddrV4::new(y, 68))
        );
        assert_eq!(server_id(None, &meta(true)), Ipv4Addr::new(198, 18, 0, 1));
        let mut m = meta(true);
        m.broadcast = false;
        m.local_addr = Ipv4Addr::new(127, 0, 0, 1);
        assert_eq!(server_id(None, &m), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(server_id(Some(y), &m), y);
    }
}
