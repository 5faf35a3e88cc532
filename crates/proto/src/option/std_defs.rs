//! Kea 2.2's built-in DHCPv4 option definitions (`src/lib/dhcp/std_option_defs.h`,
//! `docsis3_option_defs.h`), as data.
//!
//! * `dhcp4`: the 113 standard definitions. Option 43 is not among them: Kea keeps it as a
//!   *last resort* definition (empty, encapsulating `vendor-encapsulated-options-space`) that
//!   applies only when no standard, custom or vendor definition exists, so an `option-def` for
//!   code 43 in `dhcp4` is allowed and takes precedence.
//! * `docsis3-v4`: `oro` (1) and `tftp-servers` (2), the sub-options of option 43 for
//!   CableLabs vendor 4491.
//! * `vendor-encapsulated-options-space` and `dhcp-agent-options-space` exist but are empty in
//!   2.2 (relay agent sub-options are interpreted by code, not through definitions).

use super::types::OptionDataType::{self, *};

/// One row of a built-in table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StdDef {
    pub(crate) code: u8,
    pub(crate) name: &'static str,
    pub(crate) ty: OptionDataType,
    pub(crate) array: bool,
    pub(crate) records: &'static [OptionDataType],
    pub(crate) encapsulate: &'static str,
}

/// Name of the standard DHCPv4 option space.
pub const DHCP4_SPACE: &str = "dhcp4";
/// Space of the sub-options of option 43 when no vendor is known.
pub const VENDOR_ENCAPSULATED_SPACE: &str = "vendor-encapsulated-options-space";
/// Space of the relay agent information (82) sub-options.
pub const AGENT_OPTIONS_SPACE: &str = "dhcp-agent-options-space";
/// Space of the DOCSIS 3.0 (vendor 4491) sub-options of option 43.
pub const DOCSIS3_V4_SPACE: &str = "docsis3-v4";

// Row constructors, so that the tables read one definition per line.

const fn single(code: u8, name: &'static str, ty: OptionDataType) -> StdDef {
    StdDef {
        code,
        name,
        ty,
        array: false,
        records: &[],
        encapsulate: "",
    }
}

const fn array(code: u8, name: &'static str, ty: OptionDataType) -> StdDef {
    StdDef {
        code,
        name,
        ty,
        array: true,
        records: &[],
        encapsulate: "",
    }
}

const fn record(
    code: u8,
    name: &'static str,
    array: bool,
    records: &'static [OptionDataType],
) -> StdDef {
    StdDef {
        code,
        name,
        ty: Record,
        array,
        records,
        encapsulate: "",
    }
}

const fn encapsulating(
    code: u8,
    name: &'static str,
    ty: OptionDataType,
    encapsulate: &'static str,
) -> StdDef {
    StdDef {
        code,
        name,
        ty,
        array: false,
        records: &[],
        encapsulate,
    }
}

