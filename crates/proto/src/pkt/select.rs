//! Which candidate options a reply carries: Kea 2.2's "requested or always sent" rule.
//!
//! Kea answers an option when the client asked for it in the parameter request list (55), when
//! the configuration marks it `always-send`, or when the server always adds it
//! (reference section 4.3 and `Dhcpv4Srv::appendBasicOptions`, section 6.7). Which options are
//! candidates (configured at which level) is server logic; this module only filters.

/// A set of option codes, one bit per code (32 bytes, `Copy`, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CodeSet([u64; 4]);

impl CodeSet {
    /// The empty set.
    pub const fn new() -> Self {
        CodeSet([0; 4])
    }

    /// A set holding `codes` (usable in `const` items).
    pub const fn from_codes(codes: &[u8]) -> Self {
        let mut set = CodeSet::new();
        let mut rest = codes;
        while let [first, tail @ ..] = rest {
            set = set.with(*first);
            rest = tail;
        }
        set
    }

    /// This set plus `code`.
    pub const fn with(mut self, code: u8) -> Self {
        let word = (code >> 6) as usize;
        let bit = 1u64 << (code & 63);
        // `word` < 4 by construction (code >> 6 <= 3); written with a match so that no
        // indexing is needed.
        match word {
            0 => self.0[0] |= bit,
            1 => self.0[1] |= bit,
            2 => self.0[2] |= bit,
            _ => self.0[3] |= bit,
        }
        self
    }

    /// Adds `code`.
    pub fn insert(&mut self, code: u8) {
        *self = self.with(code);
    }

    /// True if `code` is in the set.
    pub fn contains(&self, code: u8) -> bool {
        self.0
            .get(usize::from(code >> 6))
            .is_some_and(|w| w & (1u64 << (code & 63)) != 0)
    }

    /// The union of two sets.
    pub fn union(self, other: CodeSet) -> CodeSet {
        let mut out = self;
        for (a, b) in out.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        out
    }

    /// The codes in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|c| self.contains(*c))
    }
}

impl FromIterator<u8> for CodeSet {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut set = CodeSet::new();
        for c in iter {
            set.insert(c);
        }
        set
    }
}

/// Options a Kea 2.2 server puts in an OFFER/ACK whether or not they were requested:
///
/// * 1 subnet mask, 51 lease time: always on OFFER/ACK (reference 4.3);
/// * 3 routers, 6 domain name servers, 15 domain name, 54 server identifier: added when
///   configured (`appendBasicOptions`); 54 is always present since the server computes it;
/// * 53 message type: every DHCP reply;
/// * 58/59 T1/T2: sent when computed (reference 4.3 "Lifetimes and timers");
/// * 61 client identifier: echoed (RFC 6842, Kea's `echo-client-id`, default true);
/// * 82 relay agent information: echoed when non-empty; 118 subnet selection: echoed
///   (reference 6.7).
///
/// The server still decides per message (a NAK carries only 53, 54, 61; an INFORM ACK has no
/// 51); this set is the filter's upper bound, not a list of options to add.
pub const KEA_ALWAYS_SENT: CodeSet =
    CodeSet::from_codes(&[1, 3, 6, 15, 51, 53, 54, 58, 59, 61, 82, 118]);

/// True if option `code` belongs in the reply: requested in `prl` (option 55), or in
/// `always_send` (typically [`KEA_ALWAYS_SENT`] united with the configured `always-send`
/// codes).
pub fn is_answered(code: u8, prl: &[u8], always_send: &CodeSet) -> bool {
    always_send.contains(code) || prl.contains(&code)
}

/// Filters `candidates` (code, value) down to those [`is_answered`] keeps, preserving their
/// order. The PRL is turned into a [`CodeSet`] once, so the cost is linear.
pub fn select_options<'s, T, I>(
    prl: &[u8],
    always_send: &'s CodeSet,
    candidates: I,
) -> impl Iterator<Item = (u8, T)> + 's
where
    I: IntoIterator<Item = (u8, T)>,
    I::IntoIter: 's,
{
    let wanted = always_send.union(prl.iter().copied().collect());
    candidates
        .into_iter()
        .filter(move |(code, _)| wanted.contains(*code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_set_basics() {
        let s = CodeSet::from_codes(&[0, 63, 64, 127, 128, 255]);
        for c in [0, 63, 64, 127, 128, 255] {
            assert!(s.contains(c), "{c}");
        }
        assert!(!s.contains(1) && !s.contains(200));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 63, 64, 127, 128, 255]);
        let mut t = CodeSet::new();
        t.insert(7);
        assert_eq!(t.union(s).iter().count(), 7);
    }

    #[test]
    fn kea_always_sent_codes() {
        assert_eq!(
            KEA_ALWAYS_SENT.iter().collect::<Vec<_>>(),
            vec![1, 3, 6, 15, 51, 53, 54, 58, 59, 61, 82, 118]
        );
    }

    #[test]
    fn selects_requested_and_mandatory_in_candidate_order() {
        // The seed's PRL 1,28,3,15,6; candidates as configured.
        let prl = [1, 28, 3, 15, 6];
        let candidates = [
            (1, "mask"),
            (2, "time-offset"),
            (3, "router"),
            (42, "ntp"),
            (51, "lease"),
            (28, "bcast"),
        ];
        let always = KEA_ALWAYS_SENT.with(42); // 42 configured with always-send
        let got: Vec<_> = select_options(&prl, &always, candidates).collect();
        assert_eq!(
            got,
            vec![
                (1, "mask"),
                (3, "router"),
                (42, "ntp"),
                (51, "lease"),
                (28, "bcast")
            ]
        );
        assert!(is_answered(28, &prl, &CodeSet::new()));
        assert!(!is_answered(2, &prl, &KEA_ALWAYS_SENT));
    }
}
