//! The `Dhcp4` section: walking Kea 2.2's grammar into [`Dhcp4Config`].
//!
//! Keys accepted per map are exactly those of Kea 2.2's `dhcp4_parser.yy`; anything else is
//! "got unexpected keyword". Defaults are Kea's (reference 4.2). Sections are read in the order
//! Kea applies them where it matters: `option-def` (global, then in client classes) before any
//! `option-data`, `shared-networks` before `subnet4` (subnet auto-numbering).

pub mod expr;
pub mod options;
pub mod params;
mod render;
pub mod reservation;
mod sections;
pub mod subnet;

use nestor_proto::option::OptionDefs;

pub use options::{ClientClass, ConfiguredOption};
pub use params::{
    DdnsParams, LeaseParams, Lifetime, ReplaceClientName, ReservationFlags, ScopeParams,
};
pub use reservation::{HostIdentifier, IdentifierType, Reservation};
pub use sections::{
    DEFAULT_LEASE_FILE, DatabaseConfig, DbType, DhcpDdns, ExpiredLeasesProcessing, InterfaceSpec,
    InterfacesConfig, LeaseChecks, MultiThreading, OnFail, OutboundInterface, QueueControl,
    SocketType,
};
pub use subnet::{Pool, SUBNET_ID_MAX, SharedNetwork, Subnet4};

use crate::common::{
    ControlSocket, HookLibrary, Logger, parse_control_socket, parse_hooks, parse_loggers,
};
use crate::error::ErrorKind;
use crate::hooks::ha::{HaConfig, parse_ha_parameters};
use crate::json::Node;
use crate::reader::{Ctx, MapReader};
use subnet::{Numbering, Parent, SubnetCtx, parse_shared_networks, parse_subnet};

/// The validated DHCPv4 server configuration.
#[derive(Clone, Debug)]
pub struct Dhcp4Config {
    pub interfaces: InterfacesConfig,
    pub lease_database: DatabaseConfig,
    pub hosts_databases: Vec<DatabaseConfig>,
    pub expired_leases: ExpiredLeasesProcessing,
    pub control_socket: Option<ControlSocket>,
    pub hooks: Vec<HookLibrary>,
    /// The parsed `high-availability` parameters when `libdhcp_ha.so` is configured.
    pub ha: Option<HaConfig>,
    pub multi_threading: MultiThreading,
    pub queue_control: QueueControl,
    pub lease_checks: LeaseChecks,
    pub dhcp_ddns: DhcpDdns,
    pub loggers: Vec<Logger>,
    /// Standard definitions plus every `option-def`.
    pub option_defs: OptionDefs,
    /// Global `option-data`.
    pub options: Vec<ConfiguredOption>,
    pub client_classes: Vec<ClientClass>,
    pub shared_networks: Vec<SharedNetwork>,
    /// Every subnet (members of shared networks first, in Kea's numbering order).
    pub subnets: Vec<Subnet4>,
    /// Global `reservations`.
    pub reservations: Vec<Reservation>,
    pub host_reservation_identifiers: Vec<IdentifierType>,
    /// Global parameters resolved with Kea's defaults (what a subnet-less query uses).
    pub global_params: LeaseParams,
    /// The global level as written, the root of inheritance.
    pub global_scope: ScopeParams,
    pub decline_probation_period: u32,
    pub echo_client_id: bool,
    pub dhcp4o6_port: u16,
    pub server_tag: String,
    pub statistic_default_sample_count: u32,
    pub statistic_default_sample_age: u32,
    pub ip_reservations_unique: bool,
    pub early_global_reservations_lookup: bool,
    pub reservations_lookup_first: bool,
    /// 0 = unlimited.
    pub parked_packet_limit: u32,
    pub lenient_option_parsing: bool,
    pub user_context: Option<serde_json::Value>,
}

impl Dhcp4Config {
    /// The subnet with this id.
    pub fn subnet(&self, id: u32) -> Option<&Subnet4> {
        self.subnets.iter().find(|s| s.id == id)
    }
}

const DEFAULT_IDENTIFIERS: [IdentifierType; 4] = [
    IdentifierType::HwAddress,
    IdentifierType::Duid,
    IdentifierType::CircuitId,
    IdentifierType::ClientId,
];

