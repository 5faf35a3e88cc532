//! `option-def`, `option-data` and `client-classes`.
//!
//! Custom definitions are registered in a copy of Kea's standard table
//! ([`nestor_proto::option::OptionDefs`]); every `option-data` entry, at any level, is then
//! encoded into wire bytes at load time by [`nestor_proto::option::encode_option_data`], so a bad
//! value is a configuration error (as in Kea) and the packet path copies ready-made payloads.
//! Kea processes `option-def` before any `option-data`, whatever their order in the file; so
//! does Nestor (definitions are read first, see `dhcp4::parse`).

use nestor_proto::option::{
    DOCSIS3_V4_SPACE, OptionDataSpec, OptionDef, OptionDefs, encode_option_data,
};

use super::params::{ScopeParams, read_scope_params};
use crate::error::ErrorKind;
use crate::json::Node;
use crate::reader::{Ctx, MapReader, each_map};

/// One configured option, encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredOption {
    /// Option code (DHCPv4 codes are one byte).
    pub code: u8,
    /// Option space (`dhcp4` for top-level options).
    pub space: String,
    /// Option name from its definition (empty for options without a definition).
    pub name: String,
    /// Encoded payload (without code and length).
    pub payload: Vec<u8>,
    /// Send even when the client did not ask (option 55).
    pub always_send: bool,
    /// As written, for `config-get`.
    pub data: String,
    /// As written, for `config-get`.
    pub csv_format: bool,
}

impl ConfiguredOption {
    /// Kea's `config-get` rendering.
    pub fn to_kea_json(&self) -> serde_json::Value {
        serde_json::json!({"code": self.code, "name": self.name, "space": self.space,
            "data": self.data, "csv-format": self.csv_format, "always-send": self.always_send})
    }
}

/// Parses `option-def` entries and registers them in `defs`.
pub(crate) fn parse_option_defs(ctx: &mut Ctx, items: &[Node], path: &str, defs: &mut OptionDefs) {
    for (_, p, node) in each_map(ctx, items, path) {
        let Some(mut m) = MapReader::new(ctx, node, &p, "option-def") else {
            continue;
        };
        let name = m.req_str(ctx, "name");
        let code_loc = m
            .get("code")
            .map_or_else(|| node.loc.clone(), |n| n.loc.clone());
        let code = if m.has("code") {
            m.int(ctx, "code", i64::MIN, i64::MAX)
        } else {
            m.missing(ctx, "code");
            None
        };
        let type_name = m.req_str(ctx, "type");
        let space = m.str(ctx, "space");
        let array = m.bool(ctx, "array").unwrap_or(false);
        let record_types = m.str(ctx, "record-types").unwrap_or("");
        let encapsulate = m.str(ctx, "encapsulate").unwrap_or("");
        m.user_context(ctx);
        m.finish(ctx);
        let (Some(name), Some(code), Some(type_name)) = (name, code, type_name) else {
            continue;
        };
        let added = OptionDef::from_kea(
            name,
            code,
            space,
            type_name,
            array,
            record_types,
            encapsulate,
        )
        .and_then(|def| defs.add_custom(def));
        if let Err(e) = added {
            ctx.error(&p, &code_loc, ErrorKind::Option(e.to_string()));
        }
    }
}

/// The space whose definitions apply to `space`. Kea names the vendor-specific (option 125)
/// space of an enterprise `vendor-<enterprise-id>` and looks definitions up by enterprise id;
/// the only vendor with standard definitions in Kea 2.2 is CableLabs (4491), whose table
/// `nestor-proto` holds under the `docsis3-v4` space name. The configured space name is kept on
/// the option (the server packs `vendor-4491` options into option 125).
fn definition_space(space: &str) -> &str {
    if space == "vendor-4491" {
        DOCSIS3_V4_SPACE
    } else {
        space
    }
}

/// Parses and encodes an `option-data` list.
pub(crate) fn parse_option_data(
    ctx: &mut Ctx,
    items: &[Node],
    path: &str,
    defs: &OptionDefs,
) -> Vec<ConfiguredOption> {
    let mut out = Vec::with_capacity(items.len());
    for (_, p, node) in each_map(ctx, items, path) {
        let Some(mut m) = MapReader::new(ctx, node, &p, "option-data") else {
            continue;
        };
        let name = m.str(ctx, "name");
        let code = m
            .int(ctx, "code", 0, i64::from(u32::MAX))
            .and_then(|c| u32::try_from(c).ok());
        let code_given = m.has("code");
        let data = m.str(ctx, "data").unwrap_or("");
        let space = m.str(ctx, "space").unwrap_or("dhcp4");
        let csv_format = m.bool(ctx, "csv-format").unwrap_or(true);
        let always_send = m.bool(ctx, "always-send").unwrap_or(false);
        m.user_context(ctx);
        m.finish(ctx);
        if code_given && code.is_none() {
            continue; // range error already reported
        }
        let spec = OptionDataSpec {
            name,
            code,
            space: definition_space(space),
            data,
            csv_format,
        };
        match encode_option_data(defs, &spec) {
            Ok(enc) => out.push(ConfiguredOption {
                code: enc.code,
                space: space.to_string(),
                name: enc.name.unwrap_or_default(),
                payload: enc.payload,
                always_send,
                data: data.to_string(),
                csv_format,
            }),
            Err(e) => ctx.error(&p, &node.loc, ErrorKind::Option(e.to_string())),
        }
    }
    out
}

