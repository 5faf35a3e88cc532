//! Client classification (Kea 2.2 ARM section 8.2.15 / 14, `Dhcpv4Srv::classifyPacket`).
//!
//! A packet's classes, in the order Kea assigns them:
//! 1. `ALL`; `VENDOR_CLASS_<option 60>` when the client sent a vendor class identifier; the
//!    classes added by `pkt4_receive` hooks (HA's `HA_<server>`), passed in by the server;
//! 2. each configured class whose `test` does not depend on `KNOWN`/`UNKNOWN`, in definition
//!    order, when its test is true (classes with `only-if-required` are skipped here, as Kea
//!    evaluates them only when a subnet or pool requires them);
//! 3. after subnet selection and the host lookup: the reservation's `client-classes`, `KNOWN`
//!    or `UNKNOWN`, then the classes whose test depends on them (Kea's second pass).
//!
//! A packet in class `DROP` is dropped by the engine right after classification.
//!
//! The `test` expressions were compiled when the configuration was loaded
//! (`nestor_config::dhcp4::expr`); this module evaluates them against a received [`Packet`]
//! with Kea's `TokenXxx::evaluate` semantics: strings are byte strings, a missing option
//! evaluates to the empty string, `substring` accepts negative offsets and lengths.

use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::sync::Arc;

use nestor_config::dhcp4::ClientClass;
use nestor_config::dhcp4::expr::{BoolExpr, IntToText, Pkt4Field, PktField, StrExpr};
use nestor_proto::pkt::{MessageType, Packet, code};

use super::RecvMeta;

/// The classes of one packet, in assignment order, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientClasses(Vec<Arc<str>>);

impl ClientClasses {
    /// Adds a class (ignored if already present).
    pub fn insert(&mut self, name: Arc<str>) {
        if !self.contains(&name) {
            self.0.push(name);
        }
    }

    /// Whether the packet belongs to `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|c| &**c == name)
    }

    /// The class names in assignment order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|c| &**c)
    }

    /// Kea's `clientSupported`: a scope restricted to `class` admits the packet when it is a
    /// member of it; an unrestricted scope admits everyone.
    pub fn allows(&self, class: Option<&str>) -> bool {
        class.is_none_or(|c| c.is_empty() || self.contains(c))
    }
}

/// Configured classes compiled for evaluation.
#[derive(Debug)]
pub(crate) struct ClassTable {
    entries: Vec<ClassEntry>,
    /// Built-in names, interned once so classifying a packet does not allocate them.
    pub(crate) all: Arc<str>,
    pub(crate) known: Arc<str>,
    pub(crate) unknown: Arc<str>,
}

#[derive(Debug)]
struct ClassEntry {
    name: Arc<str>,
    index: usize,
    /// The test refers to `KNOWN`/`UNKNOWN`, directly or through another class: evaluated
    /// after the host lookup.
    after_host: bool,
}

impl ClassTable {
    pub(crate) fn new(classes: &[ClientClass]) -> Self {
        let mut entries: Vec<ClassEntry> = Vec::with_capacity(classes.len());
        for (index, class) in classes.iter().enumerate() {
            let after_host = class.test_expr.as_ref().is_some_and(|e| {
                depends_on_host(e, &|name| {
                    entries
                        .iter()
                        .any(|c: &ClassEntry| c.after_host && &*c.name == name)
                })
            });
            entries.push(ClassEntry {
                name: Arc::from(class.name.as_str()),
                index,
                after_host,
            });
        }
        ClassTable {
            entries,
            all: Arc::from("ALL"),
            known: Arc::from("KNOWN"),
            unknown: Arc::from("UNKNOWN"),
        }
    }

