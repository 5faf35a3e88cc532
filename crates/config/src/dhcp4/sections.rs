//! The single-map sections of `Dhcp4`: `interfaces-config`, `lease-database` /
//! `hosts-database(s)`, `expired-leases-processing`, `multi-threading`, `dhcp-queue-control`,
//! `sanity-checks`, `dhcp-ddns`. Keys, keywords and defaults as Kea 2.2 (reference 4.2, 4.3).

use std::net::Ipv4Addr;

use crate::error::{ErrorKind, WarningKind};
use crate::json::Node;
use crate::reader::{Ctx, MapReader};

/// `dhcp-socket-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketType {
    /// AF_PACKET: sees broadcast from clients without an address (Kea's default).
    Raw,
    /// Plain UDP: relayed and unicast traffic only.
    Udp,
}

/// `outbound-interface`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboundInterface {
    SameAsInbound,
    UseRouting,
}

/// One `interfaces` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterfaceSpec {
    /// `*`: every interface.
    All,
    /// `eth0`.
    Name(String),
    /// `eth0/192.0.2.1`: one address of the interface.
    Address(String, Ipv4Addr),
}

impl InterfaceSpec {
    /// Kea's spelling.
    pub fn kea_name(&self) -> String {
        match self {
            InterfaceSpec::All => "*".into(),
            InterfaceSpec::Name(n) => n.clone(),
            InterfaceSpec::Address(n, a) => format!("{n}/{a}"),
        }
    }
}

/// `interfaces-config`.
#[derive(Clone, Debug, PartialEq)]
pub struct InterfacesConfig {
    /// Empty: no DHCP sockets (the server still runs, as Kea).
    pub interfaces: Vec<InterfaceSpec>,
    pub socket_type: SocketType,
    /// Whether `dhcp-socket-type` was given (Kea logs the default otherwise).
    pub socket_type_explicit: bool,
    pub outbound_interface: OutboundInterface,
    pub re_detect: bool,
    pub service_sockets_require_all: bool,
    pub service_sockets_retry_wait_time: u32,
    pub service_sockets_max_retries: u32,
    pub user_context: Option<serde_json::Value>,
}

impl Default for InterfacesConfig {
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            socket_type: SocketType::Raw,
            socket_type_explicit: false,
            outbound_interface: OutboundInterface::SameAsInbound,
            re_detect: true,
            service_sockets_require_all: false,
            service_sockets_retry_wait_time: 5000,
            service_sockets_max_retries: 0,
            user_context: None,
        }
    }
}