/// The 113 standard `dhcp4` definitions, in Kea's order.
pub(crate) const DHCP4: &[StdDef] = &[
    single(1, "subnet-mask", Ipv4Address),
    single(2, "time-offset", Int32),
    array(3, "routers", Ipv4Address),
    array(4, "time-servers", Ipv4Address),
    array(5, "name-servers", Ipv4Address),
    array(6, "domain-name-servers", Ipv4Address),
    array(7, "log-servers", Ipv4Address),
    array(8, "cookie-servers", Ipv4Address),
    array(9, "lpr-servers", Ipv4Address),
    array(10, "impress-servers", Ipv4Address),
    array(11, "resource-location-servers", Ipv4Address),
    single(12, "host-name", String),
    single(13, "boot-size", Uint16),
    single(14, "merit-dump", String),
    single(15, "domain-name", String),
    single(16, "swap-server", Ipv4Address),
    single(17, "root-path", String),
    single(18, "extensions-path", String),
    single(19, "ip-forwarding", Boolean),
    single(20, "non-local-source-routing", Boolean),
    array(21, "policy-filter", Ipv4Address),
    single(22, "max-dgram-reassembly", Uint16),
    single(23, "default-ip-ttl", Uint8),
    single(24, "path-mtu-aging-timeout", Uint32),
    array(25, "path-mtu-plateau-table", Uint16),
    single(26, "interface-mtu", Uint16),
    single(27, "all-subnets-local", Boolean),
    single(28, "broadcast-address", Ipv4Address),
    single(29, "perform-mask-discovery", Boolean),
    single(30, "mask-supplier", Boolean),
    single(31, "router-discovery", Boolean),
    single(32, "router-solicitation-address", Ipv4Address),
    array(33, "static-routes", Ipv4Address),
    single(34, "trailer-encapsulation", Boolean),
    single(35, "arp-cache-timeout", Uint32),
    single(36, "ieee802-3-encapsulation", Boolean),
    single(37, "default-tcp-ttl", Uint8),
    single(38, "tcp-keepalive-interval", Uint32),
    single(39, "tcp-keepalive-garbage", Boolean),
    single(40, "nis-domain", String),
    array(41, "nis-servers", Ipv4Address),
    array(42, "ntp-servers", Ipv4Address),
    array(44, "netbios-name-servers", Ipv4Address),
    array(45, "netbios-dd-server", Ipv4Address),
    single(46, "netbios-node-type", Uint8),
    single(47, "netbios-scope", String),
    array(48, "font-servers", Ipv4Address),
    array(49, "x-display-manager", Ipv4Address),
    single(50, "dhcp-requested-address", Ipv4Address),
    single(51, "dhcp-lease-time", Uint32),
    single(52, "dhcp-option-overload", Uint8),
    single(53, "dhcp-message-type", Uint8),
    single(54, "dhcp-server-identifier", Ipv4Address),
    array(55, "dhcp-parameter-request-list", Uint8),
    single(56, "dhcp-message", String),
    single(57, "dhcp-max-message-size", Uint16),
    single(58, "dhcp-renewal-time", Uint32),
    single(59, "dhcp-rebinding-time", Uint32),
    single(60, "vendor-class-identifier", String),
    single(61, "dhcp-client-identifier", Binary),
    single(62, "nwip-domain-name", String),
    single(63, "nwip-suboptions", Binary),
    single(64, "nisplus-domain-name", String),
    array(65, "nisplus-servers", Ipv4Address),
    single(66, "tftp-server-name", String),
    single(67, "boot-file-name", String),
    array(68, "mobile-ip-home-agent", Ipv4Address),
    array(69, "smtp-server", Ipv4Address),
    array(70, "pop-server", Ipv4Address),
    array(71, "nntp-server", Ipv4Address),
    array(72, "www-server", Ipv4Address),
    array(73, "finger-server", Ipv4Address),
    array(74, "irc-server", Ipv4Address),
    array(75, "streettalk-server", Ipv4Address),
    array(76, "streettalk-directory-assistance-server", Ipv4Address),
    single(77, "user-class", Binary),
    record(78, "slp-directory-agent", true, &[Boolean, Ipv4Address]),
    record(79, "slp-service-scope", false, &[Boolean, String]),
    record(81, "fqdn", false, &[Uint8, Uint8, Uint8, Fqdn]),
    encapsulating(82, "dhcp-agent-options", Empty, AGENT_OPTIONS_SPACE),
    array(85, "nds-servers", Ipv4Address),
    single(86, "nds-tree-name", String),
    single(87, "nds-context", String),
    array(88, "bcms-controller-names", Fqdn),
    array(89, "bcms-controller-address", Ipv4Address),
    single(90, "authenticate", Binary),
    single(91, "client-last-transaction-time", Uint32),
    array(92, "associated-ip", Ipv4Address),
    array(93, "client-system", Uint16),
    record(94, "client-ndi", false, &[Uint8, Uint8, Uint8]),
    record(97, "uuid-guid", false, &[Uint8, Binary]),
    single(98, "uap-servers", String),
    single(99, "geoconf-civic", Binary),
    single(100, "pcode", String),
    single(101, "tcode", String),
    single(108, "v6-only-preferred", Uint32),
    array(112, "netinfo-server-address", Ipv4Address),
    single(113, "netinfo-server-tag", String),
    single(114, "v4-captive-portal", String),
    single(116, "auto-config", Uint8),
    array(117, "name-service-search", Uint16),
    single(118, "subnet-selection", Ipv4Address),
    array(119, "domain-search", Fqdn),
    record(124, "vivco-suboptions", false, &[Uint32, Binary]),
    single(125, "vivso-suboptions", Uint32),
    array(136, "pana-agent", Ipv4Address),
    single(137, "v4-lost", Fqdn),
    array(138, "capwap-ac-v4", Ipv4Address),
    array(141, "sip-ua-cs-domains", Fqdn),
    record(
        146,
        "rdnss-selection",
        true,
        &[Uint8, Ipv4Address, Ipv4Address, Fqdn],
    ),
    record(159, "v4-portparams", false, &[Uint8, Psid]),
    record(
        212,
        "option-6rd",
        true,
        &[Uint8, Uint8, Ipv6Address, Ipv4Address],
    ),
    single(213, "v4-access-domain", Fqdn),
];

/// Kea's last-resort definitions: consulted only when nothing else defines the code.
pub(crate) const DHCP4_LAST_RESORT: &[StdDef] = &[encapsulating(
    43,
    "vendor-encapsulated-options",
    Empty,
    VENDOR_ENCAPSULATED_SPACE,
)];

/// DOCSIS 3.0 DHCPv4 sub-options (CableLabs, vendor 4491).
pub(crate) const DOCSIS3_V4: &[StdDef] = &[
    array(1, "oro", Uint8),
    array(2, "tftp-servers", Ipv4Address),
];