    /// Passes 1 and 2: built-in classes, hook classes, then the tests not depending on the
    /// host lookup.
    pub(crate) fn classify(
        &self,
        classes_cfg: &[ClientClass],
        pkt: &Packet<'_>,
        meta: &RecvMeta,
        extra: &[Arc<str>],
    ) -> ClientClasses {
        let mut out = ClientClasses(Vec::with_capacity(4 + extra.len()));
        out.insert(self.all.clone());
        if let Ok(Some(vendor)) = pkt.vendor_class() {
            let mut name = String::with_capacity(13 + vendor.len());
            name.push_str("VENDOR_CLASS_");
            name.push_str(&String::from_utf8_lossy(&vendor));
            out.insert(Arc::from(name));
        }
        for c in extra {
            out.insert(c.clone());
        }
        self.evaluate(classes_cfg, pkt, meta, &mut out, false);
        out
    }

    /// The interned name of configured class `name`, when it exists.
    pub(crate) fn interned(&self, name: &str) -> Option<&Arc<str>> {
        self.entries
            .iter()
            .find(|e| &*e.name == name)
            .map(|e| &e.name)
    }

    /// Kea's `requiredClassify`: the classes a subnet, its shared network or the pool of the
    /// lease list in `require-client-classes` are evaluated (even `only-if-required` ones)
    /// once the lease is known; a required class without a test is simply added.
    pub(crate) fn classify_required<'n>(
        &self,
        classes_cfg: &[ClientClass],
        required: impl Iterator<Item = &'n str>,
        pkt: &Packet<'_>,
        meta: &RecvMeta,
        out: &mut ClientClasses,
    ) {
        for name in required {
            if out.contains(name) {
                continue;
            }
            let Some(entry) = self.entries.iter().find(|e| &*e.name == name) else {
                continue;
            };
            let Some(class) = classes_cfg.get(entry.index) else {
                continue;
            };
            let member = match &class.test_expr {
                None => true,
                Some(expr) => EvalCtx {
                    pkt,
                    meta,
                    classes: out,
                }
                .eval_bool(expr),
            };
            if member {
                out.insert(entry.name.clone());
            }
        }
    }

    /// Pass 3: the classes whose tests depend on `KNOWN`/`UNKNOWN`.
    pub(crate) fn classify_after_host(
        &self,
        classes_cfg: &[ClientClass],
        pkt: &Packet<'_>,
        meta: &RecvMeta,
        out: &mut ClientClasses,
    ) {
        self.evaluate(classes_cfg, pkt, meta, out, true);
    }

    fn evaluate(
        &self,
        classes_cfg: &[ClientClass],
        pkt: &Packet<'_>,
        meta: &RecvMeta,
        out: &mut ClientClasses,
        after_host: bool,
    ) {
        for entry in self.entries.iter().filter(|e| e.after_host == after_host) {
            let Some(class) = classes_cfg.get(entry.index) else {
                continue;
            };
            if class.only_if_required {
                continue;
            }
            let Some(expr) = &class.test_expr else {
                continue;
            };
            let ctx = EvalCtx {
                pkt,
                meta,
                classes: out,
            };
            if ctx.eval_bool(expr) {
                out.insert(entry.name.clone());
            }
        }
    }
}

fn depends_on_host(e: &BoolExpr, known_dependent: &dyn Fn(&str) -> bool) -> bool {
    match e {
        BoolExpr::Member(n) => n == "KNOWN" || n == "UNKNOWN" || known_dependent(n),
        BoolExpr::Not(a) => depends_on_host(a, known_dependent),
        BoolExpr::And(a, b) | BoolExpr::Or(a, b) => {
            depends_on_host(a, known_dependent) || depends_on_host(b, known_dependent)
        }
        BoolExpr::Equal(a, b) => str_depends(a, known_dependent) || str_depends(b, known_dependent),
        _ => false,
    }
}

