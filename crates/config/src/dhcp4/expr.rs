//! Kea's classification expression language (`client-classes[].test`), DHCPv4 subset.
//!
//! Kea 2.2 compiles every class test when the configuration is loaded and refuses the
//! configuration when one does not parse (`expression: [<text>] error: <string>:1.19: syntax
//! error, ...`). Nestor does the same and keeps the syntax tree, so the classification engine
//! evaluates a checked [`BoolExpr`] instead of text. Grammar and token rules follow Kea's
//! `src/lib/eval/parser.yy` and `lexer.ll`: `'text'` strings, `0x` hex strings, IPv4/IPv6
//! literals, integers, option names resolved through the option definitions, `member()` only for
//! built-in or previously defined classes. DHCPv6-only forms (`relay6`, `pkt6`) are refused, as
//! in Kea's DHCPv4 server.

use std::net::IpAddr;

use nestor_proto::option::OptionDefs;

/// How an option's content is turned into a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repr {
    /// `.text`: the raw bytes.
    Text,
    /// `.hex`: the raw bytes (Kea compares binary; `0x...` literals are binary too).
    Hex,
}

/// `pkt.<field>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PktField {
    Iface,
    Src,
    Dst,
    Len,
}

/// `pkt4.<field>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pkt4Field {
    Mac,
    Hlen,
    Htype,
    Ciaddr,
    Giaddr,
    Yiaddr,
    Siaddr,
    MsgType,
    TransId,
}

/// `<int>totext(...)` conversions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntToText {
    Int8,
    Int16,
    Int32,
    Uint8,
    Uint16,
    Uint32,
}

/// An expression producing a byte string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrExpr {
    /// `'text'`, `0x0a0b`, an IP address (4 or 16 bytes), or an integer (4 bytes, network order).
    Literal(Vec<u8>),
    Option {
        code: u8,
        repr: Repr,
    },
    SubOption {
        code: u8,
        sub: u8,
        repr: Repr,
    },
    Relay4 {
        sub: u8,
        repr: Repr,
    },
    Pkt(PktField),
    Pkt4(Pkt4Field),
    /// `substring(s, start, length)`; `None` = `all`.
    Substring(Box<StrExpr>, i32, Option<i32>),
    Split(Box<StrExpr>, Box<StrExpr>, u32),
    Concat(Box<StrExpr>, Box<StrExpr>),
    IfElse(Box<BoolExpr>, Box<StrExpr>, Box<StrExpr>),
    HexString(Box<StrExpr>, Box<StrExpr>),
    AddrToText(Box<StrExpr>),
    IntToText(IntToText, Box<StrExpr>),
    VendorEnterprise,
    VendorClassEnterprise,
    /// `vendor[e].option[c].hex`; enterprise 0 = `*`.
    VendorOption {
        enterprise: u32,
        code: u8,
        repr: Repr,
    },
    /// `vendor-class[e].data` / `.data[i]`.
    VendorClassData {
        enterprise: u32,
        index: u32,
    },
}

