//! Scopes and RFC 3074 load balancing: Kea 2.2's `QueryFilter` (`query_filter.cc`, reference
//! 1.7).
//!
//! Every active peer (primary, secondary, standby) names a scope; the class `HA_<scope>` is
//! added to every received query (even one that is then dropped), so pools and subnets can be
//! split with `client-class`. For the HA message types (DISCOVER, REQUEST, DECLINE, RELEASE,
//! INFORM) the candidate scope is:
//!
//! * hot-standby and passive-backup: the primary's, always;
//! * load-balancing: index `hash % 2` in (primary, secondary), where `hash` is RFC 3074's
//!   Pearson hash of the client identifier (option 61's whole payload, type byte included)
//!   when present and non-empty, else of the chaddr (`hlen` bytes). A query with neither is
//!   out of scope.
//!
//! Other message types belong to the primary's scope and are processed by whoever receives
//! them. A query is in scope when its candidate scope is served; which scopes are served is set
//! by the state machine ([`crate::state::Action::Scopes`]) and by `ha-scopes`.

use std::sync::Arc;

use nestor_config::hooks::ha::{HaMode, PeerRole};

/// RFC 3074 section 6 mixing table (Pearson's permutation of 0..=255).
const LOADB_MX_TBL: [u8; 256] = [
    251, 175, 119, 215, 81, 14, 79, 191, 103, 49, 181, 143, 186, 157, 0, 232, 31, 32, 55, 60, 152,
    58, 17, 237, 174, 70, 160, 144, 220, 90, 57, 223, 59, 3, 18, 140, 111, 166, 203, 196, 134, 243,
    124, 95, 222, 179, 197, 65, 180, 48, 36, 15, 107, 46, 233, 130, 165, 30, 123, 161, 209, 23, 97,
    16, 40, 91, 219, 61, 100, 10, 210, 109, 250, 127, 22, 138, 29, 108, 244, 67, 207, 9, 178, 204,
    74, 98, 126, 249, 167, 116, 34, 77, 193, 200, 121, 5, 20, 113, 71, 35, 128, 13, 182, 94, 25,
    226, 227, 199, 75, 27, 41, 245, 230, 224, 43, 225, 177, 26, 155, 150, 212, 142, 218, 115, 241,
    73, 88, 105, 39, 114, 62, 255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12, 84, 82,
    163, 44, 139, 228, 236, 205, 242, 217, 11, 187, 146, 159, 64, 86, 239, 195, 42, 106, 198, 118,
    112, 184, 172, 87, 2, 173, 117, 176, 229, 247, 253, 137, 185, 99, 164, 102, 147, 45, 66, 231,
    52, 141, 211, 194, 206, 246, 238, 56, 110, 78, 248, 63, 240, 189, 93, 92, 51, 53, 183, 19, 171,
    72, 50, 33, 104, 101, 69, 8, 252, 83, 120, 76, 135, 85, 54, 202, 125, 188, 213, 96, 235, 136,
    208, 162, 129, 190, 132, 156, 38, 47, 1, 7, 254, 24, 4, 216, 131, 89, 21, 28, 133, 37, 153,
    149, 80, 170, 68, 6, 169, 234, 151,
];

/// RFC 3074's hash: start from the key length (as a byte), mix from the last byte to the first.
pub fn load_balance_hash(key: &[u8]) -> u8 {
    // Truncation to a byte is RFC 3074's (and Kea's) definition for the seed.
    #[allow(clippy::cast_possible_truncation)]
    let seed = key.len() as u8;
    key.iter()
        .rev()
        .fold(seed, |hash, byte| LOADB_MX_TBL[usize::from(hash ^ byte)])
}

/// DHCPv4 message types Kea's HA filters (`isHaType`): DISCOVER, REQUEST, DECLINE, RELEASE,
/// INFORM.
pub fn is_ha_type(message_type: u8) -> bool {
    matches!(message_type, 1 | 3 | 4 | 7 | 8)
}

/// What the filter says about one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The class to add (`HA_server1`); `None` when the query has no hash key.
    pub class: Option<Arc<str>>,
    /// Whether this server processes it.
    pub in_scope: bool,
    /// Whether it is an HA-type query aimed at a scope this server does not serve (what
    /// failure detection analyses while the communication is interrupted).
    pub for_partner: bool,
}

#[derive(Debug, Clone)]
struct Scope {
    name: String,
    class: Arc<str>,
    served: bool,
}

/// The scopes of one relationship and which are served.
#[derive(Debug, Clone)]
pub struct QueryFilter {
    mode: HaMode,
    /// Active peers: the primary first, then the secondary or standby.
    scopes: Vec<Scope>,
}

impl QueryFilter {
    /// The filter of a relationship, serving no scope (the waiting state's).
    pub fn new(mode: HaMode, peers: &[(String, PeerRole)]) -> Self {
        let mut active: Vec<&(String, PeerRole)> = peers
            .iter()
            .filter(|(_, role)| *role != PeerRole::Backup)
            .collect();
        active.sort_by_key(|(_, role)| *role != PeerRole::Primary);
        Self {
            mode,
            scopes: active
                .into_iter()
                .map(|(name, _)| Scope {
                    name: name.clone(),
                    class: Arc::from(format!("HA_{name}")),
                    served: false,
                })
                .collect(),
        }
    }

