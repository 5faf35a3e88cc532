//! The DHCPv4 decision engine: given the configuration, a received packet, how it arrived, the
//! classes hooks added, a lease store and the time, decide the reply and commit the leases it
//! promises. No sockets, no timers, no spawning: the server drives it (see DESIGN.md, "The
//! packet path").
//!
//! Behaviour follows Kea 2.2's `Dhcpv4Srv` and `AllocEngine` (reference sections 4.2, 4.3, 6):
//!
//! * acceptance: BOOTREQUEST with a served message type; server identifier, when present, one
//!   of ours; a broadcast from a directly connected client needs a subnet on its link; DISCOVER
//!   must not carry a server identifier; an INFORM from 0.0.0.0 without ciaddr is dropped;
//! * classification ([`classify`]), subnet selection (`select.rs`), host reservations
//!   ([`hosts`]);
//! * DISCOVER -> OFFER without touching the store (reserved address, the client's own lease,
//!   the requested address, then the iterative allocator; [`alloc`]); nothing to offer -> drop;
//! * REQUEST in every RFC 2131 state, inferred as Kea does (`exchange.rs`): SELECTING,
//!   INIT-REBOOT, RENEWING/REBINDING and the liberal "no address at all" case, with Kea's NAK
//!   and silent-drop rules, `authoritative`, `match-client-id`;
//! * DECLINE (probation), RELEASE, INFORM;
//! * client names: option 12 and option 81 answered as Kea does without DNS updates
//!   (`names.rs`);
//! * replies ([`reply`]): options by Kea's precedence and the PRL, lifetimes and T1/T2, fixed
//!   fields, server identifier, echo of 61 / 82 / 118, destination;
//! * reclamation of expired leases ([`reclaim`]), called by the server's timer.
//!
//! Durability: every lease write is awaited (memfile: the row is written) before the reply is
//! returned, so the server never sends an ACK for a lease it could lose.
//!
//! Panic policy: nothing here panics on any packet or configuration; store errors become a
//! [`DropReason::LeaseStore`].

pub mod alloc;
pub mod classify;
mod exchange;
pub mod hosts;
mod names;
pub mod reclaim;
pub mod reply;
mod select;
pub mod stats;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use nestor_config::Dhcp4Config;
use nestor_leases::{Lease4, LeaseStore, UnixTime};
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};

use alloc::{Claims, SubnetCursor};
use classify::ClassTable;
use hosts::HostIndex;

pub use classify::ClientClasses;
pub use reclaim::{ReclaimLimits, ReclaimReport};
pub use reply::Destination;
pub use stats::{Stat, StatDelta, StatDeltas};

/// How a packet arrived, filled in by the server for each received packet.
#[derive(Debug, Clone)]
pub struct RecvMeta {
    /// Receiving interface name (`lo` for UDP-on-loopback tests).
    pub iface: Arc<str>,
    /// The interface's IPv4 addresses (server identifier candidates).
    pub iface_addrs: Arc<[Ipv4Addr]>,
    /// The destination address of the packet; 0.0.0.0 when it was broadcast.
    pub local_addr: Ipv4Addr,
    /// IP source address and port.
    pub src: SocketAddrV4,
    /// Received as broadcast (destination 255.255.255.255).
    pub broadcast: bool,
    /// Came through an AF_PACKET socket: the reply can be framed to the client's MAC.
    pub raw: bool,
}

/// A lease written for an exchange, for the `leases4_committed` hook and HA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseChange {
    /// A new lease.
    Added(Lease4),
    /// A lease renewed, reused, declined (the new value).
    Updated(Lease4),
    /// A lease removed (released, or left behind when the client moved).
    Deleted(Lease4),
}

