//! Parameters inherited global -> shared network -> subnet, and the lifetime/timer rules.
//!
//! Kea 2.2 stores these scalars at every level and resolves a subnet's value from the nearest
//! level that sets it (ARM 8.2.x "Parameter inheritance"). Nestor reads each level into a
//! [`ScopeParams`] (every field optional) and resolves each subnet into a complete
//! [`LeaseParams`] once, at load time, so the packet path never walks the hierarchy.
//!
//! Consistency rules and their texts follow Kea's `Network4` / triplet parsers:
//! `min-valid-lifetime <= valid-lifetime <= max-valid-lifetime`, `renew-timer <= rebind-timer`,
//! and, with `calculate-tee-times`, `0 < t1-percent < t2-percent < 1`.

use std::net::Ipv4Addr;

use crate::error::{ErrorKind, WarningKind};
use crate::reader::{Ctx, MapReader};

/// Kea's default `valid-lifetime`.
pub const DEFAULT_VALID_LIFETIME: u32 = 7200;
/// Kea's default `t1-percent`.
pub const DEFAULT_T1_PERCENT: f64 = 0.5;
/// Kea's default `t2-percent`.
pub const DEFAULT_T2_PERCENT: f64 = 0.875;

/// `ddns-replace-client-name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceClientName {
    Never,
    Always,
    WhenPresent,
    WhenNotPresent,
}

impl ReplaceClientName {
    pub(crate) const CHOICES: &'static [(&'static str, ReplaceClientName)] = &[
        ("when-present", ReplaceClientName::WhenPresent),
        ("never", ReplaceClientName::Never),
        ("always", ReplaceClientName::Always),
        ("when-not-present", ReplaceClientName::WhenNotPresent),
    ];

    /// Kea's spelling.
    pub fn kea_name(self) -> &'static str {
        match self {
            ReplaceClientName::Never => "never",
            ReplaceClientName::Always => "always",
            ReplaceClientName::WhenPresent => "when-present",
            ReplaceClientName::WhenNotPresent => "when-not-present",
        }
    }
}

/// The inheritable parameters as written at one level (global, shared network or subnet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScopeParams {
    pub valid_lifetime: Option<u32>,
    pub min_valid_lifetime: Option<u32>,
    pub max_valid_lifetime: Option<u32>,
    pub renew_timer: Option<u32>,
    pub rebind_timer: Option<u32>,
    pub calculate_tee_times: Option<bool>,
    pub t1_percent: Option<f64>,
    pub t2_percent: Option<f64>,
    pub match_client_id: Option<bool>,
    pub authoritative: Option<bool>,
    pub next_server: Option<Ipv4Addr>,
    pub server_hostname: Option<String>,
    pub boot_file_name: Option<String>,
    pub reservations_global: Option<bool>,
    pub reservations_in_subnet: Option<bool>,
    pub reservations_out_of_pool: Option<bool>,
    pub ddns_send_updates: Option<bool>,
    pub ddns_override_no_update: Option<bool>,
    pub ddns_override_client_update: Option<bool>,
    pub ddns_replace_client_name: Option<ReplaceClientName>,
    pub ddns_generated_prefix: Option<String>,
    pub ddns_qualifying_suffix: Option<String>,
    pub ddns_update_on_renew: Option<bool>,
    pub ddns_use_conflict_resolution: Option<bool>,
    pub hostname_char_set: Option<String>,
    pub hostname_char_replacement: Option<String>,
    pub store_extended_info: Option<bool>,
    pub cache_threshold: Option<f64>,
    pub cache_max_age: Option<u32>,
}

/// Host reservation lookup switches (`reservations-*`, or the deprecated `reservation-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservationFlags {
    pub global: bool,
    pub in_subnet: bool,
    pub out_of_pool: bool,
}

/// Valid lifetime bounds: a client's request (option 51) is clamped to `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    pub min: u32,
    pub default: u32,
    pub max: u32,
}

