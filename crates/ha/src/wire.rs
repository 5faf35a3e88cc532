//! The HA peer protocol's payloads, as Kea 2.2 writes and checks them (reference 1.8, 1.9,
//! 1.12, 1.13): lease-update arguments, the `ha-heartbeat` answer, the sync requests, and the
//! argument checks of the HA commands, with Kea's texts.
//!
//! Lease arguments are `Lease4::toElement()` with `cltt` replaced by `expire = cltt + valid-lft`
//! and, for updates, `force-create: true`; keys alphabetical (`http::command_body` sorts them).
//! `client-id` is omitted when the lease has none, `user-context` included when set.
//!
//! Note: `nestor-lease-cmds` renders the same lease map (with `cltt`) in a crate-private
//! function; the HA form differs in one key and one flag, so it is built here.

use nestor_leases::Lease4;
use serde_json::{Map, Value, json};

use crate::httpdate;
use crate::state::HaState;

/// The `arguments` of a `lease4-update` (`force_create`) or `lease4-del` for `lease`.
pub fn lease_arguments(lease: &Lease4, force_create: bool) -> Value {
    let mut map = Map::new();
    if let Some(client_id) = &lease.client_id {
        map.insert("client-id".into(), Value::from(client_id.to_string()));
    }
    map.insert("expire".into(), Value::from(lease.expire()));
    if force_create {
        map.insert("force-create".into(), Value::Bool(true));
    }
    map.insert("fqdn-fwd".into(), Value::from(lease.fqdn_fwd));
    map.insert("fqdn-rev".into(), Value::from(lease.fqdn_rev));
    map.insert("hostname".into(), Value::from(lease.hostname.as_str()));
    map.insert("hw-address".into(), Value::from(lease.hwaddr.to_string()));
    map.insert("ip-address".into(), Value::from(lease.address.to_string()));
    map.insert("state".into(), Value::from(lease.state.as_u32()));
    map.insert("subnet-id".into(), Value::from(lease.subnet_id));
    if let Some(context) = &lease.user_context {
        map.insert("user-context".into(), Value::Object(context.to_map()));
    }
    map.insert("valid-lft".into(), Value::from(lease.valid_lifetime));
    Value::Object(map)
}

/// The `arguments` of this server's `ha-heartbeat` answer (text "HA peer status returned.").
pub fn heartbeat_arguments(
    state: HaState,
    now_unix_secs: i64,
    scopes: &[String],
    unsent_update_count: u64,
) -> Value {
    json!({
        "date-time": httpdate::format(now_unix_secs),
        "scopes": scopes,
        "state": state.name(),
        "unsent-update-count": unsent_update_count,
    })
}

/// `dhcp-disable` arguments sent to the partner before each sync page. `max-period` is
/// omitted when 0 (the partner then stays disabled until re-enabled, as in Kea).
pub fn dhcp_disable_arguments(max_period_secs: u64) -> Value {
    let mut map = Map::new();
    if max_period_secs > 0 {
        map.insert("max-period".into(), Value::from(max_period_secs));
    }
    map.insert("origin".into(), Value::from("ha-partner"));
    Value::Object(map)
}

/// `max-period` of the automatic sync's `dhcp-disable`: `sync-timeout` in seconds, at least 1.
pub fn automatic_sync_max_period(sync_timeout_ms: u32) -> u64 {
    (u64::from(sync_timeout_ms) / 1000).max(1)
}

/// `lease4-get-page` arguments: from `"start"` or the last address of the previous page.
pub fn get_page_arguments(from: Option<std::net::Ipv4Addr>, limit: u32) -> Value {
    json!({
        "from": from.map_or_else(|| "start".to_owned(), |a| a.to_string()),
        "limit": limit,
    })
}

/// Parsed `ha-sync` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaSyncArgs {
    /// `server-name`.
    pub server_name: String,
    /// `max-period`, when given.
    pub max_period: Option<u64>,
}

