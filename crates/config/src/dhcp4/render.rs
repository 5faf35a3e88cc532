//! `config-get` rendering: the configuration in the shape Kea 2.2 returns it.
//!
//! Checked against `config-get` of a running `kea-dhcp4` 2.2: globals appear with their
//! defaults; subnets and shared networks show the lifetime triplet, timers and TEE settings as
//! inherited at load time and other parameters only where set; sections such as
//! `lease-database` show what was configured.

use serde_json::{Map, Value as J, json};

use super::sections::{DatabaseConfig, OutboundInterface, SocketType};
use super::{Dhcp4Config, Pool, SharedNetwork, Subnet4};
use crate::common::Logger;
use crate::dhcp4::options::{ClientClass, ConfiguredOption};
use crate::dhcp4::reservation::Reservation;

fn options(list: &[ConfiguredOption]) -> J {
    J::Array(list.iter().map(ConfiguredOption::to_kea_json).collect())
}

fn with_context(mut v: J, uc: Option<&J>) -> J {
    if let (Some(uc), Some(m)) = (uc, v.as_object_mut()) {
        m.insert("user-context".into(), uc.clone());
    }
    v
}

fn relay(addrs: &[std::net::Ipv4Addr]) -> J {
    json!({"ip-addresses": addrs.iter().map(ToString::to_string).collect::<Vec<_>>()})
}

fn classes_into(m: &mut Map<String, J>, client_class: Option<&String>, required: &[String]) {
    if let Some(c) = client_class {
        m.insert("client-class".into(), c.clone().into());
    }
    if !required.is_empty() {
        m.insert("require-client-classes".into(), required.to_vec().into());
    }
}

/// Kea prints a pool that covers exactly one CIDR block in prefix form, others as a range.
fn pool_text(p: &Pool) -> String {
    let (first, last) = (u32::from(p.first), u32::from(p.last));
    let size = u64::from(last) - u64::from(first) + 1;
    if size.is_power_of_two() && u64::from(first) % size == 0 {
        format!("{}/{}", p.first, 32 - size.trailing_zeros())
    } else {
        format!("{}-{}", p.first, p.last)
    }
}

fn pool(p: &Pool) -> J {
    let mut m = Map::new();
    m.insert("pool".into(), pool_text(p).into());
    m.insert("option-data".into(), options(&p.options));
    classes_into(&mut m, p.client_class.as_ref(), &p.require_client_classes);
    with_context(J::Object(m), p.user_context.as_ref())
}

fn subnet(s: &Subnet4, network: Option<&SharedNetwork>) -> J {
    let mut m = Map::new();
    m.insert("id".into(), s.id.into());
    m.insert("subnet".into(), s.prefix.to_string().into());
    s.params.write_kea_json(&s.configured, false, &mut m);
    m.insert("pools".into(), J::Array(s.pools.iter().map(pool).collect()));
    m.insert("option-data".into(), options(&s.options));
    let reservations = s
        .reservations
        .iter()
        .map(Reservation::to_kea_json)
        .collect();
    m.insert("reservations".into(), J::Array(reservations));
    // Kea derives the network's relay into its subnets; interface and class stay at the network.
    m.insert("relay".into(), relay(&s.relay_addresses));
    let inherited =
        |mine: &Option<String>, net: Option<&Option<String>>| net.is_some_and(|n| n == mine);
    if let Some(i) = &s.interface
        && !inherited(&s.interface, network.map(|n| &n.interface))
    {
        m.insert("interface".into(), i.clone().into());
    }
    let class = s
        .client_class
        .as_ref()
        .filter(|_| !inherited(&s.client_class, network.map(|n| &n.client_class)));
    classes_into(&mut m, class, &s.require_client_classes);
    m.insert("4o6-interface".into(), s.dhcp4o6[0].clone().into());
    m.insert("4o6-interface-id".into(), s.dhcp4o6[1].clone().into());
    m.insert("4o6-subnet".into(), s.dhcp4o6[2].clone().into());
    with_context(J::Object(m), s.user_context.as_ref())
}

fn network(n: &SharedNetwork, subnets: &[Subnet4]) -> J {
    let mut m = Map::new();
    m.insert("name".into(), n.name.clone().into());
    n.params.write_kea_json(&n.configured, false, &mut m);
    m.insert("option-data".into(), options(&n.options));
    m.insert("relay".into(), relay(&n.relay_addresses));
    if let Some(i) = &n.interface {
        m.insert("interface".into(), i.clone().into());
    }
    classes_into(&mut m, n.client_class.as_ref(), &n.require_client_classes);
    let members = n
        .subnet_ids
        .iter()
        .filter_map(|id| subnets.iter().find(|s| s.id == *id))
        .map(|s| subnet(s, Some(n)))
        .collect();
    m.insert("subnet4".into(), J::Array(members));
    with_context(J::Object(m), n.user_context.as_ref())
}