/// One `client-classes` entry. The `test` expression is kept as text here; the classification
/// engine compiles it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientClass {
    pub name: String,
    /// Kea expression as written; empty = no test (membership only by
    /// `require-client-classes`, host reservations or hooks).
    pub test: String,
    /// The compiled `test` (`None` when there is none).
    pub test_expr: Option<super::expr::BoolExpr>,
    pub only_if_required: bool,
    pub options: Vec<ConfiguredOption>,
    /// Lifetime / fixed-field overrides (only valid-lifetime triplet, next-server,
    /// server-hostname, boot-file-name are accepted here, as in Kea).
    pub params: ScopeParams,
    pub user_context: Option<serde_json::Value>,
}

/// Parses `client-classes`. Duplicate names are errors; a class's `option-def` entries are
/// registered in the same table as the global ones (Kea 2.2 keeps them per class but resolves
/// names the same way).
pub(crate) fn parse_client_classes(
    ctx: &mut Ctx,
    items: &[Node],
    path: &str,
    defs: &mut OptionDefs,
) -> Vec<ClientClass> {
    let mut out: Vec<ClientClass> = Vec::new();
    for (_, p, node) in each_map(ctx, items, path) {
        let Some(mut m) = MapReader::new(ctx, node, &p, "client-classes") else {
            continue;
        };
        let m_name_loc = m.get("name").map(|n| n.loc.clone());
        let name = m.req_str(ctx, "name");
        let test_loc = m
            .get("test")
            .map_or_else(|| node.loc.clone(), |n| n.loc.clone());
        let test = m.str(ctx, "test").unwrap_or("").to_string();
        let only_if_required = m.bool(ctx, "only-if-required").unwrap_or(false);
        if let Some(list) = m.list(ctx, "option-def") {
            parse_option_defs(ctx, list, &m.child("option-def"), defs);
        }
        let options = match m.list(ctx, "option-data") {
            Some(list) => parse_option_data(ctx, list, &m.child("option-data"), defs),
            None => Vec::new(),
        };
        // Only these scope keys are legal in a class; read them through a filtered view so the
        // other inheritable keys stay "unexpected keyword" errors.
        let params = read_class_params(ctx, &mut m);
        let user_context = m.user_context(ctx);
        m.finish(ctx);
        let Some(name) = name else { continue };
        if out.iter().any(|c| c.name == name) {
            let loc = m_name_loc.unwrap_or_else(|| node.loc.clone());
            ctx.error(
                &format!("{p}.name"),
                &loc,
                ErrorKind::Duplicate(format!("Client Class: {name} has already been defined")),
            );
            continue;
        }
        // Kea compiles the test against the classes defined so far (a class may be a member of
        // an earlier one, never of a later one).
        let test_expr = if test.is_empty() {
            None
        } else {
            let known: Vec<String> = out.iter().map(|c| c.name.clone()).collect();
            match super::expr::parse_bool_expr(&test, defs, &known) {
                Ok(e) => Some(e),
                Err(e) => {
                    ctx.error(
                        &format!("{p}.test"),
                        &test_loc,
                        ErrorKind::Invalid(format!(
                            "expression: [{test}] error: <string>:1.{}: {}",
                            e.col, e.message
                        )),
                    );
                    continue;
                }
            }
        };
        out.push(ClientClass {
            name: name.to_string(),
            test,
            test_expr,
            only_if_required,
            options,
            params,
            user_context,
        });
    }
    out
}

fn read_class_params(ctx: &mut Ctx, m: &mut MapReader<'_>) -> ScopeParams {
    const CLASS_KEYS: &[&str] = &[
        "valid-lifetime",
        "min-valid-lifetime",
        "max-valid-lifetime",
        "next-server",
        "server-hostname",
        "boot-file-name",
    ];
    // Keys a class may not hold stay "unexpected keyword" errors, with Kea's grammar text.
    for key in super::params::SCOPE_KEYS {
        if !CLASS_KEYS.contains(key)
            && let Some(k) = m.key(key)
        {
            ctx.error(
                &m.child(key),
                &k.loc,
                ErrorKind::UnexpectedKeyword {
                    key: (*key).to_string(),
                    map: "client-classes".into(),
                },
            );
        }
    }
    let all = read_scope_params(ctx, m);
    ScopeParams {
        valid_lifetime: all.valid_lifetime,
        min_valid_lifetime: all.min_valid_lifetime,
        max_valid_lifetime: all.max_valid_lifetime,
        next_server: all.next_server,
        server_hostname: all.server_hostname,
        boot_file_name: all.boot_file_name,
        ..ScopeParams::default()
    }
}