/// Why a packet gets no reply and counts as dropped. Kea logs each with the message ID given
/// by [`DropReason::kea_log_id`]; [`DropReason::is_receive_drop`] tells whether Kea counts it
/// in `pkt4-receive-drop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// `op` is not BOOTREQUEST.
    NotRequest,
    /// No option 53: BOOTP, which Kea 2.2 serves only with its bootp hook.
    NoMessageType,
    /// A message type the server does not serve (OFFER, ACK, lease query...).
    UnsupportedType(MessageType),
    /// An option the engine needs has a wrong length (53, 50, 54, 61...).
    MalformedOption(String),
    /// A client identifier shorter than 2 bytes.
    BadClientId,
    /// Neither a hardware address nor a client identifier.
    NoClientIdentity,
    /// The server identifier names another server.
    ServerIdMismatch(Ipv4Addr),
    /// A DISCOVER carrying a server identifier.
    ServerIdInDiscover,
    /// A broadcast from a directly connected client on a link with no subnet.
    NotDirectlyConnected,
    /// An INFORM from 0.0.0.0 with no ciaddr: nowhere to answer.
    InformNoAddress,
    /// The packet is in class `DROP`.
    DropClass,
    /// No subnet for a DISCOVER.
    NoSubnet,
    /// Nothing to offer (pools exhausted or none allowed).
    NoAddress,
    /// SELECTING for an address outside every pool of the subnet/network.
    UnknownAddressRequested(Ipv4Addr),
    /// INIT-REBOOT from a client with no lease, server not authoritative.
    InitRebootUnknownClient(Ipv4Addr),
    /// DECLINE without option 50.
    DeclineNoAddress,
    /// Another packet of the same exchange is committing the same address right now.
    InFlight(Ipv4Addr),
    /// The lease store failed; the exchange was not committed.
    LeaseStore(String),
}

impl DropReason {
    /// Kea 2.2's log message ID for this drop.
    pub fn kea_log_id(&self) -> &'static str {
        match self {
            DropReason::NotRequest | DropReason::NoMessageType | DropReason::UnsupportedType(_) => {
                "DHCP4_UNSUPPORTED_RCVD"
            }
            DropReason::MalformedOption(_)
            | DropReason::BadClientId
            | DropReason::NoClientIdentity
            | DropReason::ServerIdInDiscover
            | DropReason::DeclineNoAddress => "DHCP4_PACKET_DROP_0007",
            DropReason::ServerIdMismatch(_) => "DHCP4_PACKET_NOT_FOR_US",
            DropReason::NotDirectlyConnected | DropReason::InformNoAddress => {
                "DHCP4_NO_SUBNET_FOR_DIRECT_CLIENT"
            }
            DropReason::DropClass => "DHCP4_PACKET_DROP_0010",
            DropReason::NoSubnet => "DHCP4_PACKET_NAK_0001",
            DropReason::NoAddress => "DHCP4_PACKET_NAK_0003",
            DropReason::UnknownAddressRequested(_) => "DHCP4_UNKNOWN_ADDRESS_REQUESTED",
            DropReason::InitRebootUnknownClient(_) => "DHCP4_NO_LEASE_INIT_REBOOT",
            DropReason::InFlight(_) => "DHCP4_PACKET_DROP_0011",
            DropReason::LeaseStore(_) => "DHCPSRV_MEMFILE_LEASE_WRITE_FAILED",
        }
    }

    /// Whether Kea counts this drop in `pkt4-receive-drop` (packets refused before or during
    /// processing, as opposed to legitimately unanswered ones such as an unknown INIT-REBOOT
    /// client).
    pub fn is_receive_drop(&self) -> bool {
        !matches!(
            self,
            DropReason::NoAddress
                | DropReason::NoSubnet
                | DropReason::UnknownAddressRequested(_)
                | DropReason::InitRebootUnknownClient(_)
        )
    }
}

/// A reply to send.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The complete message (`pkt4_send` hooks may still change it).
    pub msg: MessageBuilder,
    pub dest: Destination,
    /// Size rules for encoding (Kea 2.2: no limit but the datagram, no overload).
    pub limits: EncodeLimits,
    /// Leases committed for this reply.
    pub changes: Vec<LeaseChange>,
    /// Statistics to record.
    pub stats: StatDeltas,
    /// The subnet the client was served from.
    pub subnet_id: Option<u32>,
    /// OFFER, ACK or NAK.
    pub message_type: MessageType,
    /// The packet's classes after classification.
    pub classes: ClientClasses,
}

/// The engine's decision for one packet.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Send this.
    Reply(Box<Reply>),
    /// DECLINE or RELEASE processed (successfully or not, as Kea, which only logs a failure):
    /// nothing to send.
    NoReply {
        changes: Vec<LeaseChange>,
        stats: StatDeltas,
    },
    /// Dropped.
    Drop {
        reason: DropReason,
        stats: StatDeltas,
    },
}