/// A database map with the keys that differ from Kea's defaults (Kea shows what was written;
/// a key written with its default value is the only thing lost).
fn database(db: &DatabaseConfig) -> J {
    let d = DatabaseConfig::default();
    let mut m = Map::new();
    m.insert("type".into(), db.db_type.kea_name().into());
    let strings = [
        ("name", &db.name),
        ("host", &db.host),
        ("user", &db.user),
        ("password", &db.password),
        ("trust-anchor", &db.trust_anchor),
        ("cert-file", &db.cert_file),
        ("key-file", &db.key_file),
        ("cipher-list", &db.cipher_list),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            m.insert(k.into(), v.clone().into());
        }
    }
    if let Some(p) = db.port {
        m.insert("port".into(), p.into());
    }
    let numbers = [
        ("connect-timeout", db.connect_timeout, d.connect_timeout),
        (
            "max-reconnect-tries",
            db.max_reconnect_tries,
            d.max_reconnect_tries,
        ),
        (
            "reconnect-wait-time",
            db.reconnect_wait_time,
            d.reconnect_wait_time,
        ),
        ("lfc-interval", db.lfc_interval, d.lfc_interval),
        ("max-row-errors", db.max_row_errors, d.max_row_errors),
    ];
    for (k, v, default) in numbers {
        if v != default {
            m.insert(k.into(), v.into());
        }
    }
    if db.on_fail != d.on_fail {
        m.insert("on-fail".into(), db.on_fail.kea_name().into());
    }
    if db.persist != d.persist {
        m.insert("persist".into(), db.persist.into());
    }
    if db.readonly {
        m.insert("readonly".into(), true.into());
    }
    J::Object(m)
}

fn client_class(c: &ClientClass) -> J {
    let mut m = Map::new();
    m.insert("name".into(), c.name.clone().into());
    if !c.test.is_empty() {
        m.insert("test".into(), c.test.clone().into());
    }
    if c.only_if_required {
        m.insert("only-if-required".into(), true.into());
    }
    m.insert("option-data".into(), options(&c.options));
    m.insert("option-def".into(), J::Array(Vec::new()));
    let p = &c.params;
    let next_server = p.next_server.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    m.insert("next-server".into(), next_server.to_string().into());
    m.insert(
        "server-hostname".into(),
        p.server_hostname.clone().unwrap_or_default().into(),
    );
    m.insert(
        "boot-file-name".into(),
        p.boot_file_name.clone().unwrap_or_default().into(),
    );
    let lifetimes = [
        ("valid-lifetime", p.valid_lifetime),
        ("min-valid-lifetime", p.min_valid_lifetime),
        ("max-valid-lifetime", p.max_valid_lifetime),
    ];
    for (k, v) in lifetimes {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    }
    with_context(J::Object(m), c.user_context.as_ref())
}