/// DDNS behaviour of a subnet.
#[derive(Clone, Debug, PartialEq)]
pub struct DdnsParams {
    pub send_updates: bool,
    pub override_no_update: bool,
    pub override_client_update: bool,
    pub replace_client_name: ReplaceClientName,
    pub generated_prefix: String,
    pub qualifying_suffix: String,
    pub update_on_renew: bool,
    pub use_conflict_resolution: bool,
}

/// Fully resolved parameters of one subnet.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseParams {
    pub valid_lifetime: Lifetime,
    /// T1 when configured explicitly.
    pub renew_timer: Option<u32>,
    /// T2 when configured explicitly.
    pub rebind_timer: Option<u32>,
    pub calculate_tee_times: bool,
    pub t1_percent: f64,
    pub t2_percent: f64,
    pub match_client_id: bool,
    pub authoritative: bool,
    /// siaddr; `0.0.0.0` = not sent.
    pub next_server: Ipv4Addr,
    pub server_hostname: String,
    pub boot_file_name: String,
    pub reservations: ReservationFlags,
    pub ddns: DdnsParams,
    pub hostname_char_set: String,
    pub hostname_char_replacement: String,
    pub store_extended_info: bool,
    pub cache_threshold: Option<f64>,
    pub cache_max_age: Option<u32>,
}

const RESERVATION_MODES: &[(&str, ReservationFlags)] = &[
    (
        "all",
        ReservationFlags {
            global: false,
            in_subnet: true,
            out_of_pool: false,
        },
    ),
    (
        "out-of-pool",
        ReservationFlags {
            global: false,
            in_subnet: true,
            out_of_pool: true,
        },
    ),
    (
        "global",
        ReservationFlags {
            global: true,
            in_subnet: false,
            out_of_pool: false,
        },
    ),
    (
        "disabled",
        ReservationFlags {
            global: false,
            in_subnet: false,
            out_of_pool: false,
        },
    ),
];

/// Every key [`read_scope_params`] reads.
pub(crate) const SCOPE_KEYS: &[&str] = &[
    "valid-lifetime",
    "min-valid-lifetime",
    "max-valid-lifetime",
    "renew-timer",
    "rebind-timer",
    "calculate-tee-times",
    "t1-percent",
    "t2-percent",
    "match-client-id",
    "authoritative",
    "next-server",
    "server-hostname",
    "boot-file-name",
    "reservations-global",
    "reservations-in-subnet",
    "reservations-out-of-pool",
    "reservation-mode",
    "ddns-send-updates",
    "ddns-override-no-update",
    "ddns-override-client-update",
    "ddns-replace-client-name",
    "ddns-generated-prefix",
    "ddns-qualifying-suffix",
    "ddns-update-on-renew",
    "ddns-use-conflict-resolution",
    "hostname-char-set",
    "hostname-char-replacement",
    "store-extended-info",
    "cache-threshold",
    "cache-max-age",
];