/// Walks a `Dhcp4` map. `extra_loggers` come from a legacy top-level `Logging` section.
pub(crate) fn parse(
    ctx: &mut Ctx,
    node: &Node,
    extra_loggers: Option<(&Node, String)>,
) -> Option<Dhcp4Config> {
    let mut m = MapReader::new(ctx, node, "Dhcp4", "Dhcp4")?;
    let start_errors = ctx.errors.len();
    if matches!(&node.value, crate::json::Value::Map(e) if e.is_empty()) {
        // Kea's grammar wants at least one parameter in Dhcp4 ("syntax error, unexpected }").
        ctx.error(
            "Dhcp4",
            &node.loc,
            ErrorKind::Syntax(
                "unexpected }: the Dhcp4 map must hold at least one parameter".into(),
            ),
        );
        return None;
    }

    let global_scope = params::read_scope_params(ctx, &mut m);
    global_scope.check(&global_scope, ctx, "Dhcp4", &node.loc);

    // Definitions first: option-data anywhere may use them.
    let mut defs = OptionDefs::standard();
    if let Some(list) = m.list(ctx, "option-def") {
        options::parse_option_defs(ctx, list, "Dhcp4.option-def", &mut defs);
    }
    let client_classes = match m.list(ctx, "client-classes") {
        Some(list) => options::parse_client_classes(ctx, list, "Dhcp4.client-classes", &mut defs),
        None => Vec::new(),
    };
    let global_options = match m.list(ctx, "option-data") {
        Some(list) => options::parse_option_data(ctx, list, "Dhcp4.option-data", &defs),
        None => Vec::new(),
    };

    let interfaces = match m.map(ctx, "interfaces-config") {
        Some(n) => sections::parse_interfaces(ctx, n, "Dhcp4.interfaces-config"),
        None => InterfacesConfig::default(),
    };
    let lease_database = match m.map(ctx, "lease-database") {
        Some(n) => sections::parse_database(ctx, n, "Dhcp4.lease-database", "lease-database", true),
        None => Some(DatabaseConfig::default()),
    }
    .unwrap_or_default();
    let mut hosts_databases = Vec::new();
    if let Some(n) = m.map(ctx, "hosts-database") {
        hosts_databases.extend(sections::parse_database(
            ctx,
            n,
            "Dhcp4.hosts-database",
            "hosts-database",
            false,
        ));
    }
    if let Some(list) = m.list(ctx, "hosts-databases") {
        if m.has("hosts-database") {
            ctx.error(
                "Dhcp4.hosts-databases",
                &node.loc,
                ErrorKind::Invalid(
                    "only one of hosts-database and hosts-databases may be given".into(),
                ),
            );
        }
        for (_, p, n) in crate::reader::each_map(ctx, list, "Dhcp4.hosts-databases") {
            hosts_databases.extend(sections::parse_database(
                ctx,
                n,
                &p,
                "hosts-databases",
                false,
            ));
        }
    }
    let expired_leases = match m.map(ctx, "expired-leases-processing") {
        Some(n) => sections::parse_expired(ctx, n, "Dhcp4.expired-leases-processing"),
        None => ExpiredLeasesProcessing::default(),
    };
    let control_socket = m
        .map(ctx, "control-socket")
        .and_then(|n| parse_control_socket(ctx, n, "Dhcp4.control-socket", "control-socket"));
    let hooks = match m.list(ctx, "hooks-libraries") {
        Some(list) => parse_hooks(ctx, list, "Dhcp4.hooks-libraries"),
        None => Vec::new(),
    };
    let mut ha = None;
    for hook in hooks
        .iter()
        .filter(|h| h.hook == crate::common::BuiltinHook::Ha)
    {
        if ha.is_some() {
            ctx.error(
                &hook.parameters_path,
                &node.loc,
                ErrorKind::HighAvailability("libdhcp_ha.so is configured more than once".into()),
            );
            continue;
        }
        ha = parse_ha_parameters(
            ctx,
            hook.parameters.as_ref(),
            &hook.parameters_path,
            &node.loc,
        );
    }
    let multi_threading = match m.map(ctx, "multi-threading") {
        Some(n) => sections::parse_multi_threading(ctx, n, "Dhcp4.multi-threading"),
        None => MultiThreading::default(),
    };
    let queue_control = match m.map(ctx, "dhcp-queue-control") {
        Some(n) => sections::parse_queue_control(ctx, n, "Dhcp4.dhcp-queue-control"),
        None => QueueControl::default(),
    };
    let lease_checks = match m.map(ctx, "sanity-checks") {
        Some(n) => sections::parse_sanity_checks(ctx, n, "Dhcp4.sanity-checks"),
        None => LeaseChecks::Warn,
    };
    let dhcp_ddns = match m.map(ctx, "dhcp-ddns") {
        Some(n) => sections::parse_dhcp_ddns(ctx, n, "Dhcp4.dhcp-ddns"),
        None => DhcpDdns::default(),
    };
    let mut loggers = match m.list(ctx, "loggers") {
        Some(list) => parse_loggers(ctx, list, "Dhcp4.loggers"),
        None => Vec::new(),
    };
    if let Some((lnode, lpath)) = extra_loggers {
        if m.has("loggers") {
            ctx.error(&lpath, &lnode.loc, ErrorKind::Invalid(
                "loggers are configured both in Dhcp4.loggers and in the top-level Logging section".into(),
            ));
        } else if let crate::json::Value::List(items) = &lnode.value {
            loggers = parse_loggers(ctx, items, &lpath);
        }
    }

    let host_reservation_identifiers = match m.str_list(ctx, "host-reservation-identifiers") {
        Some(list) => {
            let mut ids = Vec::new();
            for (i, (s, loc)) in list.into_iter().enumerate() {
                match IdentifierType::from_kea_name(s) {
                    Some(t) if !ids.contains(&t) => ids.push(t),
                    Some(_) => ctx.error(
                        &format!("Dhcp4.host-reservation-identifiers[{i}]"),
                        loc,
                        ErrorKind::Duplicate(format!("duplicate host identifier '{s}'")),
                    ),
                    None => ctx.error(
                        &format!("Dhcp4.host-reservation-identifiers[{i}]"),
                        loc,
                        ErrorKind::NotOneOf {
                            value: s.to_string(),
                            expected: "duid or hw-address or circuit-id or client-id or flex-id"
                                .into(),
                        },
                    ),
                }
            }
            ids
        }
        None => DEFAULT_IDENTIFIERS.to_vec(),
    };

    let decline_probation_period = m.u32(ctx, "decline-probation-period").unwrap_or(86_400);
    let echo_client_id = m.bool(ctx, "echo-client-id").unwrap_or(true);
    let dhcp4o6_port = m.u16(ctx, "dhcp4o6-port").unwrap_or(0);
    let server_tag = m.str(ctx, "server-tag").unwrap_or("").to_string();
    let statistic_default_sample_count = m.u32(ctx, "statistic-default-sample-count").unwrap_or(20);
    let statistic_default_sample_age = m.u32(ctx, "statistic-default-sample-age").unwrap_or(0);
    let ip_reservations_unique = m.bool(ctx, "ip-reservations-unique").unwrap_or(true);
    let early_global_reservations_lookup = m
        .bool(ctx, "early-global-reservations-lookup")
        .unwrap_or(false);
    let reservations_lookup_first = m.bool(ctx, "reservations-lookup-first").unwrap_or(false);
    let parked_packet_limit = m.u32(ctx, "parked-packet-limit").unwrap_or(256);
    let lenient_option_parsing = match m.map(ctx, "compatibility") {
        Some(n) => {
            let mut c = MapReader::new(ctx, n, "Dhcp4.compatibility", "compatibility");
            let v = c
                .as_mut()
                .and_then(|c| c.bool(ctx, "lenient-option-parsing"))
                .unwrap_or(false);
            if let Some(c) = c {
                c.finish(ctx);
            }
            v
        }
        None => false,
    };
    if let Some(n) = m.get("config-control") {
        ctx.error(
            "Dhcp4.config-control",
            &n.loc,
            ErrorKind::Invalid(
                "config-control (configuration backend) is not supported by Nestor".into(),
            ),
        );
    }
    let user_context = m.user_context(ctx);

    let global_reservations = match m.list(ctx, "reservations") {
        Some(list) => reservation::parse_reservations(
            ctx,
            list,
            "Dhcp4.reservations",
            &defs,
            None,
            ip_reservations_unique,
        ),
        None => Vec::new(),
    };

    let mut numbering = Numbering::new();
    let mut subnets = Vec::new();
    let mut sc = SubnetCtx {
        defs: &defs,
        ip_unique: ip_reservations_unique,
        numbering: &mut numbering,
    };
    let shared_networks = match m.list(ctx, "shared-networks") {
        Some(list) => parse_shared_networks(
            ctx,
            &mut sc,
            list,
            "Dhcp4.shared-networks",
            &global_scope,
            &mut subnets,
        ),
        None => Vec::new(),
    };
    if let Some(list) = m.list(ctx, "subnet4") {
        let parent = Parent {
            params: &global_scope,
            network: None,
        };
        for (_, p, n) in crate::reader::each_map(ctx, list, "Dhcp4.subnet4") {
            if let Some(s) = parse_subnet(ctx, &mut sc, n, &p, &parent) {
                subnets.push(s);
            }
        }
    }
    m.finish(ctx);

    if ctx.errors.len() > start_errors {
        return None;
    }
    Some(Dhcp4Config {
        interfaces,
        lease_database,
        hosts_databases,
        expired_leases,
        control_socket,
        hooks,
        ha,
        multi_threading,
        queue_control,
        lease_checks,
        dhcp_ddns,
        loggers,
        option_defs: defs,
        options: global_options,
        client_classes,
        shared_networks,
        subnets,
        reservations: global_reservations,
        host_reservation_identifiers,
        global_params: global_scope.resolve(),
        global_scope,
        decline_probation_period,
        echo_client_id,
        dhcp4o6_port,
        server_tag,
        statistic_default_sample_count,
        statistic_default_sample_age,
        ip_reservations_unique,
        early_global_reservations_lookup,
        reservations_lookup_first,
        parked_packet_limit,
        lenient_option_parsing,
        user_context,
    })
}

#[cfg(test)]
mod tests;