/// `ha-sync`'s argument checks, with Kea 2.2's texts.
pub fn parse_ha_sync(arguments: Option<&Value>) -> Result<HaSyncArgs, String> {
    let args = arguments
        .and_then(Value::as_object)
        .ok_or("arguments not found in the 'ha-sync' command")?;
    let server_name = args
        .get("server-name")
        .and_then(Value::as_str)
        .ok_or("'server-name' is mandatory for the 'ha-sync' command")?
        .to_owned();
    let max_period = match args.get("max-period") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|p| *p > 0)
                .ok_or("'max-period' must be a positive integer in the 'ha-sync' command")?,
        ),
    };
    Ok(HaSyncArgs {
        server_name,
        max_period,
    })
}

/// `ha-scopes`' argument checks: a list of names (possibly empty).
pub fn parse_ha_scopes(arguments: Option<&Value>) -> Result<Vec<String>, String> {
    let scopes = arguments
        .and_then(Value::as_object)
        .and_then(|a| a.get("scopes"))
        .ok_or("'scopes' is mandatory for the 'ha-scopes' command")?;
    let list = scopes
        .as_array()
        .ok_or("'scopes' must be a list in the 'ha-scopes' command")?;
    list.iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| "scope name must be a string in the 'scopes' argument".to_owned())
        })
        .collect()
}

/// `ha-maintenance-notify`'s `cancel` flag. Kea 2.2 closes the connection without an answer
/// when it is missing; Nestor answers this error instead.
pub fn parse_maintenance_notify(arguments: Option<&Value>) -> Result<bool, String> {
    arguments
        .and_then(Value::as_object)
        .and_then(|a| a.get("cancel"))
        .and_then(Value::as_bool)
        .ok_or_else(|| {
            "'cancel' is mandatory for the 'ha-maintenance-notify' command and must be a boolean"
                .to_owned()
        })
}