/// Reads the inheritable keys of one level.
pub(crate) fn read_scope_params(ctx: &mut Ctx, m: &mut MapReader<'_>) -> ScopeParams {
    let next_server = m.str(ctx, "next-server").and_then(|s| {
        if s.is_empty() {
            return None; // "" means inherit
        }
        match s.parse::<Ipv4Addr>() {
            Ok(a) => Some(a),
            Err(_) => {
                if let Some(n) = m.get("next-server") {
                    ctx.error(
                        &m.child("next-server"),
                        &n.loc,
                        ErrorKind::Invalid(format!(
                            "invalid address '{s}' specified for next-server"
                        )),
                    );
                }
                None
            }
        }
    });
    let server_hostname = bounded_string(ctx, m, "server-hostname", 64);
    let boot_file_name = bounded_string(ctx, m, "boot-file-name", 128);
    let mut p = ScopeParams {
        valid_lifetime: m.u32(ctx, "valid-lifetime"),
        min_valid_lifetime: m.u32(ctx, "min-valid-lifetime"),
        max_valid_lifetime: m.u32(ctx, "max-valid-lifetime"),
        renew_timer: m.u32(ctx, "renew-timer"),
        rebind_timer: m.u32(ctx, "rebind-timer"),
        calculate_tee_times: m.bool(ctx, "calculate-tee-times"),
        t1_percent: m.float(ctx, "t1-percent"),
        t2_percent: m.float(ctx, "t2-percent"),
        match_client_id: m.bool(ctx, "match-client-id"),
        authoritative: m.bool(ctx, "authoritative"),
        next_server,
        server_hostname,
        boot_file_name,
        reservations_global: m.bool(ctx, "reservations-global"),
        reservations_in_subnet: m.bool(ctx, "reservations-in-subnet"),
        reservations_out_of_pool: m.bool(ctx, "reservations-out-of-pool"),
        ddns_send_updates: m.bool(ctx, "ddns-send-updates"),
        ddns_override_no_update: m.bool(ctx, "ddns-override-no-update"),
        ddns_override_client_update: m.bool(ctx, "ddns-override-client-update"),
        ddns_replace_client_name: m.keyword(
            ctx,
            "ddns-replace-client-name",
            ReplaceClientName::CHOICES,
        ),
        ddns_generated_prefix: m.str(ctx, "ddns-generated-prefix").map(str::to_string),
        ddns_qualifying_suffix: m.str(ctx, "ddns-qualifying-suffix").map(str::to_string),
        ddns_update_on_renew: m.bool(ctx, "ddns-update-on-renew"),
        ddns_use_conflict_resolution: m.bool(ctx, "ddns-use-conflict-resolution"),
        hostname_char_set: m.str(ctx, "hostname-char-set").map(str::to_string),
        hostname_char_replacement: m.str(ctx, "hostname-char-replacement").map(str::to_string),
        store_extended_info: m.bool(ctx, "store-extended-info"),
        cache_threshold: m.float(ctx, "cache-threshold"),
        cache_max_age: m.u32(ctx, "cache-max-age"),
    };
    if let Some(th) = p.cache_threshold
        && !(th > 0.0 && th < 1.0)
    {
        if let Some(n) = m.get("cache-threshold") {
            ctx.error(
                    &m.child("cache-threshold"),
                    &n.loc,
                    ErrorKind::Invalid(format!("cache-threshold: {th} is invalid, it must be greater than 0.0 and less than 1.0")),
                );
        }
        p.cache_threshold = None;
    }
    // The deprecated reservation-mode maps onto the three booleans; Kea refuses mixing both forms.
    if let Some(flags) = m.keyword(ctx, "reservation-mode", RESERVATION_MODES) {
        let loc = m.get("reservation-mode").map(|n| n.loc.clone());
        if p.reservations_global.is_some()
            || p.reservations_in_subnet.is_some()
            || p.reservations_out_of_pool.is_some()
        {
            if let Some(loc) = &loc {
                ctx.error(
                    &m.child("reservation-mode"),
                    loc,
                    ErrorKind::Invalid(
                        "invalid use of both 'reservation-mode' and one of 'reservations-global', 'reservations-in-subnet' or 'reservations-out-of-pool' parameters".into(),
                    ),
                );
            }
        } else {
            p.reservations_global = Some(flags.global);
            p.reservations_in_subnet = Some(flags.in_subnet);
            p.reservations_out_of_pool = Some(flags.out_of_pool);
        }
        ctx.warn(
            &m.child("reservation-mode"),
            loc.as_ref(),
            WarningKind::Deprecated {
                key: "reservation-mode",
                replacement: "reservations-global, reservations-in-subnet and reservations-out-of-pool",
            },
        );
    }
    p
}