pub(crate) fn parse_interfaces(ctx: &mut Ctx, node: &Node, path: &str) -> InterfacesConfig {
    let d = InterfacesConfig::default();
    let Some(mut m) = MapReader::new(ctx, node, path, "interfaces-config") else {
        return d;
    };
    let mut interfaces = Vec::new();
    if let Some(list) = m.str_list(ctx, "interfaces") {
        for (i, (s, loc)) in list.into_iter().enumerate() {
            let spec = if s == "*" {
                InterfaceSpec::All
            } else if let Some((name, addr)) = s.split_once('/') {
                match addr.parse::<Ipv4Addr>() {
                    Ok(a) if !name.is_empty() => InterfaceSpec::Address(name.to_string(), a),
                    _ => {
                        ctx.error(&format!("{path}.interfaces[{i}]"), loc, ErrorKind::Invalid(format!(
                            "Failed to select interface: Failed to convert string to address '{addr}': Invalid argument"
                        )));
                        continue;
                    }
                }
            } else if s.is_empty() {
                ctx.error(
                    &format!("{path}.interfaces[{i}]"),
                    loc,
                    ErrorKind::Invalid("empty interface name".into()),
                );
                continue;
            } else {
                InterfaceSpec::Name(s.to_string())
            };
            let ipath = format!("{path}.interfaces[{i}]");
            let name = match &spec {
                InterfaceSpec::All => None,
                InterfaceSpec::Name(n) | InterfaceSpec::Address(n, _) => Some(n.as_str()),
            };
            if let Some(name) = name
                && !ctx.interface_exists(name)
            {
                ctx.error(
                    &ipath,
                    loc,
                    ErrorKind::Invalid(format!(
                        "Failed to select interface: interface '{name}' doesn't exist in the system"
                    )),
                );
                continue;
            }
            // Kea refuses a name given twice, and an address selected twice.
            match &spec {
                InterfaceSpec::Name(n)
                    if interfaces
                        .iter()
                        .any(|s| matches!(s, InterfaceSpec::Name(o) if o == n)) =>
                {
                    ctx.error(
                        &ipath,
                        loc,
                        ErrorKind::Duplicate(format!(
                            "Failed to select interface: interface '{n}' has already been specified"
                        )),
                    );
                    continue;
                }
                InterfaceSpec::Address(n, a) if interfaces.contains(&spec) => {
                    ctx.error(&ipath, loc, ErrorKind::Duplicate(format!(
                        "Failed to select interface: must not select address '{a}' for interface '{n}' because this address is already selected"
                    )));
                    continue;
                }
                _ => {}
            }
            interfaces.push(spec);
        }
    }
    let socket_type_explicit = m.has("dhcp-socket-type");
    let cfg = InterfacesConfig {
        interfaces,
        socket_type: m
            .keyword(
                ctx,
                "dhcp-socket-type",
                &[("raw", SocketType::Raw), ("udp", SocketType::Udp)],
            )
            .unwrap_or(d.socket_type),
        socket_type_explicit,
        outbound_interface: m
            .keyword(
                ctx,
                "outbound-interface",
                &[
                    ("same-as-inbound", OutboundInterface::SameAsInbound),
                    ("use-routing", OutboundInterface::UseRouting),
                ],
            )
            .unwrap_or(d.outbound_interface),
        re_detect: m.bool(ctx, "re-detect").unwrap_or(d.re_detect),
        service_sockets_require_all: m.bool(ctx, "service-sockets-require-all").unwrap_or(false),
        service_sockets_retry_wait_time: m
            .u32(ctx, "service-sockets-retry-wait-time")
            .unwrap_or(5000),
        service_sockets_max_retries: m.u32(ctx, "service-sockets-max-retries").unwrap_or(0),
        user_context: m.user_context(ctx),
    };
    m.finish(ctx);
    cfg
}

/// Lease / host database backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbType {
    Memfile,
    Mysql,
    Postgresql,
}

impl DbType {
    /// Kea's spelling.
    pub fn kea_name(self) -> &'static str {
        match self {
            DbType::Memfile => "memfile",
            DbType::Mysql => "mysql",
            DbType::Postgresql => "postgresql",
        }
    }
}

/// `on-fail` of an SQL database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFail {
    StopRetryExit,
    ServeRetryExit,
    ServeRetryContinue,
}

impl OnFail {
    /// Kea's spelling.
    pub fn kea_name(self) -> &'static str {
        match self {
            OnFail::StopRetryExit => "stop-retry-exit",
            OnFail::ServeRetryExit => "serve-retry-exit",
            OnFail::ServeRetryContinue => "serve-retry-continue",
        }
    }
}

/// `lease-database` and each hosts database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseConfig {
    pub db_type: DbType,
    /// memfile: the CSV path (`None` = Kea's default `/var/lib/kea/kea-leases4.csv`);
    /// SQL: the database name.
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Seconds (Kea default 5).
    pub connect_timeout: u32,
    pub max_reconnect_tries: u32,
    /// Milliseconds.
    pub reconnect_wait_time: u32,
    pub on_fail: OnFail,
    pub readonly: bool,
    pub trust_anchor: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub cipher_list: Option<String>,
    /// memfile: write the CSV (false = memory only).
    pub persist: bool,
    /// memfile: seconds between LFC runs, 0 = never.
    pub lfc_interval: u32,
    /// memfile: 0 = unlimited.
    pub max_row_errors: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            db_type: DbType::Memfile,
            name: None,
            host: None,
            port: None,
            user: None,
            password: None,
            connect_timeout: 5,
            max_reconnect_tries: 0,
            reconnect_wait_time: 0,
            on_fail: OnFail::StopRetryExit,
            readonly: false,
            trust_anchor: None,
            cert_file: None,
            key_file: None,
            cipher_list: None,
            persist: true,
            lfc_interval: 3600,
            max_row_errors: 0,
        }
    }
}

