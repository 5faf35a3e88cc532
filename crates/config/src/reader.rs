//! The schema walker: typed reads out of a positioned map that record every problem.
//!
//! Kea's bison grammar rejects unknown keys in every map and checks the type of every known
//! key; then its parsers check values one section at a time and stop at the first failure.
//! Nestor walks the tree once, with one [`MapReader`] per map: each typed read marks the key as
//! known and records a [`ConfigError`] (with key path and position) instead of stopping, and
//! [`MapReader::finish`] reports the keys nobody read, with Kea's "got unexpected keyword" text.

use crate::error::{ConfigError, ConfigWarning, ErrorKind, Location, WarningKind};
use crate::json::{Key, Node, Value};

/// Error and warning sink shared by a whole load.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) warnings: Vec<ConfigWarning>,
    /// Names of the system's network interfaces; `None` skips the existence checks.
    pub(crate) system_interfaces: Option<Vec<String>>,
}

impl Ctx {
    /// Whether an interface named in the configuration exists (always true when the check is
    /// off).
    pub(crate) fn interface_exists(&self, name: &str) -> bool {
        self.system_interfaces
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }

    pub(crate) fn error(&mut self, path: &str, loc: &Location, kind: ErrorKind) {
        self.errors
            .push(ConfigError::new(path, Some(loc.clone()), kind));
    }

    pub(crate) fn warn(&mut self, path: &str, loc: Option<&Location>, kind: WarningKind) {
        self.warnings.push(ConfigWarning {
            path: path.to_string(),
            location: loc.cloned(),
            kind,
        });
    }
}

/// Reads one map. Create with [`MapReader::new`], read keys, then call [`MapReader::finish`].
#[derive(Debug)]
pub(crate) struct MapReader<'a> {
    entries: &'a [(Key, Node)],
    used: Vec<bool>,
    /// Key path of this map.
    pub(crate) path: String,
    /// Kea's name for this map in messages ("Dhcp4", "subnet4", "pools"...).
    name: &'a str,
    /// Position of the map's opening brace.
    pub(crate) loc: &'a Location,
}

impl<'a> MapReader<'a> {
    /// `None` (and an error) when `node` is not a map.
    pub(crate) fn new(ctx: &mut Ctx, node: &'a Node, path: &str, name: &'a str) -> Option<Self> {
        match &node.value {
            Value::Map(entries) => Some(Self {
                entries,
                used: vec![false; entries.len()],
                path: path.to_string(),
                name,
                loc: &node.loc,
            }),
            other => {
                ctx.error(
                    path,
                    &node.loc,
                    ErrorKind::WrongType {
                        expected: "map",
                        found: other.type_name(),
                    },
                );
                None
            }
        }
    }