impl Outcome {
    fn drop(reason: DropReason) -> Self {
        Outcome::Drop {
            reason,
            stats: StatDeltas::default(),
        }
    }
}

/// The engine for one configuration. Cheap to share (`Arc<Engine>`); all methods take `&self`
/// and may run concurrently from many tasks.
#[derive(Debug)]
pub struct Engine {
    cfg: Arc<Dhcp4Config>,
    cursors: Vec<SubnetCursor>,
    hosts: HostIndex,
    classes: ClassTable,
    claims: Arc<Claims>,
    /// Addresses the server has sockets on (server identifiers it accepts).
    socket_addrs: Vec<Ipv4Addr>,
    /// Every configured `dhcp-server-identifier` (Kea accepts any of them before knowing the
    /// subnet).
    configured_ids: Vec<Ipv4Addr>,
}

impl Engine {
    /// An engine for `config`, allocation pointers at the start of every pool.
    pub fn new(config: Arc<Dhcp4Config>) -> Self {
        Self::build(config, None)
    }

    fn build(cfg: Arc<Dhcp4Config>, old: Option<&Engine>) -> Self {
        let cursors = cfg
            .subnets
            .iter()
            .map(|s| {
                let prev = old.and_then(|o| {
                    o.cfg
                        .subnets
                        .iter()
                        .position(|p| p.id == s.id)
                        .and_then(|i| o.cursors.get(i))
                });
                SubnetCursor::carried_over(s, prev)
            })
            .collect();
        let configured_ids = configured_server_ids(&cfg);
        Engine {
            hosts: HostIndex::new(&cfg),
            classes: ClassTable::new(&cfg.client_classes),
            cursors,
            claims: old.map_or_else(Arc::default, |o| o.claims.clone()),
            socket_addrs: old.map_or_else(Vec::new, |o| o.socket_addrs.clone()),
            configured_ids,
            cfg,
        }
    }

    /// The engine for a new configuration (`config-set`, `config-reload`, SIGHUP): allocation
    /// pointers of pools that still exist (same subnet id and range) continue where they were,
    /// and addresses being committed stay claimed. The server swaps its `Arc<Engine>`; packets
    /// in flight finish on the old engine.
    pub fn reconfigured(&self, config: Arc<Dhcp4Config>) -> Engine {
        Self::build(config, Some(self))
    }

    /// Declares the addresses the server has sockets on: a server identifier naming one of
    /// them is ours (Kea's `IfaceMgr::hasOpenSocket`). The receiving interface's addresses
    /// are always accepted.
    pub fn with_socket_addresses(mut self, addrs: impl IntoIterator<Item = Ipv4Addr>) -> Self {
        self.socket_addrs = addrs.into_iter().collect();
        self
    }

    /// The configuration this engine serves.
    pub fn config(&self) -> &Arc<Dhcp4Config> {
        &self.cfg
    }

    /// Decides the reply to `pkt`, committing leases to `store` first. `extra_classes` are the
    /// classes added by `pkt4_receive` hooks (HA's `HA_<server>`), `now` the current Unix time.
    pub async fn process<S: LeaseStore + ?Sized>(
        &self,
        store: &S,
        pkt: &Packet<'_>,
        meta: &RecvMeta,
        extra_classes: &[Arc<str>],
        now: UnixTime,
    ) -> Outcome {
        match exchange::Exchange::start(self, pkt, meta, extra_classes) {
            Ok(mut ex) => ex.run(store, now).await,
            Err(reason) => Outcome::drop(reason),
        }
    }
}

fn configured_server_ids(cfg: &Dhcp4Config) -> Vec<Ipv4Addr> {
    let subnets = cfg.subnets.iter().flat_map(|s| {
        s.options
            .iter()
            .chain(s.pools.iter().flat_map(|p| p.options.iter()))
    });
    let networks = cfg.shared_networks.iter().flat_map(|n| n.options.iter());
    let classes = cfg.client_classes.iter().flat_map(|c| c.options.iter());
    let mut ids: Vec<Ipv4Addr> = cfg
        .options
        .iter()
        .chain(subnets)
        .chain(networks)
        .chain(classes)
        .filter(|o| o.space == "dhcp4" && o.code == nestor_proto::pkt::code::SERVER_ID)
        .filter_map(|o| <[u8; 4]>::try_from(o.payload.as_slice()).ok())
        .map(Ipv4Addr::from)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
