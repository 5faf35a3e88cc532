//! The `Control-agent` section (reference 3.3, Kea 2.2 `agent_parser.yy`).

use std::net::IpAddr;

use crate::common::{
    ControlSocket, HookLibrary, Logger, parse_control_socket, parse_hooks, parse_loggers,
};
use crate::error::ErrorKind;
use crate::json::Node;
use crate::reader::{Ctx, MapReader, each_map};

/// One `authentication.clients[]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthClient {
    pub user: Option<String>,
    pub user_file: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
}

/// `authentication` (only `basic` exists in 2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    pub realm: String,
    pub directory: String,
    pub clients: Vec<AuthClient>,
}

/// The validated `Control-agent` configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    pub http_host: IpAddr,
    pub http_port: u16,
    pub trust_anchor: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub cert_required: bool,
    pub authentication: Option<Authentication>,
    /// `dhcp4`, `dhcp6`, `d2` sockets, in that order when present.
    pub control_sockets: Vec<(String, ControlSocket)>,
    pub hooks: Vec<HookLibrary>,
    pub loggers: Vec<Logger>,
    pub user_context: Option<serde_json::Value>,
}

impl AgentConfig {
    /// The control socket of a service (`dhcp4`, `dhcp6`, `d2`).
    pub fn socket(&self, service: &str) -> Option<&ControlSocket> {
        self.control_sockets
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, c)| c)
    }
}

pub(crate) fn parse(
    ctx: &mut Ctx,
    node: &Node,
    extra_loggers: Option<(&Node, String)>,
) -> Option<AgentConfig> {
    let before = ctx.errors.len();
    let mut m = MapReader::new(ctx, node, "Control-agent", "Control-agent")?;
    if matches!(&node.value, crate::json::Value::Map(e) if e.is_empty()) {
        // Kea's grammar wants at least one parameter ("syntax error, unexpected }").
        ctx.error(
            "Control-agent",
            &node.loc,
            ErrorKind::Syntax(
                "unexpected }: the Control-agent map must hold at least one parameter".into(),
            ),
        );
        return None;
    }
    let host_loc = m
        .get("http-host")
        .map_or_else(|| node.loc.clone(), |n| n.loc.clone());
    let http_host = match m.str(ctx, "http-host") {
        None => Some(IpAddr::from([127, 0, 0, 1])),
        Some(s) => match s.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                ctx.error(
                    "Control-agent.http-host",
                    &host_loc,
                    ErrorKind::Invalid(format!(
                        "invalid address '{s}' for http-host: an IP address is required"
                    )),
                );
                None
            }
        },
    };
    let http_port = m.u16(ctx, "http-port").unwrap_or(8000);
    let s = |m: &mut MapReader<'_>, ctx: &mut Ctx, k: &str| {
        m.str(ctx, k).filter(|v| !v.is_empty()).map(str::to_string)
    };
    let trust_anchor = s(&mut m, ctx, "trust-anchor");
    let cert_file = s(&mut m, ctx, "cert-file");
    let key_file = s(&mut m, ctx, "key-file");
    let cert_required = m.bool(ctx, "cert-required").unwrap_or(true);
    let tls = [&trust_anchor, &cert_file, &key_file]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if tls != 0 && tls != 3 {
        ctx.error(
            "Control-agent",
            &node.loc,
            ErrorKind::Invalid(
                "trust-anchor, cert-file and key-file must be all specified or none of them".into(),
            ),
        );
    }
    let authentication = m
        .map(ctx, "authentication")
        .and_then(|n| parse_auth(ctx, n));
    let mut control_sockets = Vec::new();
    if let Some(n) = m.map(ctx, "control-sockets")
        && let Some(mut cs) =
            MapReader::new(ctx, n, "Control-agent.control-sockets", "control-sockets")
    {
        if matches!(&n.value, crate::json::Value::Map(e) if e.is_empty()) {
            ctx.error(
                "Control-agent.control-sockets",
                &n.loc,
                ErrorKind::Syntax("unexpected }, expecting dhcp4 or dhcp6 or d2".into()),
            );
        }
        for service in ["dhcp4", "dhcp6", "d2"] {
            if let Some(sn) = cs.map(ctx, service) {
                let p = cs.child(service);
                if let Some(sock) = parse_control_socket(ctx, sn, &p, service) {
                    control_sockets.push((service.to_string(), sock));
                }
            }
        }
        cs.finish(ctx);
    }
    let hooks = match m.list(ctx, "hooks-libraries") {
        Some(list) => parse_hooks(ctx, list, "Control-agent.hooks-libraries"),
        None => Vec::new(),
    };
    let mut loggers = match m.list(ctx, "loggers") {
        Some(list) => parse_loggers(ctx, list, "Control-agent.loggers"),
        None => Vec::new(),
    };
    if let Some((lnode, lpath)) = extra_loggers {
        if m.has("loggers") {
            ctx.error(&lpath, &lnode.loc, ErrorKind::Invalid(
                "loggers are configured both in Control-agent.loggers and in the top-level Logging section".into(),
            ));
        } else if let crate::json::Value::List(items) = &lnode.value {
            loggers = parse_loggers(ctx, items, &lpath);
        }
    }
    let user_context = m.user_context(ctx);
    m.finish(ctx);
    if ctx.errors.len() > before {
        return None;
    }
    Some(AgentConfig {
        http_host: http_host?,
        http_port,
        trust_anchor,
        cert_file,
        key_file,
        cert_required,
        authentication,
        control_sockets,
        hooks,
        loggers,
        user_context,
    })
}