/// An expression producing a boolean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoolExpr {
    Not(Box<BoolExpr>),
    And(Box<BoolExpr>, Box<BoolExpr>),
    Or(Box<BoolExpr>, Box<BoolExpr>),
    Equal(StrExpr, StrExpr),
    OptionExists(u8),
    SubOptionExists(u8, u8),
    Relay4Exists(u8),
    VendorClassExists(u32),
    VendorExists(u32),
    VendorOptionExists(u32, u8),
    Member(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    Plus,
    Star,
    Equal,
    Str(String),
    Hex(Vec<u8>),
    Int(String),
    Ip(IpAddr),
    OptionName(String),
    Kw(&'static str),
    End,
}

const KEYWORDS: &[&str] = &[
    "not",
    "and",
    "or",
    "option",
    "relay4",
    "relay6",
    "member",
    "peeraddr",
    "linkaddr",
    "text",
    "hex",
    "exists",
    "pkt",
    "iface",
    "src",
    "dst",
    "len",
    "pkt4",
    "mac",
    "hlen",
    "htype",
    "ciaddr",
    "giaddr",
    "yiaddr",
    "siaddr",
    "substring",
    "split",
    "all",
    "concat",
    "ifelse",
    "hexstring",
    "addrtotext",
    "int8totext",
    "int16totext",
    "int32totext",
    "uint8totext",
    "uint16totext",
    "uint32totext",
    "pkt6",
    "msgtype",
    "transid",
    "vendor-class",
    "vendor",
    "data",
    "enterprise",
];

/// Built-in class names and prefixes Kea 2.2 accepts in `member()` without a definition.
const BUILTIN_CLASSES: &[&str] = &["ALL", "KNOWN", "UNKNOWN", "BOOTP", "DROP"];
const BUILTIN_PREFIXES: &[&str] = &["VENDOR_CLASS_", "HA_", "AFTER_", "EXTERNAL_"];

/// Whether `member(name)` may refer to `name` without a `client-classes` entry.
pub fn is_builtin_class(name: &str) -> bool {
    BUILTIN_CLASSES.contains(&name) || BUILTIN_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A parse error with Kea's column convention (1-based byte column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    pub col: usize,
    pub message: String,
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |col: usize, m: String| ExprError {
        col: col + 1,
        message: m,
    };
    while let Some(&c) = b.get(i) {
        let start = i;
        let single = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b',' => Some(Tok::Comma),
            b'+' => Some(Tok::Plus),
            b'*' => Some(Tok::Star),
            b'.' => Some(Tok::Dot),
            _ => None,
        };
        if let Some(t) = single {
            out.push((t, start));
            i += 1;
            continue;
        }
        if c == b'=' {
            if b.get(i + 1) == Some(&b'=') {
                out.push((Tok::Equal, start));
                i += 2;
                continue;
            }
            return Err(err(start, "invalid character: =".into()));
        }
        if c == b'\'' {
            let rest = text.get(i + 1..).unwrap_or("");
            let Some(end) = rest
                .find(['\'', '\n'])
                .filter(|&e| rest.as_bytes().get(e) == Some(&b'\''))
            else {
                return Err(err(start, "unterminated string".into()));
            };
            out.push((Tok::Str(rest.get(..end).unwrap_or("").to_string()), start));
            i += end + 2;
            continue;
        }
        // A run of characters that may form a number, hex string, address or identifier.
        let mut j = i;
        while b
            .get(j)
            .is_some_and(|&x| x.is_ascii_alphanumeric() || matches!(x, b'-' | b'_' | b':' | b'.'))
        {
            j += 1;
        }
        let word = text.get(i..j).unwrap_or("");
        // Identifiers stop at '.', ':' (keywords are followed by '.' as in `pkt4.mac`).
        let ident_end = word.find(['.', ':']).unwrap_or(word.len());
        let ident = word.get(..ident_end).unwrap_or("");
        if c.is_ascii_alphabetic() && !(word.contains(':') && word.parse::<IpAddr>().is_ok()) {
            let after = text.get(i + ident.len()..).unwrap_or("").trim_start();
            let valid_name = ident
                .bytes()
                .last()
                .is_some_and(|l| l.is_ascii_alphanumeric());
            if after.starts_with(']') && valid_name {
                out.push((Tok::OptionName(ident.to_string()), start));
            } else if let Some(k) = KEYWORDS.iter().find(|k| **k == ident) {
                out.push((Tok::Kw(k), start));
            } else {
                return Err(err(
                    start,
                    format!("invalid character: {}", ident.chars().next().unwrap_or('?')),
                ));
            }
            i += ident.len();
            continue;
        }
        if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
            let hex = hex
                .get(..hex.find(['.', ':']).unwrap_or(hex.len()))
                .unwrap_or("");
            let padded = if hex.len() % 2 == 1 {
                format!("0{hex}")
            } else {
                hex.to_string()
            };
            let bytes: Option<Vec<u8>> = (0..padded.len())
                .step_by(2)
                .map(|k| {
                    padded
                        .get(k..k + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect();
            match bytes {
                Some(v) if !hex.is_empty() => {
                    out.push((Tok::Hex(v), start));
                    i += 2 + hex.len();
                    continue;
                }
                _ => return Err(err(start, format!("invalid hex string {word}"))),
            }
        }
        if word.contains(':') || word.matches('.').count() == 3 {
            // An address literal may not swallow a following `.field`; addresses end the word.
            if let Ok(ip) = word.parse::<IpAddr>() {
                out.push((Tok::Ip(ip), start));
                i = j;
                continue;
            }
        }
        if c == b'-' || c.is_ascii_digit() {
            let mut k = i + 1;
            while b.get(k).is_some_and(u8::is_ascii_digit) {
                k += 1;
            }
            if c == b'-' && k == i + 1 {
                return Err(err(start, "invalid character: -".into()));
            }
            out.push((Tok::Int(text.get(i..k).unwrap_or("").to_string()), start));
            i = k;
            continue;
        }
        return Err(err(start, format!("invalid character: {}", c as char)));
    }
    out.push((Tok::End, text.len()));
    Ok(out)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::LBracket => "\"[\"".into(),
        Tok::RBracket => "\"]\"".into(),
        Tok::Dot => "\".\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Plus => "\"+\"".into(),
        Tok::Star => "\"*\"".into(),
        Tok::Equal => "\"==\"".into(),
        Tok::Str(_) => "constant string".into(),
        Tok::Hex(_) => "constant hexstring".into(),
        Tok::Int(_) => "integer".into(),
        Tok::Ip(_) => "ip address".into(),
        Tok::OptionName(_) => "option name".into(),
        Tok::Kw(k) => format!("\"{k}\""),
        Tok::End => "end of file".into(),
    }
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    defs: &'a OptionDefs,
    known_classes: &'a [String],
}

/// Either kind of primary: Kea's grammar decides on `.exists` after `option[...]`.
enum Primary {
    Bool(BoolExpr),
    Str(StrExpr),
}

type R<T> = Result<T, ExprError>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::End, |(t, _)| t)
    }

    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(0, |(_, c)| *c) + 1
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        self.pos = (self.pos + 1).min(self.toks.len());
        t
    }

    fn unexpected<T>(&self, expecting: &str) -> R<T> {
        let got = describe(self.peek());
        let message = if expecting.is_empty() {
            format!("syntax error, unexpected {got}")
        } else {
            format!("syntax error, unexpected {got}, expecting {expecting}")
        };
        Err(ExprError {
            col: self.col(),
            message,
        })
    }

    fn expect(&mut self, t: &Tok) -> R<()> {
        if self.peek() == t {
            self.bump();
            Ok(())
        } else {
            self.unexpected(&describe(t))
        }
    }

    fn kw(&mut self, k: &str) -> R<()> {
        if matches!(self.peek(), Tok::Kw(x) if *x == k) {
            self.bump();
            Ok(())
        } else {
            self.unexpected(&format!("\"{k}\""))
        }
    }

    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Kw(x) if *x == k)
    }

    fn int_text(&mut self) -> R<(String, usize)> {
        let col = self.col();
        match self.bump() {
            Tok::Int(s) => Ok((s, col)),
            _ => {
                self.pos -= 1;
                self.unexpected("integer")
            }
        }
    }

    fn code(&mut self, allow_name: bool) -> R<u8> {
        let col = self.col();
        match self.bump() {
            Tok::Int(s) => s.parse::<u8>().map_err(|_| ExprError {
                col,
                message: format!("Option code has invalid value in {s}. Allowed range: 0..255"),
            }),
            Tok::OptionName(n) if allow_name => self
                .defs
                .by_name("dhcp4", &n)
                .map(|d| d.code)
                .ok_or(ExprError {
                    col,
                    message: format!("option '{n}' is not defined"),
                }),
            _ => {
                self.pos -= 1;
                self.unexpected(if allow_name {
                    "integer or option name"
                } else {
                    "integer"
                })
            }
        }
    }

    fn u32_value(&mut self) -> R<u32> {
        let (s, col) = self.int_text()?;
        s.parse::<u32>().map_err(|_| ExprError {
            col,
            message: format!("Invalid value in {s}. Allowed range: 0..4294967295"),
        })
    }

    fn i32_value(&mut self) -> R<i32> {
        let (s, col) = self.int_text()?;
        s.parse::<i32>().map_err(|_| ExprError {
            col,
            message: format!("Invalid integer value in {s}"),
        })
    }

    fn enterprise(&mut self) -> R<u32> {
        if *self.peek() == Tok::Star {
            self.bump();
            return Ok(0);
        }
        self.u32_value()
    }

    fn repr(&mut self) -> R<Repr> {
        if self.is_kw("text") {
            self.bump();
            Ok(Repr::Text)
        } else if self.is_kw("hex") {
            self.bump();
            Ok(Repr::Hex)
        } else {
            self.unexpected("\"text\" or \"hex\"")
        }
    }

    fn bool_or(&mut self) -> R<BoolExpr> {
        let mut left = self.bool_and()?;
        while self.is_kw("or") {
            self.bump();
            let right = self.bool_and()?;
            left = BoolExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn bool_and(&mut self) -> R<BoolExpr> {
        let mut left = self.bool_unary()?;
        while self.is_kw("and") {
            self.bump();
            let right = self.bool_unary()?;
            left = BoolExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn bool_unary(&mut self) -> R<BoolExpr> {
        if self.is_kw("not") {
            self.bump();
            return Ok(BoolExpr::Not(Box::new(self.bool_unary()?)));
        }
        if *self.peek() == Tok::LParen {
            // `( bool )` or `( string ) == ...`: try the boolean reading first.
            let save = self.pos;
            self.bump();
            if let Ok(inner) = self.bool_or()
                && *self.peek() == Tok::RParen
            {
                self.bump();
                return Ok(inner);
            }
            self.pos = save;
        }
        match self.primary()? {
            Primary::Bool(b) => Ok(b),
            Primary::Str(left) => {
                let left = self.plus_rest(left)?;
                self.expect(&Tok::Equal)?;
                let right = self.string_expr()?;
                Ok(BoolExpr::Equal(left, right))
            }
        }
    }

    fn string_expr(&mut self) -> R<StrExpr> {
        match self.primary()? {
            Primary::Str(s) => self.plus_rest(s),
            Primary::Bool(_) => Err(ExprError {
                col: self.col(),
                message: "syntax error, a boolean where a string is expected".into(),
            }),
        }
    }

    fn plus_rest(&mut self, mut left: StrExpr) -> R<StrExpr> {
        while *self.peek() == Tok::Plus {
            self.bump();
            let right = match self.primary()? {
                Primary::Str(s) => s,
                Primary::Bool(_) => return self.unexpected("string"),
            };
            left = StrExpr::Concat(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn call1(&mut self) -> R<StrExpr> {
        self.expect(&Tok::LParen)?;
        let s = self.string_expr()?;
        self.expect(&Tok::RParen)?;
        Ok(s)
    }

    fn primary(&mut self) -> R<Primary> {
        let col = self.col();
        let tok = self.bump();
        let s = match tok {
            Tok::Str(s) => StrExpr::Literal(s.into_bytes()),
            Tok::Hex(h) => StrExpr::Literal(h),
            Tok::Ip(IpAddr::V4(a)) => StrExpr::Literal(a.octets().to_vec()),
            Tok::Ip(IpAddr::V6(a)) => StrExpr::Literal(a.octets().to_vec()),
            Tok::Int(s) => {
                let v = s.parse::<u32>().map_err(|_| ExprError {
                    col,
                    message: format!("Invalid value in {s}. Allowed range: 0..4294967295"),
                })?;
                StrExpr::Literal(v.to_be_bytes().to_vec())
            }
            Tok::LParen => {
                let s = self.string_expr()?;
                self.expect(&Tok::RParen)?;
                s
            }
            Tok::Kw("member") => {
                self.expect(&Tok::LParen)?;
                let ncol = self.col();
                let Tok::Str(name) = self.bump() else {
                    self.pos -= 1;
                    return self.unexpected("constant string");
                };
                self.expect(&Tok::RParen)?;
                if !is_builtin_class(&name) && !self.known_classes.contains(&name) {
                    return Err(ExprError {
                        col: ncol,
                        message: format!("Not defined client-class '{name}'"),
                    });
                }
                return Ok(Primary::Bool(BoolExpr::Member(name)));
            }
            Tok::Kw("option") => {
                self.expect(&Tok::LBracket)?;
                let code = self.code(true)?;
                self.expect(&Tok::RBracket)?;
                self.expect(&Tok::Dot)?;
                if self.is_kw("exists") {
                    self.bump();
                    return Ok(Primary::Bool(BoolExpr::OptionExists(code)));
                }
                if self.is_kw("option") {
                    self.bump();
                    self.expect(&Tok::LBracket)?;
                    let sub = self.code(false)?;
                    self.expect(&Tok::RBracket)?;
                    self.expect(&Tok::Dot)?;
                    if self.is_kw("exists") {
                        self.bump();
                        return Ok(Primary::Bool(BoolExpr::SubOptionExists(code, sub)));
                    }
                    StrExpr::SubOption {
                        code,
                        sub,
                        repr: self.repr()?,
                    }
                } else {
                    StrExpr::Option {
                        code,
                        repr: self.repr()?,
                    }
                }
            }
            Tok::Kw("relay4") => {
                self.expect(&Tok::LBracket)?;
                let sub = self.code(false)?;
                self.expect(&Tok::RBracket)?;
                self.expect(&Tok::Dot)?;
                if self.is_kw("exists") {
                    self.bump();
                    return Ok(Primary::Bool(BoolExpr::Relay4Exists(sub)));
                }
                StrExpr::Relay4 {
                    sub,
                    repr: self.repr()?,
                }
            }
            Tok::Kw(k @ ("relay6" | "pkt6")) => {
                return Err(ExprError {
                    col,
                    message: format!("{k} can only be used in DHCPv6"),
                });
            }
            Tok::Kw("pkt") => {
                self.expect(&Tok::Dot)?;
                let f = match self.bump() {
                    Tok::Kw("iface") => PktField::Iface,
                    Tok::Kw("src") => PktField::Src,
                    Tok::Kw("dst") => PktField::Dst,
                    Tok::Kw("len") => PktField::Len,
                    _ => {
                        self.pos -= 1;
                        return self.unexpected("\"iface\", \"src\", \"dst\" or \"len\"");
                    }
                };
                StrExpr::Pkt(f)
            }
            Tok::Kw("pkt4") => {
                self.expect(&Tok::Dot)?;
                let f = match self.bump() {
                    Tok::Kw("mac") => Pkt4Field::Mac,
                    Tok::Kw("hlen") => Pkt4Field::Hlen,
                    Tok::Kw("htype") => Pkt4Field::Htype,
                    Tok::Kw("ciaddr") => Pkt4Field::Ciaddr,
                    Tok::Kw("giaddr") => Pkt4Field::Giaddr,
                    Tok::Kw("yiaddr") => Pkt4Field::Yiaddr,
                    Tok::Kw("siaddr") => Pkt4Field::Siaddr,
                    Tok::Kw("msgtype") => Pkt4Field::MsgType,
                    Tok::Kw("transid") => Pkt4Field::TransId,
                    _ => {
                        self.pos -= 1;
                        return self.unexpected("a pkt4 field");
                    }
                };
                StrExpr::Pkt4(f)
            }
            Tok::Kw("substring") => {
                self.expect(&Tok::LParen)?;
                let s = self.string_expr()?;
                self.expect(&Tok::Comma)?;
                let start = self.i32_value()?;
                self.expect(&Tok::Comma)?;
                let len = if self.is_kw("all") {
                    self.bump();
                    None
                } else {
                    Some(self.i32_value()?)
                };
                self.expect(&Tok::RParen)?;
                StrExpr::Substring(Box::new(s), start, len)
            }
            Tok::Kw("split") => {
                self.expect(&Tok::LParen)?;
                let s = self.string_expr()?;
                self.expect(&Tok::Comma)?;
                let d = self.string_expr()?;
                self.expect(&Tok::Comma)?;
                let n = self.u32_value()?;
                self.expect(&Tok::RParen)?;
                StrExpr::Split(Box::new(s), Box::new(d), n)
            }
            Tok::Kw(k @ ("concat" | "hexstring")) => {
                self.expect(&Tok::LParen)?;
                let a = self.string_expr()?;
                self.expect(&Tok::Comma)?;
                let b = self.string_expr()?;
                self.expect(&Tok::RParen)?;
                if k == "concat" {
                    StrExpr::Concat(Box::new(a), Box::new(b))
                } else {
                    StrExpr::HexString(Box::new(a), Box::new(b))
                }
            }
            Tok::Kw("ifelse") => {
                self.expect(&Tok::LParen)?;
                let c = self.bool_or()?;
                self.expect(&Tok::Comma)?;
                let a = self.string_expr()?;
                self.expect(&Tok::Comma)?;
                let b = self.string_expr()?;
                self.expect(&Tok::RParen)?;
                StrExpr::IfElse(Box::new(c), Box::new(a), Box::new(b))
            }
            Tok::Kw("addrtotext") => StrExpr::AddrToText(Box::new(self.call1()?)),
            Tok::Kw(
                k @ ("int8totext" | "int16totext" | "int32totext" | "uint8totext" | "uint16totext"
                | "uint32totext"),
            ) => {
                let kind = match k {
                    "int8totext" => IntToText::Int8,
                    "int16totext" => IntToText::Int16,
                    "int32totext" => IntToText::Int32,
                    "uint8totext" => IntToText::Uint8,
                    "uint16totext" => IntToText::Uint16,
                    _ => IntToText::Uint32,
                };
                StrExpr::IntToText(kind, Box::new(self.call1()?))
            }
            Tok::Kw(k @ ("vendor" | "vendor-class")) => {
                let class = k == "vendor-class";
                if *self.peek() == Tok::Dot {
                    self.bump();
                    self.kw("enterprise")?;
                    return Ok(Primary::Str(if class {
                        StrExpr::VendorClassEnterprise
                    } else {
                        StrExpr::VendorEnterprise
                    }));
                }
                self.expect(&Tok::LBracket)?;
                let enterprise = self.enterprise()?;
                self.expect(&Tok::RBracket)?;
                self.expect(&Tok::Dot)?;
                if self.is_kw("exists") {
                    self.bump();
                    return Ok(Primary::Bool(if class {
                        BoolExpr::VendorClassExists(enterprise)
                    } else {
                        BoolExpr::VendorExists(enterprise)
                    }));
                }
                if class {
                    self.kw("data")?;
                    let index = if *self.peek() == Tok::LBracket {
                        self.bump();
                        let i = self.u32_value()?;
                        self.expect(&Tok::RBracket)?;
                        i
                    } else {
                        0
                    };
                    StrExpr::VendorClassData { enterprise, index }
                } else {
                    self.kw("option")?;
                    self.expect(&Tok::LBracket)?;
                    let code = self.code(false)?;
                    self.expect(&Tok::RBracket)?;
                    self.expect(&Tok::Dot)?;
                    if self.is_kw("exists") {
                        self.bump();
                        return Ok(Primary::Bool(BoolExpr::VendorOptionExists(
                            enterprise, code,
                        )));
                    }
                    StrExpr::VendorOption {
                        enterprise,
                        code,
                        repr: self.repr()?,
                    }
                }
            }
            _ => {
                self.pos = self.pos.saturating_sub(1);
                return self.unexpected("");
            }
        };
        Ok(Primary::Str(s))
    }
}

/// Parses a class `test`. `known_classes` are the classes defined before this one (Kea resolves
/// `member()` at parse time against them and the built-in names).
pub fn parse_bool_expr(
    text: &str,
    defs: &OptionDefs,
    known_classes: &[String],
) -> Result<BoolExpr, ExprError> {
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        defs,
        known_classes,
    };
    let e = p.bool_or()?;
    if *p.peek() != Tok::End {
        return p.unexpected("end of file");
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<BoolExpr, ExprError> {
        parse_bool_expr(s, &OptionDefs::standard(), &["voip".to_string()])
    }

    #[test]
    fn kea_manual_examples_parse() {
        for ok in [
            "substring(option[60].hex,0,6) == 'Aastra'",
            "option[123].text == 'foo' and not (pkt4.mac == 0x0a0b0c0d0e0f)",
            "member('HA_server1')",
            "member('voip') or member('KNOWN')",
            "option[host-name].exists",
            "relay4[1].hex == 'charter950'",
            "pkt4.giaddr == 192.0.2.1",
            "pkt.iface == 'eth0' and pkt.len == 300",
            "concat('a', 'b') == 'ab' or ('a' + 'b') == 'ab'",
            "ifelse(option[12].exists, option[12].text, 'none') == 'x'",
            "hexstring(pkt4.mac, ':') == '0a:0b:0c:0d:0e:0f'",
            "substring(option[61].hex, -2, all) == 0x0102",
            "split(option[60].text, ',', 2) == 'b'",
            "vendor[4491].option[2].exists and vendor.enterprise == 4491",
            "vendor-class[*].data[1] == 'x' or vendor-class[4491].exists",
            "option[82].option[1].hex == 'c'",
            "addrtotext(pkt4.ciaddr) == '10.0.0.1' and uint8totext(pkt4.hlen) == '6'",
            "pkt4.msgtype == 1 and pkt4.transid == 0x11223344",
            "(option[60].text) == 'x'",
            "not not option[60].exists",
        ] {
            parse(ok).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
        }
    }

    #[test]
    fn tree_shape_and_precedence() {
        let e = parse("option[60].exists or option[61].exists and not member('KNOWN')").unwrap();
        assert_eq!(
            e,
            BoolExpr::Or(
                Box::new(BoolExpr::OptionExists(60)),
                Box::new(BoolExpr::And(
                    Box::new(BoolExpr::OptionExists(61)),
                    Box::new(BoolExpr::Not(Box::new(BoolExpr::Member("KNOWN".into()))))
                ))
            )
        );
        assert_eq!(
            parse("option[host-name].text == 'a'").unwrap(),
            BoolExpr::Equal(
                StrExpr::Option {
                    code: 12,
                    repr: Repr::Text
                },
                StrExpr::Literal(b"a".to_vec())
            )
        );
        assert_eq!(
            parse("pkt4.giaddr == 10.0.0.1").unwrap(),
            BoolExpr::Equal(
                StrExpr::Pkt4(Pkt4Field::Giaddr),
                StrExpr::Literal(vec![10, 0, 0, 1])
            )
        );
    }

    #[test]
    fn errors_like_kea() {
        let e = parse("option[60].hex == ").unwrap_err();
        assert_eq!(e.col, 19);
        assert!(
            e.message
                .starts_with("syntax error, unexpected end of file"),
            "{e:?}"
        );
        assert_eq!(
            parse("member('nope')").unwrap_err().message,
            "Not defined client-class 'nope'"
        );
        assert_eq!(
            parse("option[no-such-opt].exists").unwrap_err().message,
            "option 'no-such-opt' is not defined"
        );
        assert!(
            parse("option[256].exists")
                .unwrap_err()
                .message
                .contains("Option code has invalid value")
        );
        assert!(
            parse("relay6[0].peeraddr == 'x'")
                .unwrap_err()
                .message
                .contains("DHCPv6")
        );
        for bad in [
            "",
            "option[60].hex",
            "'a' == ",
            "pkt4.mac == 'x' and",
            "substring('a', 0) == 'a'",
            "'unterminated",
            "option[60].bogus == 'x'",
            "1 = 1",
            "'a' == 'b' 'c'",
            "(('a' == 'a')",
            "%",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