/// Kea's default memfile path on Debian.
pub const DEFAULT_LEASE_FILE: &str = "/var/lib/kea/kea-leases4.csv";

pub(crate) fn parse_database(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    name: &str,
    lease: bool,
) -> Option<DatabaseConfig> {
    let d = DatabaseConfig::default();
    let mut m = MapReader::new(ctx, node, path, name)?;
    let db_type = if m.has("type") {
        m.keyword(
            ctx,
            "type",
            &[
                ("memfile", DbType::Memfile),
                ("mysql", DbType::Mysql),
                ("postgresql", DbType::Postgresql),
            ],
        )
    } else {
        m.missing(ctx, "type");
        None
    };
    let s = |m: &mut MapReader<'_>, ctx: &mut Ctx, k: &str| m.str(ctx, k).map(str::to_string);
    let cfg = DatabaseConfig {
        db_type: db_type.unwrap_or(DbType::Memfile),
        name: s(&mut m, ctx, "name"),
        host: s(&mut m, ctx, "host"),
        port: m.u16(ctx, "port"),
        user: s(&mut m, ctx, "user"),
        password: s(&mut m, ctx, "password"),
        connect_timeout: m.u32(ctx, "connect-timeout").unwrap_or(d.connect_timeout),
        max_reconnect_tries: m.u32(ctx, "max-reconnect-tries").unwrap_or(0),
        reconnect_wait_time: m.u32(ctx, "reconnect-wait-time").unwrap_or(0),
        on_fail: m
            .keyword(
                ctx,
                "on-fail",
                &[
                    ("stop-retry-exit", OnFail::StopRetryExit),
                    ("serve-retry-exit", OnFail::ServeRetryExit),
                    ("serve-retry-continue", OnFail::ServeRetryContinue),
                ],
            )
            .unwrap_or(d.on_fail),
        readonly: m.bool(ctx, "readonly").unwrap_or(false),
        trust_anchor: s(&mut m, ctx, "trust-anchor"),
        cert_file: s(&mut m, ctx, "cert-file"),
        key_file: s(&mut m, ctx, "key-file"),
        cipher_list: s(&mut m, ctx, "cipher-list"),
        persist: m.bool(ctx, "persist").unwrap_or(true),
        lfc_interval: m.u32(ctx, "lfc-interval").unwrap_or(d.lfc_interval),
        max_row_errors: m.u32(ctx, "max-row-errors").unwrap_or(0),
    };
    let loc = m.loc.clone();
    m.finish(ctx);
    let db_type = db_type?;
    if db_type != DbType::Memfile && cfg.name.is_none() {
        ctx.error(
            &format!("{path}.name"),
            &loc,
            ErrorKind::MissingParameter { key: "name".into() },
        );
        return None;
    }
    if db_type == DbType::Memfile && !lease {
        ctx.error(
            &format!("{path}.type"),
            &loc,
            ErrorKind::Invalid(
                "memfile is not a hosts database backend (use mysql or postgresql)".into(),
            ),
        );
        return None;
    }
    let tls = [&cfg.trust_anchor, &cfg.cert_file, &cfg.key_file];
    let given = tls.iter().filter(|v| v.is_some()).count();
    if cfg.cert_file.is_some() != cfg.key_file.is_some() {
        ctx.error(
            path,
            &loc,
            ErrorKind::Invalid("cert-file and key-file must be given together".into()),
        );
    }
    if db_type == DbType::Memfile
        && (cfg.host.is_some() || cfg.user.is_some() || cfg.password.is_some() || given > 0)
    {
        ctx.warn(
            path,
            Some(&loc),
            WarningKind::Other(
                "SQL connection parameters are ignored by the memfile backend".into(),
            ),
        );
    }
    Some(cfg)
}