fn str_depends(e: &StrExpr, known_dependent: &dyn Fn(&str) -> bool) -> bool {
    match e {
        StrExpr::IfElse(c, a, b) => {
            depends_on_host(c, known_dependent)
                || str_depends(a, known_dependent)
                || str_depends(b, known_dependent)
        }
        StrExpr::Substring(a, ..) | StrExpr::AddrToText(a) | StrExpr::IntToText(_, a) => {
            str_depends(a, known_dependent)
        }
        StrExpr::Split(a, b, _) | StrExpr::Concat(a, b) | StrExpr::HexString(a, b) => {
            str_depends(a, known_dependent) || str_depends(b, known_dependent)
        }
        _ => false,
    }
}

/// What an expression is evaluated against.
pub(crate) struct EvalCtx<'p, 'a> {
    pub(crate) pkt: &'p Packet<'a>,
    pub(crate) meta: &'p RecvMeta,
    pub(crate) classes: &'p ClientClasses,
}

impl EvalCtx<'_, '_> {
    pub(crate) fn eval_bool(&self, e: &BoolExpr) -> bool {
        match e {
            BoolExpr::Not(a) => !self.eval_bool(a),
            BoolExpr::And(a, b) => self.eval_bool(a) && self.eval_bool(b),
            BoolExpr::Or(a, b) => self.eval_bool(a) || self.eval_bool(b),
            BoolExpr::Equal(a, b) => self.eval_str(a) == self.eval_str(b),
            BoolExpr::OptionExists(c) => self.pkt.has_option(*c),
            BoolExpr::SubOptionExists(c, s) => self
                .pkt
                .option(*c)
                .is_some_and(|v| sub_option(&v, *s).is_some()),
            BoolExpr::Relay4Exists(s) => self
                .pkt
                .relay_agent_info()
                .is_some_and(|r| r.sub_option(*s).is_some()),
            BoolExpr::VendorClassExists(e) => self
                .pkt
                .option(124)
                .is_some_and(|v| vendor_entries(&v, false).any(|(ent, _)| *e == 0 || ent == *e)),
            BoolExpr::VendorExists(e) => self
                .pkt
                .option(125)
                .is_some_and(|v| vendor_entries(&v, true).any(|(ent, _)| *e == 0 || ent == *e)),
            BoolExpr::VendorOptionExists(e, c) => self.pkt.option(125).is_some_and(|v| {
                vendor_entries(&v, true)
                    .any(|(ent, data)| (*e == 0 || ent == *e) && sub_option(data, *c).is_some())
            }),
            BoolExpr::Member(n) => self.classes.contains(n),
        }
    }