/// `server-hostname` / `boot-file-name` must fit the BOOTP fixed fields (with their NUL).
fn bounded_string(ctx: &mut Ctx, m: &mut MapReader<'_>, key: &str, field: usize) -> Option<String> {
    let s = m.str(ctx, key)?;
    if s.len() >= field {
        if let Some(n) = m.get(key) {
            ctx.error(
                &m.child(key),
                &n.loc,
                ErrorKind::Invalid(format!(
                    "{key} must be at most {} bytes long, it is {}",
                    field - 1,
                    s.len()
                )),
            );
        }
        return None;
    }
    if s.is_empty() {
        None
    } else {
        Some(s.to_string())
    }
}

impl ScopeParams {
    /// Fields of `self` where set, else those of `parent`.
    pub fn inherit(&self, parent: &ScopeParams) -> ScopeParams {
        macro_rules! pick {
            ($($f:ident),*) => { ScopeParams { $($f: self.$f.clone().or_else(|| parent.$f.clone()),)* } };
        }
        pick!(
            valid_lifetime,
            min_valid_lifetime,
            max_valid_lifetime,
            renew_timer,
            rebind_timer,
            calculate_tee_times,
            t1_percent,
            t2_percent,
            match_client_id,
            authoritative,
            next_server,
            server_hostname,
            boot_file_name,
            reservations_global,
            reservations_in_subnet,
            reservations_out_of_pool,
            ddns_send_updates,
            ddns_override_no_update,
            ddns_override_client_update,
            ddns_replace_client_name,
            ddns_generated_prefix,
            ddns_qualifying_suffix,
            ddns_update_on_renew,
            ddns_use_conflict_resolution,
            hostname_char_set,
            hostname_char_replacement,
            store_extended_info,
            cache_threshold,
            cache_max_age
        )
    }

    fn any_lifetime(&self) -> bool {
        self.valid_lifetime.is_some()
            || self.min_valid_lifetime.is_some()
            || self.max_valid_lifetime.is_some()
    }

    /// The resolved lifetime triplet of an already-inherited scope, completed as Kea's
    /// `parseIntTriplet` does: a missing bound takes the default value.
    pub fn lifetime(&self) -> Lifetime {
        let default = self.valid_lifetime.unwrap_or(DEFAULT_VALID_LIFETIME);
        Lifetime {
            min: self.min_valid_lifetime.unwrap_or(default),
            default,
            max: self.max_valid_lifetime.unwrap_or(default),
        }
    }

    /// Kea's consistency checks on an inherited scope; `own` is what this level itself set, so a
    /// problem inherited unchanged from a parent is reported once, at the parent.
    pub(crate) fn check(
        &self,
        own: &ScopeParams,
        ctx: &mut Ctx,
        path: &str,
        loc: &crate::error::Location,
    ) {
        let mut fail = |msg: String| ctx.error(path, loc, ErrorKind::Timers(msg));
        // Kea derives each global value into every scope (per field), then checks the triplet
        // of each scope (`SimpleParser::parseIntTriplet`). A scope that sets none of the three
        // inherits a triplet already checked above it.
        if own.any_lifetime() {
            let value = self.valid_lifetime.unwrap_or(DEFAULT_VALID_LIFETIME);
            let Lifetime { min, max, .. } = self.lifetime();
            let (has_min, has_max) = (
                self.min_valid_lifetime.is_some(),
                self.max_valid_lifetime.is_some(),
            );
            if min > max {
                fail(if has_min && has_max {
                    format!(
                        "the value of min-valid-lifetime ({min}) is not less than max-valid-lifetime ({max})"
                    )
                } else if has_min {
                    format!(
                        "the value of min-valid-lifetime ({min}) is not less than (default) valid-lifetime ({value})"
                    )
                } else {
                    format!(
                        "the value of (default) valid-lifetime ({value}) is not less than max-valid-lifetime ({max})"
                    )
                });
            } else if value < min || value > max {
                fail(format!(
                    "the value of (default) valid-lifetime ({value}) is not between min-valid-lifetime ({min}) and max-valid-lifetime ({max})"
                ));
            }
        }
        if (own.renew_timer.is_some() || own.rebind_timer.is_some())
            && let (Some(t1), Some(t2)) = (self.renew_timer, self.rebind_timer)
            && t1 > t2
        {
            fail(format!(
                "the value of renew-timer ({t1}) is greater than the value of rebind-timer ({t2})"
            ));
        }
        let own_tee = own.calculate_tee_times.is_some()
            || own.t1_percent.is_some()
            || own.t2_percent.is_some();
        if own_tee && self.calculate_tee_times == Some(true) {
            let t1 = self.t1_percent.unwrap_or(DEFAULT_T1_PERCENT);
            let t2 = self.t2_percent.unwrap_or(DEFAULT_T2_PERCENT);
            let in_range = |v: f64| v > 0.0 && v < 1.0;
            if !in_range(t1) {
                fail(format!(
                    "t1-percent:  {t1} is invalid it must be greater than 0.0 and less than 1.0"
                ));
            } else if !in_range(t2) {
                fail(format!(
                    "t2-percent:  {t2} is invalid it must be greater than 0.0 and less than 1.0"
                ));
            } else if t1 >= t2 {
                fail(format!(
                    "t1-percent:  {t1} is invalid, it must be less than t2-percent: {t2}"
                ));
            }
        }
    }