/// `expired-leases-processing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiredLeasesProcessing {
    /// Seconds between reclamation cycles (0 disables).
    pub reclaim_timer_wait_time: u32,
    /// Seconds between flushes of reclaimed leases (0: delete at reclamation).
    pub flush_reclaimed_timer_wait_time: u32,
    /// Seconds a reclaimed lease is kept (lease affinity).
    pub hold_reclaimed_time: u32,
    /// Per cycle, 0 = all.
    pub max_reclaim_leases: u32,
    /// Milliseconds per cycle, 0 = no limit.
    pub max_reclaim_time: u32,
    pub unwarned_reclaim_cycles: u32,
}

impl Default for ExpiredLeasesProcessing {
    fn default() -> Self {
        Self {
            reclaim_timer_wait_time: 10,
            flush_reclaimed_timer_wait_time: 25,
            hold_reclaimed_time: 3600,
            max_reclaim_leases: 100,
            max_reclaim_time: 250,
            unwarned_reclaim_cycles: 5,
        }
    }
}

pub(crate) fn parse_expired(ctx: &mut Ctx, node: &Node, path: &str) -> ExpiredLeasesProcessing {
    let d = ExpiredLeasesProcessing::default();
    let Some(mut m) = MapReader::new(ctx, node, path, "expired-leases-processing") else {
        return d;
    };
    // Kea's CfgExpiration limits (16-bit for most; 10000 ms per reclamation cycle).
    let mut limited = |m: &mut MapReader<'_>, key: &str, max: u32, default: u32| -> u32 {
        let Some(node) = m.get(key) else {
            return default;
        };
        match node.value {
            crate::json::Value::Int(v) if (0..=i64::from(max)).contains(&v) => {
                u32::try_from(v).unwrap_or(default)
            }
            crate::json::Value::Int(v) if v >= 0 => {
                ctx.error(&m.child(key), &node.loc, ErrorKind::Invalid(format!(
                    "out range value '{v}' for configuration parameter '{key}', expected maximum value of '{max}'"
                )));
                default
            }
            crate::json::Value::Int(v) => {
                ctx.error(
                    &m.child(key),
                    &node.loc,
                    ErrorKind::OutOfRange {
                        key: key.into(),
                        value: v,
                        min: 0,
                        max: u64::from(max),
                    },
                );
                default
            }
            ref other => {
                ctx.error(
                    &m.child(key),
                    &node.loc,
                    ErrorKind::WrongType {
                        expected: "integer",
                        found: other.type_name(),
                    },
                );
                default
            }
        }
    };
    let u16max = u32::from(u16::MAX);
    let cfg = ExpiredLeasesProcessing {
        reclaim_timer_wait_time: limited(
            &mut m,
            "reclaim-timer-wait-time",
            u16max,
            d.reclaim_timer_wait_time,
        ),
        flush_reclaimed_timer_wait_time: limited(
            &mut m,
            "flush-reclaimed-timer-wait-time",
            u16max,
            d.flush_reclaimed_timer_wait_time,
        ),
        hold_reclaimed_time: limited(
            &mut m,
            "hold-reclaimed-time",
            u32::MAX,
            d.hold_reclaimed_time,
        ),
        max_reclaim_leases: limited(&mut m, "max-reclaim-leases", u32::MAX, d.max_reclaim_leases),
        max_reclaim_time: limited(&mut m, "max-reclaim-time", 10_000, d.max_reclaim_time),
        unwarned_reclaim_cycles: limited(
            &mut m,
            "unwarned-reclaim-cycles",
            u16max,
            d.unwarned_reclaim_cycles,
        ),
    };
    m.finish(ctx);
    cfg
}