    pub(crate) fn eval_str<'x>(&'x self, e: &'x StrExpr) -> Cow<'x, [u8]> {
        match e {
            StrExpr::Literal(v) => Cow::Borrowed(v),
            StrExpr::Option { code, .. } => self.pkt.option(*code).unwrap_or(Cow::Borrowed(&[])),
            StrExpr::SubOption { code, sub, .. } => self
                .pkt
                .option(*code)
                .and_then(|v| sub_option(&v, *sub).map(<[u8]>::to_vec))
                .map_or(Cow::Borrowed(&[][..]), Cow::Owned),
            StrExpr::Relay4 { sub, .. } => self
                .pkt
                .relay_agent_info()
                .and_then(|r| r.sub_option(*sub).map(|c| c.into_owned()))
                .map_or(Cow::Borrowed(&[][..]), Cow::Owned),
            StrExpr::Pkt(f) => Cow::Owned(match f {
                PktField::Iface => self.meta.iface.as_bytes().to_vec(),
                PktField::Src => self.meta.src.ip().octets().to_vec(),
                PktField::Dst => {
                    if self.meta.broadcast {
                        Ipv4Addr::BROADCAST.octets().to_vec()
                    } else {
                        self.meta.local_addr.octets().to_vec()
                    }
                }
                PktField::Len => u32::try_from(self.pkt.as_bytes().len())
                    .unwrap_or(u32::MAX)
                    .to_be_bytes()
                    .to_vec(),
            }),
            StrExpr::Pkt4(f) => Cow::Owned(match f {
                Pkt4Field::Mac => self.pkt.chaddr().to_vec(),
                Pkt4Field::Hlen => u32::from(self.pkt.hlen()).to_be_bytes().to_vec(),
                Pkt4Field::Htype => u32::from(self.pkt.htype()).to_be_bytes().to_vec(),
                Pkt4Field::Ciaddr => self.pkt.ciaddr().octets().to_vec(),
                Pkt4Field::Giaddr => self.pkt.giaddr().octets().to_vec(),
                Pkt4Field::Yiaddr => self.pkt.yiaddr().octets().to_vec(),
                Pkt4Field::Siaddr => self.pkt.siaddr().octets().to_vec(),
                Pkt4Field::MsgType => {
                    let t = self.pkt.message_type().ok().flatten().map_or(0, u8::from);
                    u32::from(t).to_be_bytes().to_vec()
                }
                Pkt4Field::TransId => self.pkt.xid().to_be_bytes().to_vec(),
            }),
            StrExpr::Substring(s, start, len) => {
                let v = self.eval_str(s);
                Cow::Owned(substring(&v, *start, *len).to_vec())
            }
            StrExpr::Split(s, delims, field) => {
                let v = self.eval_str(s);
                let d = self.eval_str(delims);
                Cow::Owned(split(&v, &d, *field).to_vec())
            }
            StrExpr::Concat(a, b) => {
                let mut v = self.eval_str(a).into_owned();
                v.extend_from_slice(&self.eval_str(b));
                Cow::Owned(v)
            }
            StrExpr::IfElse(c, a, b) => {
                if self.eval_bool(c) {
                    self.eval_str(a)
                } else {
                    self.eval_str(b)
                }
            }
            StrExpr::HexString(s, sep) => {
                let v = self.eval_str(s);
                let sep = self.eval_str(sep);
                let mut out = Vec::with_capacity(v.len() * (2 + sep.len()));
                for (i, b) in v.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(&sep);
                    }
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                Cow::Owned(out)
            }
            StrExpr::AddrToText(s) => {
                let v = self.eval_str(s);
                Cow::Owned(match <[u8; 4]>::try_from(&*v) {
                    Ok(o) => Ipv4Addr::from(o).to_string().into_bytes(),
                    Err(_) => match <[u8; 16]>::try_from(&*v) {
                        Ok(o) => std::net::Ipv6Addr::from(o).to_string().into_bytes(),
                        Err(_) => Vec::new(),
                    },
                })
            }
            StrExpr::IntToText(kind, s) => {
                let v = self.eval_str(s);
                Cow::Owned(int_to_text(*kind, &v).into_bytes())
            }
            StrExpr::VendorEnterprise => self
                .pkt
                .option(125)
                .and_then(|v| vendor_entries(&v, true).next().map(|(e, _)| e))
                .map_or(Cow::Borrowed(&[][..]), |e| {
                    Cow::Owned(e.to_be_bytes().to_vec())
                }),
            StrExpr::VendorClassEnterprise => self
                .pkt
                .option(124)
                .and_then(|v| vendor_entries(&v, false).next().map(|(e, _)| e))
                .map_or(Cow::Borrowed(&[][..]), |e| {
                    Cow::Owned(e.to_be_bytes().to_vec())
                }),
            StrExpr::VendorOption {
                enterprise, code, ..
            } => self
                .pkt
                .option(125)
                .and_then(|v| {
                    vendor_entries(&v, true)
                        .find(|(e, _)| *enterprise == 0 || e == enterprise)
                        .and_then(|(_, data)| sub_option(data, *code).map(<[u8]>::to_vec))
                })
                .map_or(Cow::Borrowed(&[][..]), Cow::Owned),
            StrExpr::VendorClassData { enterprise, index } => self
                .pkt
                .option(124)
                .and_then(|v| {
                    vendor_entries(&v, false)
                        .find(|(e, _)| *enterprise == 0 || e == enterprise)
                        .and_then(|(_, data)| vendor_class_tuple(data, *index).map(<[u8]>::to_vec))
                })
                .map_or(Cow::Borrowed(&[][..]), Cow::Owned),
        }
    }
}