/// The HA part of `status-get` (reference 1.13): `local` always, `remote` (from
/// [`crate::failure::CommState::report`]) except in passive-backup mode and on backups.
pub fn status_get_part(
    mode: &str,
    role: &str,
    state: HaState,
    scopes: &[String],
    remote: Option<Value>,
) -> Value {
    let mut servers = Map::new();
    servers.insert(
        "local".into(),
        json!({ "role": role, "scopes": scopes, "state": state.name() }),
    );
    if let Some(remote) = remote {
        servers.insert("remote".into(), remote);
    }
    json!([ { "ha-mode": mode, "ha-servers": Value::Object(servers) } ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::command_body;
    use nestor_leases::{ClientId, HwAddr};

    fn lease(octets: [u8; 6], address: [u8; 4], expire: u64) -> Lease4 {
        let mut id = vec![1u8];
        id.extend_from_slice(&octets);
        Lease4::new(
            address.into(),
            HwAddr::new(1, &octets).unwrap(),
            Some(ClientId::new(&id).unwrap()),
            3600,
            expire - 3600,
            1,
        )
    }

    #[test]
    fn lease4_update_is_byte_for_byte_the_captured_request() {
        // capture-hs.http.txt, stream 0: the first lease update, Content-Length 316.
        let l = lease(
            [0x5e, 0xd0, 0x82, 0x50, 0x87, 0x99],
            [198, 18, 1, 0],
            1_795_638_557,
        );
        let body = command_body("lease4-update", Some(lease_arguments(&l, true)));
        assert_eq!(
            body,
            r#"{ "arguments": { "client-id": "01:5e:d0:82:50:87:99", "expire": 1795638557, "force-create": true, "fqdn-fwd": false, "fqdn-rev": false, "hostname": "", "hw-address": "5e:d0:82:50:87:99", "ip-address": "198.18.1.0", "state": 0, "subnet-id": 1, "valid-lft": 3600 }, "command": "lease4-update", "service": [ "dhcp4" ] }"#
        );
        assert_eq!(body.len(), 316);
    }

    #[test]
    fn lease4_del_has_no_force_create_and_no_client_id_when_absent() {
        let mut l = lease(
            [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x00],
            [192, 0, 2, 10],
            1_795_636_590,
        );
        l.client_id = None;
        l.valid_lifetime = 4000;
        l.cltt = 1_795_636_590 - 4000;
        l.subnet_id = 7;
        assert_eq!(
            command_body("lease4-del", Some(lease_arguments(&l, false))),
            r#"{ "arguments": { "expire": 1795636590, "fqdn-fwd": false, "fqdn-rev": false, "hostname": "", "hw-address": "aa:bb:cc:dd:ee:00", "ip-address": "192.0.2.10", "state": 0, "subnet-id": 7, "valid-lft": 4000 }, "command": "lease4-del", "service": [ "dhcp4" ] }"#
        );
    }

    #[test]
    fn heartbeat_answer_and_sync_requests_as_captured() {
        let at = httpdate::parse("Wed, 25 Nov 2026 19:29:27 GMT").unwrap();
        let answer = nestor_ctrl::Answer::success("HA peer status returned.")
            .with_arguments(heartbeat_arguments(HaState::HotStandby, at, &[], 0));
        assert_eq!(
            nestor_ctrl::to_kea_json(&vec![answer]),
            r#"[ { "arguments": { "date-time": "Wed, 25 Nov 2026 19:29:27 GMT", "scopes": [  ], "state": "hot-standby", "unsent-update-count": 0 }, "result": 0, "text": "HA peer status returned." } ]"#
        );
        assert_eq!(
            command_body(
                "dhcp-disable",
                Some(dhcp_disable_arguments(automatic_sync_max_period(60_000)))
            ),
            r#"{ "arguments": { "max-period": 60, "origin": "ha-partner" }, "command": "dhcp-disable", "service": [ "dhcp4" ] }"#
        );
        assert_eq!(automatic_sync_max_period(500), 1);
        assert_eq!(dhcp_disable_arguments(0), json!({"origin": "ha-partner"}));
        assert_eq!(
            command_body("lease4-get-page", Some(get_page_arguments(None, 10_000))),
            r#"{ "arguments": { "from": "start", "limit": 10000 }, "command": "lease4-get-page", "service": [ "dhcp4" ] }"#
        );
        assert_eq!(
            get_page_arguments(Some([198, 18, 1, 9].into()), 5)["from"],
            "198.18.1.9"
        );
    }

    #[test]
    fn ha_sync_argument_checks() {
        assert_eq!(
            parse_ha_sync(None).unwrap_err(),
            "arguments not found in the 'ha-sync' command"
        );
        assert_eq!(
            parse_ha_sync(Some(&json!({}))).unwrap_err(),
            "'server-name' is mandatory for the 'ha-sync' command"
        );
        for bad in [json!(0), json!(-1), json!("5")] {
            assert_eq!(
                parse_ha_sync(Some(&json!({"server-name": "server2", "max-period": bad})))
                    .unwrap_err(),
                "'max-period' must be a positive integer in the 'ha-sync' command"
            );
        }
        assert_eq!(
            parse_ha_sync(Some(&json!({"server-name": "server2", "max-period": 30}))).unwrap(),
            HaSyncArgs {
                server_name: "server2".into(),
                max_period: Some(30)
            }
        );
    }

    #[test]
    fn ha_scopes_and_maintenance_notify_argument_checks() {
        assert_eq!(
            parse_ha_scopes(Some(&json!({"scopes": []}))).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            parse_ha_scopes(Some(&json!({"scopes": ["server1"]}))).unwrap(),
            ["server1"]
        );
        assert!(
            parse_ha_scopes(None)
                .unwrap_err()
                .contains("'scopes' is mandatory")
        );
        assert!(
            parse_ha_scopes(Some(&json!({"scopes": "server1"})))
                .unwrap_err()
                .contains("'scopes' must be a list")
        );
        assert_eq!(
            parse_maintenance_notify(Some(&json!({"cancel": true}))),
            Ok(true)
        );
        assert!(parse_maintenance_notify(Some(&json!({}))).is_err());
        assert!(parse_maintenance_notify(Some(&json!({"cancel": "yes"}))).is_err());
    }

    #[test]
    fn status_get_part_shape() {
        let part = status_get_part(
            "hot-standby",
            "primary",
            HaState::HotStandby,
            &["kea_1".into()],
            None,
        );
        assert_eq!(
            serde_json::to_string(&part).unwrap(),
            r#"[{"ha-mode":"hot-standby","ha-servers":{"local":{"role":"primary","scopes":["kea_1"],"state":"hot-standby"}}}]"#
        );
    }
}