/// `multi-threading` (Kea 2.2 defaults: off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultiThreading {
    pub enable: bool,
    /// 0 = number of CPUs.
    pub thread_pool_size: u32,
    pub packet_queue_size: u32,
}

impl Default for MultiThreading {
    fn default() -> Self {
        Self {
            enable: false,
            thread_pool_size: 0,
            packet_queue_size: 64,
        }
    }
}

pub(crate) fn parse_multi_threading(ctx: &mut Ctx, node: &Node, path: &str) -> MultiThreading {
    let d = MultiThreading::default();
    let Some(mut m) = MapReader::new(ctx, node, path, "multi-threading") else {
        return d;
    };
    let cfg = MultiThreading {
        // Kea requires the switch whenever the map is given.
        enable: if m.has("enable-multi-threading") {
            m.bool(ctx, "enable-multi-threading").unwrap_or(d.enable)
        } else {
            m.missing(ctx, "enable-multi-threading");
            d.enable
        },
        thread_pool_size: m.u32(ctx, "thread-pool-size").unwrap_or(0),
        packet_queue_size: m
            .u32(ctx, "packet-queue-size")
            .unwrap_or(d.packet_queue_size),
    };
    m.user_context(ctx);
    m.finish(ctx);
    cfg
}

/// `dhcp-queue-control`. Kea accepts arbitrary extra keys here (for custom queue
/// implementations); they are kept.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueControl {
    pub enable_queue: bool,
    pub queue_type: String,
    pub capacity: u32,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for QueueControl {
    fn default() -> Self {
        Self {
            enable_queue: false,
            queue_type: "kea-ring4".into(),
            capacity: 64,
            extra: serde_json::Map::new(),
        }
    }
}

pub(crate) fn parse_queue_control(ctx: &mut Ctx, node: &Node, path: &str) -> QueueControl {
    let d = QueueControl::default();
    let Some(mut m) = MapReader::new(ctx, node, path, "dhcp-queue-control") else {
        return d;
    };
    if !m.has("enable-queue") {
        m.missing(ctx, "enable-queue");
    }
    let mut cfg = QueueControl {
        enable_queue: m.bool(ctx, "enable-queue").unwrap_or(false),
        queue_type: m.str(ctx, "queue-type").unwrap_or("kea-ring4").to_string(),
        capacity: m.u32(ctx, "capacity").unwrap_or(d.capacity),
        extra: serde_json::Map::new(),
    };
    m.user_context(ctx);
    if let crate::json::Value::Map(entries) = &node.value {
        for (k, v) in entries {
            if m.get(&k.name).is_some()
                && !matches!(
                    k.name.as_str(),
                    "enable-queue" | "queue-type" | "capacity" | "user-context" | "comment"
                )
            {
                cfg.extra.insert(k.name.clone(), v.to_json());
            }
        }
    }
    m.finish(ctx);
    cfg
}

/// `sanity-checks.lease-checks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseChecks {
    None,
    Warn,
    Fix,
    FixDel,
    Del,
}

impl LeaseChecks {
    /// Kea's spelling.
    pub fn kea_name(self) -> &'static str {
        match self {
            LeaseChecks::None => "none",
            LeaseChecks::Warn => "warn",
            LeaseChecks::Fix => "fix",
            LeaseChecks::FixDel => "fix-del",
            LeaseChecks::Del => "del",
        }
    }
}

pub(crate) fn parse_sanity_checks(ctx: &mut Ctx, node: &Node, path: &str) -> LeaseChecks {
    let Some(mut m) = MapReader::new(ctx, node, path, "sanity-checks") else {
        return LeaseChecks::Warn;
    };
    let v = m
        .keyword(
            ctx,
            "lease-checks",
            &[
                ("none", LeaseChecks::None),
                ("warn", LeaseChecks::Warn),
                ("fix", LeaseChecks::Fix),
                ("fix-del", LeaseChecks::FixDel),
                ("del", LeaseChecks::Del),
            ],
        )
        .unwrap_or(LeaseChecks::Warn);
    m.finish(ctx);
    v
}

