//! `libdhcp_ha.so` parameters: the `high-availability` list (reference 1.2, Kea 2.2
//! `HAConfigParser` / `HAConfig::validate`).
//!
//! Checks, as Kea: exactly one relationship; `this-server-name` names a peer; peer names unique
//! and non-empty; exactly one primary, at most one secondary and one standby; load-balancing
//! needs a secondary and forbids standby, hot-standby needs a standby and forbids secondary,
//! passive-backup forbids both; `delayed-updates-limit` > 0 only in load-balancing;
//! `wait-backup-ack` only in passive-backup; URLs are `http(s)://<IP literal>[:port][/path]`;
//! TLS files all three or none; `state-machine` pause values `always`/`once`/`never`, no state
//! twice. Deliberate differences: unknown keys are errors (Kea's hook ignores them, so a
//! misspelt `max-unacked-clients` silently falls back to its default, which is a dangerous
//! failure mode for failover); and Kea 2.2 parses the timers as 16-bit (max 65535 ms, fixed in
//! Kea 3.3); Nestor accepts any 32-bit value.

use std::net::IpAddr;

use crate::error::{ErrorKind, Location};
use crate::json::Node;
use crate::reader::{Ctx, MapReader, each_map};

/// HA mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaMode {
    LoadBalancing,
    HotStandby,
    PassiveBackup,
}

impl HaMode {
    /// Kea's spelling.
    pub fn kea_name(self) -> &'static str {
        match self {
            HaMode::LoadBalancing => "load-balancing",
            HaMode::HotStandby => "hot-standby",
            HaMode::PassiveBackup => "passive-backup",
        }
    }
}

/// A peer's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRole {
    Primary,
    Secondary,
    Standby,
    Backup,
}

impl PeerRole {
    /// Kea's spelling.
    pub fn kea_name(self) -> &'static str {
        match self {
            PeerRole::Primary => "primary",
            PeerRole::Secondary => "secondary",
            PeerRole::Standby => "standby",
            PeerRole::Backup => "backup",
        }
    }
}

/// `pause` of a `state-machine.states[]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatePause {
    Always,
    Once,
    Never,
}

/// A parsed peer URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerUrl {
    /// As written.
    pub text: String,
    pub https: bool,
    pub ip: IpAddr,
    pub port: u16,
    pub path: String,
}

/// Parses `http(s)://<ip>[:port][/path]`; the host must be an IP literal (IPv6 in brackets),
/// as Kea 2.2 requires.
pub fn parse_peer_url(s: &str) -> Result<PeerUrl, String> {
    let (https, rest) = if let Some(r) = s.strip_prefix("http://") {
        (false, r)
    } else if let Some(r) = s.strip_prefix("https://") {
        (true, r)
    } else {
        return Err(format!(
            "invalid URL '{s}': the scheme must be http or https"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r
            .split_once(']')
            .ok_or_else(|| format!("invalid URL '{s}': unterminated IPv6 literal"))?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("invalid URL '{s}': the host '{host}' is not an IP address (host names are not supported)"))?;
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("invalid URL '{s}': bad port '{p}'"))?,
        None if https => 443,
        None => 80,
    };
    Ok(PeerUrl {
        text: s.to_string(),
        https,
        ip,
        port,
        path: path.to_string(),
    })
}

/// One `peers[]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaPeer {
    pub name: String,
    pub url: PeerUrl,
    pub role: PeerRole,
    pub auto_failover: bool,
    pub basic_auth_user: Option<String>,
    pub basic_auth_password: Option<String>,
    pub basic_auth_password_file: Option<String>,
    pub trust_anchor: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}

/// HA+MT settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HaMultiThreading {
    pub enable_multi_threading: bool,
    pub http_dedicated_listener: bool,
    pub http_listener_threads: u32,
    pub http_client_threads: u32,
}

/// The validated HA relationship.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaConfig {
    pub this_server_name: String,
    pub mode: HaMode,
    /// Milliseconds; 0 disables heartbeats.
    pub heartbeat_delay: u32,
    pub max_response_delay: u32,
    pub max_ack_delay: u32,
    pub max_unacked_clients: u32,
    pub delayed_updates_limit: u32,
    pub send_lease_updates: bool,
    pub sync_leases: bool,
    pub sync_timeout: u32,
    pub sync_page_limit: u32,
    pub wait_backup_ack: bool,
    pub require_client_certs: bool,
    pub restrict_commands: bool,
    pub trust_anchor: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub multi_threading: HaMultiThreading,
    /// (state name, pause).
    pub state_machine: Vec<(String, StatePause)>,
    pub peers: Vec<HaPeer>,
}