    /// Serves exactly `names` (unknown names are ignored: the state machine validated them).
    pub fn serve(&mut self, names: &[String]) {
        for scope in &mut self.scopes {
            scope.served = names.contains(&scope.name);
        }
    }

    /// The served scopes, in peer order.
    pub fn served(&self) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| s.served)
            .map(|s| s.name.clone())
            .collect()
    }

    /// Decides for one query. `client_id` is option 61's payload, `chaddr` the `hlen` bytes.
    pub fn check(
        &self,
        message_type: Option<u8>,
        client_id: Option<&[u8]>,
        chaddr: &[u8],
    ) -> Verdict {
        let ha_type = message_type.is_some_and(is_ha_type);
        let candidate = if !ha_type || self.mode != HaMode::LoadBalancing {
            Some(0)
        } else {
            let key = match client_id {
                Some(id) if !id.is_empty() => Some(id),
                _ if !chaddr.is_empty() => Some(chaddr),
                _ => None,
            };
            key.map(|key| usize::from(load_balance_hash(key)) % self.scopes.len().max(1))
        };
        let Some(scope) = candidate.and_then(|i| self.scopes.get(i)) else {
            return Verdict {
                class: None,
                in_scope: false,
                for_partner: false,
            };
        };
        let in_scope = !ha_type || scope.served;
        Verdict {
            class: Some(Arc::clone(&scope.class)),
            in_scope,
            for_partner: !in_scope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb() -> QueryFilter {
        QueryFilter::new(
            HaMode::LoadBalancing,
            &[
                ("server3".into(), PeerRole::Backup),
                ("server2".into(), PeerRole::Secondary),
                ("server1".into(), PeerRole::Primary),
            ],
        )
    }

    #[test]
    fn pearson_hash_matches_the_running_kea_pair() {
        // Reference 1.7: client-ids 01:aa:bb:cc:dd:ee:0{0..5} hash to these on Kea 2.2.
        let want = [136u8, 99, 46, 21, 236, 113];
        for (last, want) in (0u8..6).zip(want) {
            let id = [0x01, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, last];
            assert_eq!(load_balance_hash(&id), want, "client-id ..:{last:02x}");
        }
        assert_eq!(load_balance_hash(&[]), 0, "empty key: the seed 0, unmixed");
        let mut sorted = LOADB_MX_TBL;
        sorted.sort_unstable();
        assert!(
            sorted.iter().enumerate().all(|(i, v)| usize::from(*v) == i),
            "a permutation"
        );
    }

    #[test]
    fn load_balancing_splits_by_hash_and_follows_served_scopes() {
        let mut f = lb();
        f.serve(&["server1".into()]);
        // 136 is even -> primary; 99 is odd -> secondary.
        let even = [0x01, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x00];
        let odd = [0x01, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01];
        let v = f.check(Some(1), Some(&even), &[0xaa; 6]);
        assert_eq!(
            (v.class.as_deref(), v.in_scope, v.for_partner),
            (Some("HA_server1"), true, false)
        );
        let v = f.check(Some(3), Some(&odd), &[0xaa; 6]);
        assert_eq!(
            (v.class.as_deref(), v.in_scope, v.for_partner),
            (Some("HA_server2"), false, true)
        );
        // Partner-down: both scopes.
        f.serve(&["server1".into(), "server2".into()]);
        assert!(f.check(Some(3), Some(&odd), &[]).in_scope);
        assert_eq!(f.served(), ["server1", "server2"]);
    }

    #[test]
    fn hash_key_is_client_id_else_chaddr_else_drop() {
        let mut f = lb();
        f.serve(&["server1".into()]);
        let chaddr = [0x00, 0x0c, 0x01, 0x02, 0x03, 0x04];
        let by_chaddr = usize::from(load_balance_hash(&chaddr)) % 2;
        let v = f.check(Some(1), None, &chaddr);
        assert_eq!(v.in_scope, by_chaddr == 0);
        assert_eq!(
            f.check(Some(1), Some(&[]), &chaddr),
            v,
            "empty client-id falls back"
        );
        let none = f.check(Some(1), None, &[]);
        assert_eq!(
            (none.class, none.in_scope, none.for_partner),
            (None, false, false)
        );
    }

    #[test]
    fn non_ha_types_belong_to_the_primary_and_are_always_processed() {
        let f = lb(); // serving nothing
        for t in [2u8, 5, 6, 9, 10, 255] {
            let v = f.check(Some(t), None, &[1]);
            assert_eq!(
                (v.class.as_deref(), v.in_scope),
                (Some("HA_server1"), true),
                "type {t}"
            );
        }
        assert!(f.check(None, None, &[1]).in_scope);
        for t in [1u8, 3, 4, 7, 8] {
            assert!(is_ha_type(t));
        }
    }

    #[test]
    fn hot_standby_candidate_is_always_the_primary() {
        let mut f = QueryFilter::new(
            HaMode::HotStandby,
            &[
                ("kea_1".into(), PeerRole::Primary),
                ("kea_2".into(), PeerRole::Standby),
            ],
        );
        let v = f.check(Some(1), None, &[9; 6]);
        assert_eq!(
            (v.class.as_deref(), v.in_scope, v.for_partner),
            (Some("HA_kea_1"), false, true)
        );
        f.serve(&["kea_1".into()]);
        for id in 0u8..32 {
            assert!(f.check(Some(3), Some(&[1, id]), &[id; 6]).in_scope);
        }
    }
}