fn parse_auth(ctx: &mut Ctx, node: &Node) -> Option<Authentication> {
    let path = "Control-agent.authentication";
    let mut m = MapReader::new(ctx, node, path, "authentication")?;
    if m.has("type") {
        m.keyword(ctx, "type", &[("basic", ())]);
    } else {
        m.missing(ctx, "type");
    }
    let realm = m
        .str(ctx, "realm")
        .unwrap_or("kea-control-agent")
        .to_string();
    let directory = m.str(ctx, "directory").unwrap_or("").to_string();
    let mut clients = Vec::new();
    if let Some(list) = m.list(ctx, "clients") {
        for (_, p, n) in each_map(ctx, list, &format!("{path}.clients")) {
            let Some(mut c) = MapReader::new(ctx, n, &p, "clients") else {
                continue;
            };
            let client = AuthClient {
                user: c.str(ctx, "user").map(str::to_string),
                user_file: c.str(ctx, "user-file").map(str::to_string),
                password: c.str(ctx, "password").map(str::to_string),
                password_file: c.str(ctx, "password-file").map(str::to_string),
            };
            c.user_context(ctx);
            c.finish(ctx);
            // Kea's rules (http/basic_auth_config.cc): a client is a user (or user file) with
            // a password (or password file), or a lone password file holding `user:password`.
            let problem = match (&client.user, &client.user_file) {
                _ if client.password.is_some() && client.password_file.is_some() => {
                    Some("password and password-file are mutually exclusive".to_string())
                }
                (Some(_), Some(_)) => Some("user and user-file are mutually exclusive".to_string()),
                (None, None) if client.password_file.is_none() => {
                    Some("user is required in clients items".to_string())
                }
                (Some(u), None) if u.is_empty() => Some("user must not be empty".to_string()),
                (Some(u), None) if u.contains(':') => {
                    Some(format!("user must not contain a ':': '{u}'"))
                }
                _ => None,
            };
            if let Some(msg) = problem {
                ctx.error(&p, &n.loc, ErrorKind::Invalid(msg));
            } else {
                clients.push(client);
            }
        }
    }
    m.user_context(ctx);
    m.finish(ctx);
    Some(Authentication {
        realm,
        directory,
        clients,
    })
}