    /// Resolves an inherited scope into complete parameters with Kea's defaults.
    pub fn resolve(&self) -> LeaseParams {
        LeaseParams {
            valid_lifetime: self.lifetime(),
            renew_timer: self.renew_timer,
            rebind_timer: self.rebind_timer,
            calculate_tee_times: self.calculate_tee_times.unwrap_or(false),
            t1_percent: self.t1_percent.unwrap_or(DEFAULT_T1_PERCENT),
            t2_percent: self.t2_percent.unwrap_or(DEFAULT_T2_PERCENT),
            match_client_id: self.match_client_id.unwrap_or(true),
            authoritative: self.authoritative.unwrap_or(false),
            next_server: self.next_server.unwrap_or(Ipv4Addr::UNSPECIFIED),
            server_hostname: self.server_hostname.clone().unwrap_or_default(),
            boot_file_name: self.boot_file_name.clone().unwrap_or_default(),
            reservations: ReservationFlags {
                global: self.reservations_global.unwrap_or(false),
                in_subnet: self.reservations_in_subnet.unwrap_or(true),
                out_of_pool: self.reservations_out_of_pool.unwrap_or(false),
            },
            ddns: DdnsParams {
                send_updates: self.ddns_send_updates.unwrap_or(true),
                override_no_update: self.ddns_override_no_update.unwrap_or(false),
                override_client_update: self.ddns_override_client_update.unwrap_or(false),
                replace_client_name: self
                    .ddns_replace_client_name
                    .unwrap_or(ReplaceClientName::Never),
                generated_prefix: self
                    .ddns_generated_prefix
                    .clone()
                    .unwrap_or_else(|| "myhost".into()),
                qualifying_suffix: self.ddns_qualifying_suffix.clone().unwrap_or_default(),
                update_on_renew: self.ddns_update_on_renew.unwrap_or(false),
                use_conflict_resolution: self.ddns_use_conflict_resolution.unwrap_or(true),
            },
            hostname_char_set: self
                .hostname_char_set
                .clone()
                .unwrap_or_else(|| "[^A-Za-z0-9.-]".into()),
            hostname_char_replacement: self.hostname_char_replacement.clone().unwrap_or_default(),
            store_extended_info: self.store_extended_info.unwrap_or(false),
            cache_threshold: self.cache_threshold,
            cache_max_age: self.cache_max_age,
        }
    }
}