/// `dhcp-ddns`: the connection to kea-dhcp-ddns (D2).
#[derive(Clone, Debug, PartialEq)]
pub struct DhcpDdns {
    pub enable_updates: bool,
    pub server_ip: Ipv4Addr,
    pub server_port: u16,
    pub sender_ip: Ipv4Addr,
    pub sender_port: u16,
    pub max_queue_size: u32,
    pub user_context: Option<serde_json::Value>,
}

impl Default for DhcpDdns {
    fn default() -> Self {
        Self {
            enable_updates: false,
            server_ip: Ipv4Addr::LOCALHOST,
            server_port: 53001,
            sender_ip: Ipv4Addr::UNSPECIFIED,
            sender_port: 0,
            max_queue_size: 1024,
            user_context: None,
        }
    }
}

pub(crate) fn parse_dhcp_ddns(ctx: &mut Ctx, node: &Node, path: &str) -> DhcpDdns {
    let d = DhcpDdns::default();
    let Some(mut m) = MapReader::new(ctx, node, path, "dhcp-ddns") else {
        return d;
    };
    let addr = |m: &mut MapReader<'_>, ctx: &mut Ctx, key: &str, default: Ipv4Addr| -> Ipv4Addr {
        let Some(s) = m.str(ctx, key) else {
            return default;
        };
        match s.parse() {
            Ok(a) => a,
            Err(_) => {
                let loc = m.get(key).map_or_else(|| m.loc.clone(), |n| n.loc.clone());
                ctx.error(
                    &m.child(key),
                    &loc,
                    ErrorKind::Invalid(format!("invalid IPv4 address '{s}' for {key}")),
                );
                default
            }
        }
    };
    let server_ip = addr(&mut m, ctx, "server-ip", d.server_ip);
    let sender_ip = addr(&mut m, ctx, "sender-ip", d.sender_ip);
    if !m.has("enable-updates") {
        m.missing(ctx, "enable-updates");
    }
    let cfg = DhcpDdns {
        enable_updates: m.bool(ctx, "enable-updates").unwrap_or(false),
        server_ip,
        server_port: m.u16(ctx, "server-port").unwrap_or(d.server_port),
        sender_ip,
        sender_port: m.u16(ctx, "sender-port").unwrap_or(0),
        max_queue_size: m.u32(ctx, "max-queue-size").unwrap_or(d.max_queue_size),
        user_context: m.user_context(ctx),
    };
    if m.keyword(ctx, "ncr-protocol", &[("UDP", true), ("TCP", false)]) == Some(false) {
        let loc = m
            .get("ncr-protocol")
            .map_or_else(|| m.loc.clone(), |n| n.loc.clone());
        ctx.error(
            &m.child("ncr-protocol"),
            &loc,
            ErrorKind::Invalid("ncr-protocol TCP is not yet supported".into()),
        );
    }
    m.keyword(ctx, "ncr-format", &[("JSON", ())]);
    // Kea 2.2 still accepts these (moved to the global ddns-* parameters) and ignores them.
    for key in [
        "override-no-update",
        "override-client-update",
        "replace-client-name",
        "generated-prefix",
        "qualifying-suffix",
        "hostname-char-set",
        "hostname-char-replacement",
    ] {
        if let Some(n) = m.get(key) {
            let global = if key.starts_with("hostname-char") {
                key.to_string()
            } else {
                format!("ddns-{key}")
            };
            ctx.warn(
                &m.child(key),
                Some(&n.loc),
                WarningKind::Other(format!(
                    "dhcp-ddns.{key} is deprecated and ignored: use the global {global} parameter"
                )),
            );
        }
    }
    m.finish(ctx);
    cfg
}