/// Kea's `TokenSubstring`: negative `start` counts from the end; a negative `len` takes the
/// bytes before `start`; out-of-range requests give the empty string.
pub(crate) fn substring(v: &[u8], start: i32, len: Option<i32>) -> &[u8] {
    let n = i64::try_from(v.len()).unwrap_or(i64::MAX);
    let mut start = i64::from(start);
    if n == 0 || start >= n || start < -n {
        return &[];
    }
    if start < 0 {
        start += n;
    }
    let mut length = len.map_or(n, i64::from);
    if length < 0 {
        length = -length;
        if length <= start {
            start -= length;
        } else {
            length = start;
            start = 0;
        }
    }
    let end = start.saturating_add(length).min(n);
    let (Ok(s), Ok(e)) = (usize::try_from(start), usize::try_from(end)) else {
        return &[];
    };
    v.get(s..e).unwrap_or(&[])
}

/// Kea's `TokenSplit`: the 1-based `field` of `v` split at any byte of `delims`.
fn split<'v>(v: &'v [u8], delims: &[u8], field: u32) -> &'v [u8] {
    if field == 0 {
        return &[];
    }
    if delims.is_empty() {
        return if field == 1 { v } else { &[] };
    }
    v.split(|b| delims.contains(b))
        .nth(usize::try_from(field - 1).unwrap_or(usize::MAX))
        .unwrap_or(&[])
}

fn int_to_text(kind: IntToText, v: &[u8]) -> String {
    let be = |n: usize| -> Option<u64> {
        (v.len() == n).then(|| v.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    };
    match kind {
        IntToText::Uint8 => be(1).map(|x| x.to_string()),
        IntToText::Uint16 => be(2).map(|x| x.to_string()),
        IntToText::Uint32 => be(4).map(|x| x.to_string()),
        IntToText::Int8 => be(1).map(|x| (x as u8 as i8).to_string()),
        IntToText::Int16 => be(2).map(|x| (x as u16 as i16).to_string()),
        IntToText::Int32 => be(4).map(|x| (x as u32 as i32).to_string()),
    }
    .unwrap_or_default()
}

/// Sub-option `code` of an encapsulating option (code, length, value triples).
fn sub_option(data: &[u8], code: u8) -> Option<&[u8]> {
    let mut rest = data;
    while let [c, len, tail @ ..] = rest {
        let (value, next) = tail.split_at_checked(usize::from(*len))?;
        if *c == code {
            return Some(value);
        }
        rest = next;
    }
    None
}

/// Entries of option 125 (`vivso`: enterprise, length, sub-options) or 124 (`vivco`:
/// enterprise, length, class tuples).
fn vendor_entries(data: &[u8], _vivso: bool) -> impl Iterator<Item = (u32, &[u8])> + '_ {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (ent, tail) = rest.split_at_checked(4)?;
        let (len, tail) = tail.split_first()?;
        let (value, next) = tail.split_at_checked(usize::from(*len))?;
        rest = next;
        let ent = u32::from_be_bytes(<[u8; 4]>::try_from(ent).ok()?);
        Some((ent, value))
    })
}

/// The `index`-th length-prefixed tuple of a vendor class entry.
fn vendor_class_tuple(data: &[u8], index: u32) -> Option<&[u8]> {
    let mut rest = data;
    let mut i = 0;
    while let Some((len, tail)) = rest.split_first() {
        let (value, next) = tail.split_at_checked(usize::from(*len))?;
        if i == index {
            return Some(value);
        }
        i += 1;
        rest = next;
    }
    None
}