    /// Path of a child key.
    pub(crate) fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The raw node of a key, marking it known.
    pub(crate) fn get(&mut self, key: &str) -> Option<&'a Node> {
        let entries: &'a [(Key, Node)] = self.entries;
        let i = entries.iter().position(|(k, _)| k.name == key)?;
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
        entries.get(i).map(|(_, v)| v)
    }

    /// The key entry itself (for its position), without marking it.
    pub(crate) fn key(&self, key: &str) -> Option<&'a Key> {
        let entries: &'a [(Key, Node)] = self.entries;
        entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k)
    }

    /// Whether the map holds the key (does not mark it).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k.name == key)
    }

    fn wrong(&self, ctx: &mut Ctx, key: &str, node: &Node, expected: &'static str) {
        ctx.error(
            &self.child(key),
            &node.loc,
            ErrorKind::WrongType {
                expected,
                found: node.value.type_name(),
            },
        );
    }

    pub(crate) fn str(&mut self, ctx: &mut Ctx, key: &str) -> Option<&'a str> {
        let node = self.get(key)?;
        match &node.value {
            Value::Str(s) => Some(s),
            _ => {
                self.wrong(ctx, key, node, "string");
                None
            }
        }
    }

    /// A required string; reports Kea's "missing parameter" at the map when absent.
    pub(crate) fn req_str(&mut self, ctx: &mut Ctx, key: &str) -> Option<&'a str> {
        if !self.has(key) {
            self.missing(ctx, key);
            return None;
        }
        self.str(ctx, key)
    }

    pub(crate) fn missing(&self, ctx: &mut Ctx, key: &str) {
        ctx.error(
            &self.child(key),
            self.loc,
            ErrorKind::MissingParameter {
                key: key.to_string(),
            },
        );
    }

    pub(crate) fn bool(&mut self, ctx: &mut Ctx, key: &str) -> Option<bool> {
        let node = self.get(key)?;
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong(ctx, key, node, "boolean");
                None
            }
        }
    }

    /// An integer in `[min, max]`.
    pub(crate) fn int(&mut self, ctx: &mut Ctx, key: &str, min: i64, max: i64) -> Option<i64> {
        let node = self.get(key)?;
        match node.value {
            Value::Int(i) if (min..=max).contains(&i) => Some(i),
            Value::Int(i) => {
                ctx.error(
                    &self.child(key),
                    &node.loc,
                    ErrorKind::OutOfRange {
                        key: key.to_string(),
                        value: i,
                        min,
                        max: max.unsigned_abs(),
                    },
                );
                None
            }
            _ => {
                self.wrong(ctx, key, node, "integer");
                None
            }
        }
    }

    pub(crate) fn u32(&mut self, ctx: &mut Ctx, key: &str) -> Option<u32> {
        self.int(ctx, key, 0, i64::from(u32::MAX))
            .and_then(|v| u32::try_from(v).ok())
    }

    pub(crate) fn u16(&mut self, ctx: &mut Ctx, key: &str) -> Option<u16> {
        self.int(ctx, key, 0, i64::from(u16::MAX))
            .and_then(|v| u16::try_from(v).ok())
    }

    /// A floating-point literal; Kea's grammar refuses integers here ("expecting floating
    /// point"), so does Nestor.
    pub(crate) fn float(&mut self, ctx: &mut Ctx, key: &str) -> Option<f64> {
        let node = self.get(key)?;
        match node.value {
            Value::Float(f) => Some(f),
            _ => {
                self.wrong(ctx, key, node, "floating point");
                None
            }
        }
    }

    pub(crate) fn list(&mut self, ctx: &mut Ctx, key: &str) -> Option<&'a [Node]> {
        let node = self.get(key)?;
        match &node.value {
            Value::List(items) => Some(items),
            _ => {
                self.wrong(ctx, key, node, "list");
                None
            }
        }
    }

    /// A list of strings (elements of another type are reported and skipped).
    pub(crate) fn str_list(
        &mut self,
        ctx: &mut Ctx,
        key: &str,
    ) -> Option<Vec<(&'a str, &'a Location)>> {
        let items = self.list(ctx, key)?;
        let path = self.child(key);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match &item.value {
                Value::Str(s) => out.push((s.as_str(), &item.loc)),
                other => ctx.error(
                    &format!("{path}[{i}]"),
                    &item.loc,
                    ErrorKind::WrongType {
                        expected: "string",
                        found: other.type_name(),
                    },
                ),
            }
        }
        Some(out)
    }

    /// A map-valued key (the node, type-checked).
    pub(crate) fn map(&mut self, ctx: &mut Ctx, key: &str) -> Option<&'a Node> {
        let node = self.get(key)?;
        match &node.value {
            Value::Map(_) => Some(node),
            _ => {
                self.wrong(ctx, key, node, "map");
                None
            }
        }
    }

    /// One of a fixed set of keywords.
    pub(crate) fn keyword<T: Copy>(
        &mut self,
        ctx: &mut Ctx,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let node = self.get(key)?;
        let Value::Str(s) = &node.value else {
            self.wrong(ctx, key, node, "string");
            return None;
        };
        if let Some((_, v)) = choices.iter().find(|(name, _)| name == s) {
            return Some(*v);
        }
        let expected = choices
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(" or ");
        ctx.error(
            &self.child(key),
            &node.loc,
            ErrorKind::NotOneOf {
                value: s.clone(),
                expected,
            },
        );
        None
    }

    /// `user-context` (a map) and `comment` (a string, which Kea moves into the user context).
    pub(crate) fn user_context(&mut self, ctx: &mut Ctx) -> Option<serde_json::Value> {
        let mut uc = self.map(ctx, "user-context").map(Node::to_json);
        if let Some(comment) = self.str(ctx, "comment") {
            let map = uc.get_or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if let serde_json::Value::Object(m) = map {
                m.insert(
                    "comment".into(),
                    serde_json::Value::String(comment.to_string()),
                );
            }
        }
        uc
    }

    /// Reports every key that no read asked for.
    pub(crate) fn finish(self, ctx: &mut Ctx) {
        for ((key, _), used) in self.entries.iter().zip(&self.used) {
            if !used {
                ctx.error(
                    &self.child(&key.name),
                    &key.loc,
                    ErrorKind::UnexpectedKeyword {
                        key: key.name.clone(),
                        map: self.name.to_string(),
                    },
                );
            }
        }
    }
}

/// Iterates a list of maps with their paths, reporting non-map elements.
pub(crate) fn each_map<'a>(
    ctx: &mut Ctx,
    items: &'a [Node],
    path: &str,
) -> Vec<(usize, String, &'a Node)> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if matches!(item.value, Value::Map(_)) {
            out.push((i, p, item));
        } else {
            ctx.error(
                &p,
                &item.loc,
                ErrorKind::WrongType {
                    expected: "map",
                    found: item.value.type_name(),
                },
            );
        }
    }
    out
}