impl HaConfig {
    /// This server's own peer entry.
    pub fn this_peer(&self) -> Option<&HaPeer> {
        self.peers.iter().find(|p| p.name == self.this_server_name)
    }
}

/// HA states that may appear in `state-machine` (Kea 2.2 names).
pub const HA_STATES: &[&str] = &[
    "backup",
    "communication-recovery",
    "hot-standby",
    "load-balancing",
    "in-maintenance",
    "partner-down",
    "partner-in-maintenance",
    "passive-backup",
    "ready",
    "syncing",
    "terminated",
    "waiting",
];

fn opt_string(ctx: &mut Ctx, m: &mut MapReader<'_>, key: &str) -> Option<String> {
    m.str(ctx, key)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Parses and validates the `parameters` map of a `libdhcp_ha.so` entry on its own (for the HA
/// plugin and tools; a full load fills [`crate::Dhcp4Config::ha`] the same way). `path` names
/// the map in errors, e.g. `Dhcp4.hooks-libraries[1].parameters`.
pub fn parse_ha_config(parameters: &Node, path: &str) -> Result<HaConfig, crate::ConfigErrors> {
    let mut ctx = Ctx::default();
    match parse_ha_parameters(&mut ctx, Some(parameters), path, &parameters.loc) {
        Some(c) if ctx.errors.is_empty() => Ok(c),
        _ => {
            if ctx.errors.is_empty() {
                ctx.error(
                    path,
                    &parameters.loc,
                    ErrorKind::HighAvailability("invalid parameters".into()),
                );
            }
            Err(crate::ConfigErrors { errors: ctx.errors })
        }
    }
}

/// Parses and validates the `parameters` map of a `libdhcp_ha.so` entry.
pub(crate) fn parse_ha_parameters(
    ctx: &mut Ctx,
    params: Option<&Node>,
    path: &str,
    loc: &Location,
) -> Option<HaConfig> {
    let before = ctx.errors.len();
    let Some(params) = params else {
        ctx.error(
            path,
            loc,
            ErrorKind::HighAvailability("'high-availability' parameter is mandatory".into()),
        );
        return None;
    };
    // Other keys in `parameters` are the hook's business: Kea's HA hook ignores them too.
    let Some(list) = params.get("high-availability") else {
        ctx.error(
            path,
            &params.loc,
            ErrorKind::HighAvailability("'high-availability' parameter is mandatory".into()),
        );
        return None;
    };
    let hpath = format!("{path}.high-availability");
    let crate::json::Value::List(items) = &list.value else {
        ctx.error(
            &hpath,
            &list.loc,
            ErrorKind::WrongType {
                expected: "list",
                found: list.value.type_name(),
            },
        );
        return None;
    };
    if items.len() != 1 {
        ctx.error(&hpath, &list.loc, ErrorKind::HighAvailability(
            "exactly one relationship must be configured in 'high-availability' (Kea 2.2 supports one)".into(),
        ));
        return None;
    }
    let (_, p, node) = each_map(ctx, items, &hpath).into_iter().next()?;
    let mut m = MapReader::new(ctx, node, &p, "high-availability")?;
    let fail = |ctx: &mut Ctx, path: &str, loc: &Location, msg: String| {
        ctx.error(path, loc, ErrorKind::HighAvailability(msg));
    };

    let this_server_name = m
        .req_str(ctx, "this-server-name")
        .map(|s| s.trim().to_string());
    let mode = if m.has("mode") {
        m.keyword(
            ctx,
            "mode",
            &[
                ("load-balancing", HaMode::LoadBalancing),
                ("hot-standby", HaMode::HotStandby),
                ("passive-backup", HaMode::PassiveBackup),
            ],
        )
    } else {
        m.missing(ctx, "mode");
        None
    };
    let ms = |m: &mut MapReader<'_>, ctx: &mut Ctx, key: &str, default: u32| {
        m.u32(ctx, key).unwrap_or(default)
    };
    let heartbeat_delay = ms(&mut m, ctx, "heartbeat-delay", 10_000);
    let max_response_delay = ms(&mut m, ctx, "max-response-delay", 60_000);
    let max_ack_delay = ms(&mut m, ctx, "max-ack-delay", 10_000);
    let max_unacked_clients = ms(&mut m, ctx, "max-unacked-clients", 10);
    let dul_given = m.has("delayed-updates-limit");
    let delayed_updates_limit_raw = m.u32(ctx, "delayed-updates-limit");
    let send_lease_updates = m.bool(ctx, "send-lease-updates").unwrap_or(true);
    let sync_leases = m.bool(ctx, "sync-leases").unwrap_or(true);
    let sync_timeout = ms(&mut m, ctx, "sync-timeout", 60_000);
    let sync_page_limit = m
        .int(ctx, "sync-page-limit", 1, i64::from(u32::MAX))
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(10_000);
    let wait_backup_ack = m.bool(ctx, "wait-backup-ack").unwrap_or(false);
    let require_client_certs = m.bool(ctx, "require-client-certs").unwrap_or(true);
    let restrict_commands = m.bool(ctx, "restrict-commands").unwrap_or(false);
    let trust_anchor = opt_string(ctx, &mut m, "trust-anchor");
    let cert_file = opt_string(ctx, &mut m, "cert-file");
    let key_file = opt_string(ctx, &mut m, "key-file");

    let mut multi_threading = HaMultiThreading::default();
    if let Some(n) = m.map(ctx, "multi-threading")
        && let Some(mut mt) = MapReader::new(ctx, n, &m.child("multi-threading"), "multi-threading")
    {
        multi_threading = HaMultiThreading {
            enable_multi_threading: mt.bool(ctx, "enable-multi-threading").unwrap_or(false),
            http_dedicated_listener: mt.bool(ctx, "http-dedicated-listener").unwrap_or(false),
            http_listener_threads: mt.u32(ctx, "http-listener-threads").unwrap_or(0),
            http_client_threads: mt.u32(ctx, "http-client-threads").unwrap_or(0),
        };
        mt.finish(ctx);
    }

    let mut state_machine: Vec<(String, StatePause)> = Vec::new();
    if let Some(n) = m.map(ctx, "state-machine") {
        let smp = m.child("state-machine");
        if let Some(mut sm) = MapReader::new(ctx, n, &smp, "state-machine") {
            if let Some(states) = sm.list(ctx, "states") {
                for (_, sp, snode) in each_map(ctx, states, &format!("{smp}.states")) {
                    let Some(mut s) = MapReader::new(ctx, snode, &sp, "states") else {
                        continue;
                    };
                    let name = s.req_str(ctx, "state");
                    let pause = s
                        .keyword(
                            ctx,
                            "pause",
                            &[
                                ("always", StatePause::Always),
                                ("once", StatePause::Once),
                                ("never", StatePause::Never),
                            ],
                        )
                        .unwrap_or(StatePause::Never);
                    s.finish(ctx);
                    let Some(name) = name else { continue };
                    if !HA_STATES.contains(&name) {
                        fail(
                            ctx,
                            &format!("{sp}.state"),
                            &snode.loc,
                            format!("unknown HA state '{name}'"),
                        );
                    } else if state_machine.iter().any(|(n, _)| n == name) {
                        fail(
                            ctx,
                            &sp,
                            &snode.loc,
                            format!("duplicated configuration for the '{name}' state"),
                        );
                    } else {
                        state_machine.push((name.to_string(), pause));
                    }
                }
            }
            sm.finish(ctx);
        }
    }

    let mut peers: Vec<HaPeer> = Vec::new();
    let peers_path = m.child("peers");
    let peers_list = if m.has("peers") {
        m.list(ctx, "peers")
    } else {
        m.missing(ctx, "peers");
        None
    };
    let errors_before_peers = ctx.errors.len();
    for (_, pp, pnode) in each_map(ctx, peers_list.unwrap_or(&[]), &peers_path) {
        let Some(mut pm) = MapReader::new(ctx, pnode, &pp, "peers") else {
            continue;
        };
        let name = pm.req_str(ctx, "name").map(str::trim);
        let url_loc = pm
            .get("url")
            .map_or_else(|| pnode.loc.clone(), |n| n.loc.clone());
        let url = pm.req_str(ctx, "url");
        let role = if pm.has("role") {
            pm.keyword(
                ctx,
                "role",
                &[
                    ("primary", PeerRole::Primary),
                    ("secondary", PeerRole::Secondary),
                    ("standby", PeerRole::Standby),
                    ("backup", PeerRole::Backup),
                ],
            )
        } else {
            pm.missing(ctx, "role");
            None
        };
        let auto_failover = pm.bool(ctx, "auto-failover").unwrap_or(true);
        let basic_auth_user = pm
            .str(ctx, "basic-auth-user")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let basic_auth_password = pm.str(ctx, "basic-auth-password").map(str::to_string);
        let basic_auth_password_file = pm.str(ctx, "basic-auth-password-file").map(str::to_string);
        let p_trust = opt_string(ctx, &mut pm, "trust-anchor");
        let p_cert = opt_string(ctx, &mut pm, "cert-file");
        let p_key = opt_string(ctx, &mut pm, "key-file");
        pm.finish(ctx);
        let (Some(name), Some(url), Some(role)) = (name, url, role) else {
            continue;
        };
        if name.is_empty() {
            fail(
                ctx,
                &format!("{pp}.name"),
                &pnode.loc,
                "peer name must not be empty".into(),
            );
            continue;
        }
        if peers.iter().any(|p| p.name == name) {
            fail(
                ctx,
                &pp,
                &pnode.loc,
                format!("multiple peers with the same name {name}"),
            );
            continue;
        }
        if basic_auth_user.as_deref().is_some_and(|u| u.contains(':')) {
            fail(
                ctx,
                &format!("{pp}.basic-auth-user"),
                &pnode.loc,
                "user name must not contain a ':'".into(),
            );
        }
        if basic_auth_password.is_some() && basic_auth_password_file.is_some() {
            fail(ctx, &pp, &pnode.loc, "only one of basic-auth-password and basic-auth-password-file parameters can be configured".into());
        }
        let url = match parse_peer_url(url) {
            Ok(u) => u,
            Err(e) => {
                fail(ctx, &format!("{pp}.url"), &url_loc, e);
                continue;
            }
        };
        let trust_anchor = p_trust.or_else(|| trust_anchor.clone());
        let cert_file = p_cert.or_else(|| cert_file.clone());
        let key_file = p_key.or_else(|| key_file.clone());
        let tls_count = [&trust_anchor, &cert_file, &key_file]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if tls_count != 0 && tls_count != 3 {
            fail(
                ctx,
                &pp,
                &pnode.loc,
                "trust-anchor, cert-file and key-file must be all specified or none of them".into(),
            );
        }
        if url.https && tls_count == 0 {
            fail(
                ctx,
                &format!("{pp}.url"),
                &url_loc,
                format!(
                    "bad url '{}': https scheme is not supported without TLS parameters",
                    url.text
                ),
            );
        }
        peers.push(HaPeer {
            name: name.to_string(),
            url,
            role,
            auto_failover,
            basic_auth_user,
            basic_auth_password,
            basic_auth_password_file,
            trust_anchor,
            cert_file,
            key_file,
        });
    }
    m.finish(ctx);

    let (Some(this_server_name), Some(mode)) = (this_server_name, mode) else {
        return None;
    };
    // A peer that failed to parse would make the role checks below report consequences of the
    // same mistake; report the mistake alone.
    let peers_ok = ctx.errors.len() == errors_before_peers;
    let here = &node.loc;
    if this_server_name.is_empty() {
        fail(
            ctx,
            &format!("{p}.this-server-name"),
            here,
            "'this-server-name' value must not be empty".into(),
        );
    } else if peers_ok && !peers.iter().any(|pe| pe.name == this_server_name) {
        fail(
            ctx,
            &format!("{p}.this-server-name"),
            here,
            format!("no peer configuration specified for the {this_server_name}"),
        );
    }
    let count = |r: PeerRole| peers.iter().filter(|pe| pe.role == r).count();
    let (primaries, secondaries, standbys) = (
        count(PeerRole::Primary),
        count(PeerRole::Secondary),
        count(PeerRole::Standby),
    );
    if peers_list.is_some() && peers_ok {
        if primaries != 1 {
            fail(
                ctx,
                &peers_path,
                here,
                format!("exactly one primary server must be configured, found {primaries}"),
            );
        }
        if secondaries > 1 {
            fail(
                ctx,
                &peers_path,
                here,
                "multiple secondary servers specified".into(),
            );
        }
        if standbys > 1 {
            fail(
                ctx,
                &peers_path,
                here,
                "multiple standby servers specified".into(),
            );
        }
        match mode {
            HaMode::LoadBalancing => {
                if secondaries == 0 {
                    fail(
                        ctx,
                        &peers_path,
                        here,
                        "secondary server required in the load balancing configuration".into(),
                    );
                }
                if standbys > 0 {
                    fail(
                        ctx,
                        &peers_path,
                        here,
                        "standby server not allowed in the load balancing configuration".into(),
                    );
                }
            }
            HaMode::HotStandby => {
                if standbys == 0 {
                    fail(
                        ctx,
                        &peers_path,
                        here,
                        "standby server required in the hot standby configuration".into(),
                    );
                }
                if secondaries > 0 {
                    fail(
                        ctx,
                        &peers_path,
                        here,
                        "secondary server not allowed in the hot standby configuration".into(),
                    );
                }
            }
            HaMode::PassiveBackup => {
                if secondaries > 0 || standbys > 0 {
                    fail(ctx, &peers_path, here, "secondary and standby servers are not allowed in the passive backup configuration".into());
                }
            }
        }
    }
    let delayed_updates_limit = match (mode, delayed_updates_limit_raw) {
        (HaMode::LoadBalancing, v) => v.unwrap_or(100),
        (_, Some(v)) if v > 0 && dul_given => {
            fail(ctx, &format!("{p}.delayed-updates-limit"), here,
                "the 'delayed-updates-limit' parameter must be 0 for the hot standby and passive backup configurations".into());
            v
        }
        (_, v) => v.unwrap_or(0),
    };
    if wait_backup_ack && mode != HaMode::PassiveBackup {
        fail(ctx, &format!("{p}.wait-backup-ack"), here,
            "'wait-backup-ack' must be set to false in the load balancing and hot standby configurations".into());
    }
    if ctx.errors.len() > before {
        return None;
    }
    Some(HaConfig {
        this_server_name,
        mode,
        heartbeat_delay,
        max_response_delay,
        max_ack_delay,
        max_unacked_clients,
        delayed_updates_limit,
        send_lease_updates,
        sync_leases,
        sync_timeout,
        sync_page_limit,
        wait_backup_ack,
        require_client_certs,
        restrict_commands,
        trust_anchor,
        cert_file,
        key_file,
        multi_threading,
        state_machine,
        peers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;
    use crate::parse_dhcp4_str;

    fn ha(relationship: &str) -> Result<HaConfig, Vec<ConfigError>> {
        let text = format!(
            r#"{{"Dhcp4": {{"hooks-libraries": [{{"library": "/usr/lib/kea/hooks/libdhcp_lease_cmds.so"}},
               {{"library": "/x/libdhcp_ha.so", "parameters": {{"high-availability": [{relationship}]}}}}]}}}}"#
        );
        match parse_dhcp4_str(&text, "ha.json") {
            Ok(l) => Ok(l.config.ha.expect("ha parsed")),
            Err(e) => Err(e.errors),
        }
    }

    const PEERS_HS: &str = r#""peers": [
        {"name": "kea_1", "url": "http://172.18.0.2:8080/", "role": "primary", "auto-failover": true},
        {"name": "kea_2", "url": "http://172.18.0.3:8080/", "role": "standby", "auto-failover": true}]"#;

    fn one_error(relationship: &str) -> ConfigError {
        let mut e = ha(relationship).expect_err("expected an error");
        assert_eq!(e.len(), 1, "{e:#?}");
        let e = e.remove(0);
        assert!(e.location.is_some());
        e
    }

    #[test]
    fn seed_relationship_with_defaults() {
        let c = ha(&format!(r#"{{"this-server-name": "kea_1", "mode": "hot-standby", "max-unacked-clients": 5, {PEERS_HS}}}"#)).unwrap();
        assert_eq!(c.mode, HaMode::HotStandby);
        assert_eq!(
            (c.heartbeat_delay, c.max_response_delay, c.max_ack_delay),
            (10_000, 60_000, 10_000)
        );
        assert_eq!(c.max_unacked_clients, 5);
        assert_eq!(c.delayed_updates_limit, 0);
        assert!(c.send_lease_updates && c.sync_leases && !c.wait_backup_ack);
        assert_eq!((c.sync_timeout, c.sync_page_limit), (60_000, 10_000));
        assert_eq!(c.this_peer().unwrap().url.port, 8080);
        assert_eq!(c.peers[1].role, PeerRole::Standby);
        assert_eq!(c.peers[0].url.ip, "172.18.0.2".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn timers_are_not_capped_at_16_bits() {
        let c = ha(&format!(r#"{{"this-server-name": "kea_1", "mode": "hot-standby", "max-response-delay": 120000, {PEERS_HS}}}"#)).unwrap();
        assert_eq!(c.max_response_delay, 120_000);
    }

    #[test]
    fn this_server_name_must_be_a_peer() {
        let e = one_error(&format!(
            r#"{{"this-server-name": "kea_3", "mode": "hot-standby", {PEERS_HS}}}"#
        ));
        assert!(
            e.path.ends_with("high-availability[0].this-server-name"),
            "{}",
            e.path
        );
        assert!(e.path.starts_with("Dhcp4.hooks-libraries[1].parameters"));
    }

    #[test]
    fn role_rules_per_mode() {
        let lb_with_standby =
            format!(r#"{{"this-server-name": "kea_1", "mode": "load-balancing", {PEERS_HS}}}"#);
        let e = ha(&lb_with_standby).unwrap_err();
        let msgs: Vec<String> = e.iter().map(|e| e.kind.to_string()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("secondary server required")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("standby server not allowed")),
            "{msgs:?}"
        );

        let hs_with_secondary = r#"{"this-server-name": "a", "mode": "hot-standby", "peers": [
            {"name": "a", "url": "http://127.0.0.1:8001/", "role": "primary"},
            {"name": "b", "url": "http://127.0.0.1:8002/", "role": "secondary"}]}"#;
        let msgs: Vec<String> = ha(hs_with_secondary)
            .unwrap_err()
            .iter()
            .map(|e| e.kind.to_string())
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("secondary server not allowed in the hot standby")),
            "{msgs:?}"
        );

        let two_primaries = r#"{"this-server-name": "a", "mode": "load-balancing", "peers": [
            {"name": "a", "url": "http://127.0.0.1:8001/", "role": "primary"},
            {"name": "b", "url": "http://127.0.0.1:8002/", "role": "primary"}]}"#;
        let msgs: Vec<String> = ha(two_primaries)
            .unwrap_err()
            .iter()
            .map(|e| e.kind.to_string())
            .collect();
        assert!(
            msgs.iter().any(|m| m.contains("exactly one primary")),
            "{msgs:?}"
        );

        let pb = r#"{"this-server-name": "a", "mode": "passive-backup", "wait-backup-ack": true, "peers": [
            {"name": "a", "url": "http://127.0.0.1:8001/", "role": "primary"},
            {"name": "b", "url": "http://127.0.0.1:8002/", "role": "backup"}]}"#;
        assert!(ha(pb).unwrap().wait_backup_ack);
        let lb = r#"{"this-server-name": "a", "mode": "load-balancing", "peers": [
            {"name": "a", "url": "http://127.0.0.1:8001/", "role": "primary"},
            {"name": "b", "url": "http://[::1]:8002/", "role": "secondary"}]}"#;
        let c = ha(lb).unwrap();
        assert_eq!(c.delayed_updates_limit, 100);
        assert_eq!(c.peers[1].url.ip, "::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn delayed_updates_and_wait_backup_ack_only_in_their_modes() {
        let e = one_error(&format!(
            r#"{{"this-server-name": "kea_1", "mode": "hot-standby", "delayed-updates-limit": 5, {PEERS_HS}}}"#
        ));
        assert!(e.path.ends_with("delayed-updates-limit"));
        let e = one_error(&format!(
            r#"{{"this-server-name": "kea_1", "mode": "hot-standby", "wait-backup-ack": true, {PEERS_HS}}}"#
        ));
        assert!(e.path.ends_with("wait-backup-ack"));
    }

    #[test]
    fn urls() {
        assert!(parse_peer_url("http://kea.example.org:8000/").is_err());
        assert!(parse_peer_url("ftp://127.0.0.1/").is_err());
        assert!(parse_peer_url("http://127.0.0.1:99999/").is_err());
        let u = parse_peer_url("https://[2001:db8::1]/ha").unwrap();
        assert_eq!((u.https, u.port, u.path.as_str()), (true, 443, "/ha"));
        let u = parse_peer_url("http://192.0.2.1").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let e = one_error(
            r#"{"this-server-name": "a", "mode": "hot-standby", "peers": [
            {"name": "a", "url": "http://localhost:8001/", "role": "primary"},
            {"name": "b", "url": "http://127.0.0.1:8002/", "role": "standby"}]}"#,
        );
        assert_eq!(
            e.path,
            "Dhcp4.hooks-libraries[1].parameters.high-availability[0].peers[0].url"
        );
        // https without TLS files.
        let e = ha(
            r#"{"this-server-name": "a", "mode": "hot-standby", "peers": [
            {"name": "a", "url": "https://127.0.0.1:8001/", "role": "primary"},
            {"name": "b", "url": "http://127.0.0.1:8002/", "role": "standby"}]}"#,
        )
        .unwrap_err();
        assert!(e[0].kind.to_string().contains("https"));
    }

    #[test]
    fn peers_state_machine_and_unknown_keys() {
        let e = one_error(
            r#"{"this-server-name": "a", "mode": "hot-standby", "peers": [
            {"name": "a", "url": "http://127.0.0.1:8001/", "role": "primary"},
            {"name": "a", "url": "http://127.0.0.1:8002/", "role": "standby"}]}"#,
        );
        assert!(
            e.kind
                .to_string()
                .contains("multiple peers with the same name")
        );
        let c = ha(&format!(
            r#"{{"this-server-name": "kea_1", "mode": "hot-standby",
            "state-machine": {{"states": [{{"state": "waiting", "pause": "once"}}]}}, {PEERS_HS}}}"#
        ))
        .unwrap();
        assert_eq!(
            c.state_machine,
            vec![("waiting".to_string(), StatePause::Once)]
        );
        let e = one_error(&format!(
            r#"{{"this-server-name": "kea_1", "mode": "hot-standby",
            "state-machine": {{"states": [{{"state": "waiting"}}, {{"state": "waiting", "pause": "always"}}]}}, {PEERS_HS}}}"#
        ));
        assert!(e.kind.to_string().contains("duplicated"));
        // Kea's HA hook ignores parameters it does not know; Nestor refuses them (typos in HA
        // timers must not silently fall back to defaults).
        let e = one_error(&format!(
            r#"{{"this-server-name": "kea_1", "mode": "hot-standby", "heartbeat": 1, {PEERS_HS}}}"#
        ));
        assert!(matches!(e.kind, ErrorKind::UnexpectedKeyword { .. }));
        assert!(e.path.ends_with("high-availability[0].heartbeat"));
        let e = one_error(
            r#"{"this-server-name": "kea_1", "mode": "hot-standby",
            "peers": [{"name": "kea_1", "url": "http://127.0.0.1:1/", "role": "primary", "basic-auth-user": "a:b"},
                      {"name": "kea_2", "url": "http://127.0.0.1:2/", "role": "standby"}]}"#,
        );
        assert!(e.path.ends_with("basic-auth-user"));
    }

    #[test]
    fn standalone_parser_for_the_plugin() {
        let text = format!(
            r#"{{"high-availability": [{{"this-server-name": "kea_2", "mode": "hot-standby", {PEERS_HS}}}]}}"#
        );
        let node = crate::json::parser::parse_str(&text, "p.json")
            .unwrap()
            .root;
        let c = parse_ha_config(&node, "parameters").unwrap();
        assert_eq!(c.this_peer().unwrap().role, PeerRole::Standby);
        let text = r#"{"high-availability": [{"mode": "hot-standby", "peers": []}]}"#;
        let node = crate::json::parser::parse_str(text, "p.json").unwrap().root;
        let e = parse_ha_config(&node, "parameters").unwrap_err();
        assert_eq!(
            e.errors[0].path,
            "parameters.high-availability[0].this-server-name"
        );
    }

    #[test]
    fn missing_relationship() {
        let text = r#"{"Dhcp4": {"hooks-libraries": [{"library": "libdhcp_ha.so"}]}}"#;
        let e = parse_dhcp4_str(text, "x").unwrap_err();
        assert!(e.errors[0].kind.to_string().contains("high-availability"));
        let e = ha("").unwrap_err();
        assert!(e[0].kind.to_string().contains("exactly one relationship"));
    }
}