impl Dhcp4Config {
    /// The configuration as `config-get` returns it: `{"Dhcp4": {...}}`, defaults filled in the
    /// way Kea 2.2 fills them. Option definitions: custom ones only, as Kea.
    pub fn to_kea_json(&self) -> J {
        let mut m = Map::new();
        self.global_params
            .write_kea_json(&self.global_scope, true, &mut m);

        let i = &self.interfaces;
        let mut ifc = Map::new();
        ifc.insert(
            "interfaces".into(),
            i.interfaces
                .iter()
                .map(|s| s.kea_name())
                .collect::<Vec<_>>()
                .into(),
        );
        ifc.insert("re-detect".into(), i.re_detect.into());
        if i.socket_type_explicit {
            let t = match i.socket_type {
                SocketType::Raw => "raw",
                SocketType::Udp => "udp",
            };
            ifc.insert("dhcp-socket-type".into(), t.into());
        }
        if i.outbound_interface == OutboundInterface::UseRouting {
            ifc.insert("outbound-interface".into(), "use-routing".into());
        }
        if i.service_sockets_require_all {
            ifc.insert("service-sockets-require-all".into(), true.into());
        }
        if i.service_sockets_max_retries != 0 {
            ifc.insert(
                "service-sockets-max-retries".into(),
                i.service_sockets_max_retries.into(),
            );
            ifc.insert(
                "service-sockets-retry-wait-time".into(),
                i.service_sockets_retry_wait_time.into(),
            );
        }
        m.insert(
            "interfaces-config".into(),
            with_context(J::Object(ifc), i.user_context.as_ref()),
        );

        m.insert("lease-database".into(), database(&self.lease_database));
        if !self.hosts_databases.is_empty() {
            m.insert(
                "hosts-databases".into(),
                self.hosts_databases
                    .iter()
                    .map(database)
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        let e = &self.expired_leases;
        m.insert(
            "expired-leases-processing".into(),
            json!({
                "reclaim-timer-wait-time": e.reclaim_timer_wait_time,
                "flush-reclaimed-timer-wait-time": e.flush_reclaimed_timer_wait_time,
                "hold-reclaimed-time": e.hold_reclaimed_time,
                "max-reclaim-leases": e.max_reclaim_leases,
                "max-reclaim-time": e.max_reclaim_time,
                "unwarned-reclaim-cycles": e.unwarned_reclaim_cycles,
            }),
        );
        if let Some(cs) = &self.control_socket {
            m.insert("control-socket".into(), cs.to_kea_json());
        }
        let hooks = self
            .hooks
            .iter()
            .map(|h| {
                let mut v = Map::new();
                v.insert("library".into(), h.library.clone().into());
                if let Some(p) = &h.parameters {
                    v.insert("parameters".into(), p.to_json());
                }
                J::Object(v)
            })
            .collect();
        m.insert("hooks-libraries".into(), J::Array(hooks));
        let mt = &self.multi_threading;
        m.insert(
            "multi-threading".into(),
            json!({"enable-multi-threading": mt.enable, "thread-pool-size": mt.thread_pool_size,
                   "packet-queue-size": mt.packet_queue_size}),
        );
        let q = &self.queue_control;
        let mut qv = Map::new();
        qv.insert("enable-queue".into(), q.enable_queue.into());
        qv.insert("queue-type".into(), q.queue_type.clone().into());
        qv.insert("capacity".into(), q.capacity.into());
        qv.extend(q.extra.clone());
        m.insert("dhcp-queue-control".into(), J::Object(qv));
        m.insert(
            "sanity-checks".into(),
            json!({"lease-checks": self.lease_checks.kea_name()}),
        );
        let d = &self.dhcp_ddns;
        m.insert(
            "dhcp-ddns".into(),
            with_context(
                json!({
                    "enable-updates": d.enable_updates, "server-ip": d.server_ip.to_string(),
                    "server-port": d.server_port, "sender-ip": d.sender_ip.to_string(),
                    "sender-port": d.sender_port, "max-queue-size": d.max_queue_size,
                    "ncr-protocol": "UDP", "ncr-format": "JSON"}),
                d.user_context.as_ref(),
            ),
        );
        m.insert(
            "loggers".into(),
            J::Array(self.loggers.iter().map(Logger::to_kea_json).collect()),
        );
        let defs = self
            .option_defs
            .custom_defs()
            .map(|d| {
                let records: Vec<&str> = d.record_types.iter().map(|t| t.kea_name()).collect();
                json!({"name": d.name, "code": d.code, "space": d.space,
                       "type": d.data_type.kea_name(), "array": d.array,
                       "record-types": records.join(", "), "encapsulate": d.encapsulate})
            })
            .collect();
        m.insert("option-def".into(), J::Array(defs));
        m.insert("option-data".into(), options(&self.options));
        m.insert(
            "client-classes".into(),
            self.client_classes
                .iter()
                .map(client_class)
                .collect::<Vec<_>>()
                .into(),
        );
        let networks = self
            .shared_networks
            .iter()
            .map(|n| network(n, &self.subnets))
            .collect();
        m.insert("shared-networks".into(), J::Array(networks));
        let plain = self
            .subnets
            .iter()
            .filter(|s| s.shared_network.is_none())
            .map(|s| subnet(s, None));
        m.insert("subnet4".into(), J::Array(plain.collect()));
        if !self.reservations.is_empty() {
            let r = self
                .reservations
                .iter()
                .map(Reservation::to_kea_json)
                .collect();
            m.insert("reservations".into(), J::Array(r));
        }
        let ids: Vec<&str> = self
            .host_reservation_identifiers
            .iter()
            .map(|t| t.kea_name())
            .collect();
        m.insert("host-reservation-identifiers".into(), ids.into());
        m.insert(
            "decline-probation-period".into(),
            self.decline_probation_period.into(),
        );
        m.insert("echo-client-id".into(), self.echo_client_id.into());
        m.insert("dhcp4o6-port".into(), self.dhcp4o6_port.into());
        m.insert("server-tag".into(), self.server_tag.clone().into());
        m.insert(
            "statistic-default-sample-count".into(),
            self.statistic_default_sample_count.into(),
        );
        m.insert(
            "statistic-default-sample-age".into(),
            self.statistic_default_sample_age.into(),
        );
        m.insert(
            "ip-reservations-unique".into(),
            self.ip_reservations_unique.into(),
        );
        m.insert(
            "early-global-reservations-lookup".into(),
            self.early_global_reservations_lookup.into(),
        );
        m.insert(
            "reservations-lookup-first".into(),
            self.reservations_lookup_first.into(),
        );
        m.insert(
            "parked-packet-limit".into(),
            self.parked_packet_limit.into(),
        );
        let root = with_context(J::Object(m), self.user_context.as_ref());
        json!({"Dhcp4": root})
    }
}