impl LeaseParams {
    /// Kea 2.2's `config-get` keys for these parameters. At the global level every parameter is
    /// shown (with defaults), except the lifetime bounds, which only appear when configured. In
    /// a subnet or shared network, Kea 2.2 shows the lifetime triplet, timers, TEE settings and
    /// `store-extended-info` as inherited at load time, and the other parameters only where the
    /// level sets them (`own`).
    pub(crate) fn write_kea_json(
        &self,
        own: &ScopeParams,
        global: bool,
        m: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        use serde_json::Value as J;
        let lt = self.valid_lifetime;
        m.insert("valid-lifetime".into(), lt.default.into());
        if !global || own.min_valid_lifetime.is_some() {
            m.insert("min-valid-lifetime".into(), lt.min.into());
        }
        if !global || own.max_valid_lifetime.is_some() {
            m.insert("max-valid-lifetime".into(), lt.max.into());
        }
        if let Some(t) = self.renew_timer {
            m.insert("renew-timer".into(), t.into());
        }
        if let Some(t) = self.rebind_timer {
            m.insert("rebind-timer".into(), t.into());
        }
        m.insert(
            "calculate-tee-times".into(),
            self.calculate_tee_times.into(),
        );
        m.insert("t1-percent".into(), self.t1_percent.into());
        m.insert("t2-percent".into(), self.t2_percent.into());
        m.insert(
            "store-extended-info".into(),
            self.store_extended_info.into(),
        );
        let mut put = |key: &str, set: bool, value: J| {
            if global || set {
                m.insert(key.into(), value);
            }
        };
        put(
            "match-client-id",
            own.match_client_id.is_some(),
            self.match_client_id.into(),
        );
        put(
            "authoritative",
            own.authoritative.is_some(),
            self.authoritative.into(),
        );
        put(
            "next-server",
            own.next_server.is_some(),
            J::String(self.next_server.to_string()),
        );
        put(
            "server-hostname",
            own.server_hostname.is_some(),
            J::String(self.server_hostname.clone()),
        );
        put(
            "boot-file-name",
            own.boot_file_name.is_some(),
            J::String(self.boot_file_name.clone()),
        );
        put(
            "reservations-global",
            own.reservations_global.is_some(),
            self.reservations.global.into(),
        );
        put(
            "reservations-in-subnet",
            own.reservations_in_subnet.is_some(),
            self.reservations.in_subnet.into(),
        );
        put(
            "reservations-out-of-pool",
            own.reservations_out_of_pool.is_some(),
            self.reservations.out_of_pool.into(),
        );
        let d = &self.ddns;
        put(
            "ddns-send-updates",
            own.ddns_send_updates.is_some(),
            d.send_updates.into(),
        );
        put(
            "ddns-override-no-update",
            own.ddns_override_no_update.is_some(),
            d.override_no_update.into(),
        );
        put(
            "ddns-override-client-update",
            own.ddns_override_client_update.is_some(),
            d.override_client_update.into(),
        );
        put(
            "ddns-replace-client-name",
            own.ddns_replace_client_name.is_some(),
            d.replace_client_name.kea_name().into(),
        );
        put(
            "ddns-generated-prefix",
            own.ddns_generated_prefix.is_some(),
            J::String(d.generated_prefix.clone()),
        );
        put(
            "ddns-qualifying-suffix",
            own.ddns_qualifying_suffix.is_some(),
            J::String(d.qualifying_suffix.clone()),
        );
        put(
            "ddns-update-on-renew",
            own.ddns_update_on_renew.is_some(),
            d.update_on_renew.into(),
        );
        put(
            "ddns-use-conflict-resolution",
            own.ddns_use_conflict_resolution.is_some(),
            d.use_conflict_resolution.into(),
        );
        put(
            "hostname-char-set",
            own.hostname_char_set.is_some(),
            J::String(self.hostname_char_set.clone()),
        );
        put(
            "hostname-char-replacement",
            own.hostname_char_replacement.is_some(),
            J::String(self.hostname_char_replacement.clone()),
        );
        if let Some(c) = self
            .cache_threshold
            .filter(|_| global || own.cache_threshold.is_some())
        {
            m.insert("cache-threshold".into(), c.into());
        }
        if let Some(c) = self
            .cache_max_age
            .filter(|_| global || own.cache_max_age.is_some())
        {
            m.insert("cache-max-age".into(), c.into());
        }
    }
}