/// Whether the message type is one Kea 2.2 serves.
pub(crate) fn served_type(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Discover
            | MessageType::Request
            | MessageType::Decline
            | MessageType::Release
            | MessageType::Inform
    )
}

/// The circuit-id of option 82, for host reservations by `circuit-id`.
pub(crate) fn circuit_id(pkt: &Packet<'_>) -> Option<Vec<u8>> {
    pkt.relay_agent_info()
        .and_then(|r| r.sub_option(code::rai::CIRCUIT_ID).map(|c| c.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_config::parse_dhcp4_str_with;
    use nestor_proto::pkt::MessageBuilder;
    use std::net::SocketAddrV4;

    fn meta() -> RecvMeta {
        RecvMeta {
            iface: Arc::from("eth0"),
            iface_addrs: Arc::from([Ipv4Addr::new(198, 18, 0, 1)]),
            local_addr: Ipv4Addr::UNSPECIFIED,
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            broadcast: true,
            raw: true,
        }
    }

    #[test]
    fn kea_substring_rules() {
        let v = b"foobar";
        assert_eq!(substring(v, 0, Some(3)), b"foo");
        assert_eq!(substring(v, 3, None), b"bar");
        assert_eq!(substring(v, -3, None), b"bar");
        assert_eq!(substring(v, -1, Some(-3)), b"oba");
        assert_eq!(substring(v, 1, Some(-3)), b"f");
        assert_eq!(substring(v, 6, None), b"");
        assert_eq!(substring(v, -7, None), b"");
        assert_eq!(substring(b"", 0, None), b"");
        assert_eq!(split(b"a.b.c", b".", 2), b"b");
        assert_eq!(split(b"a.b.c", b".", 4), b"");
        assert_eq!(int_to_text(IntToText::Int8, &[0xff]), "-1");
        assert_eq!(int_to_text(IntToText::Uint16, &[1, 0]), "256");
    }

    #[test]
    fn classes_from_config_tests_and_builtins() {
        let text = r#"{"Dhcp4":{"client-classes":[
            {"name":"aastra","test":"substring(option[60].hex,0,6) == 'Aastra'"},
            {"name":"ha1","test":"member('HA_server1')"},
            {"name":"known-aastra","test":"member('KNOWN') and member('aastra')"},
            {"name":"req","test":"option[60].exists","only-if-required":true}
        ]}}"#;
        let cfg = parse_dhcp4_str_with(text, "t", &Default::default())
            .map_err(|e| e.to_string())
            .unwrap()
            .config;
        let table = ClassTable::new(&cfg.client_classes);
        assert!(
            table
                .entries
                .iter()
                .any(|e| &*e.name == "known-aastra" && e.after_host)
        );
        let mut b = MessageBuilder::client(MessageType::Discover, 1, &[1, 2, 3, 4, 5, 6]).unwrap();
        b.add_option(60, b"Aastra6731i").unwrap();
        let mut buf = Vec::new();
        b.encode_into(&mut buf, &nestor_proto::pkt::EncodeLimits::unlimited())
            .unwrap();
        let pkt = Packet::parse(&buf).unwrap();
        let mut classes = table.classify(
            &cfg.client_classes,
            &pkt,
            &meta(),
            &[Arc::from("HA_server1")],
        );
        let names: Vec<_> = classes.iter().collect();
        assert_eq!(
            names,
            [
                "ALL",
                "VENDOR_CLASS_Aastra6731i",
                "HA_server1",
                "aastra",
                "ha1"
            ]
        );
        classes.insert(Arc::from("KNOWN"));
        table.classify_after_host(&cfg.client_classes, &pkt, &meta(), &mut classes);
        assert!(classes.contains("known-aastra"));
        assert!(!classes.contains("req"));
        assert!(classes.allows(None) && classes.allows(Some("aastra")));
        assert!(!classes.allows(Some("other")));
    }
}
