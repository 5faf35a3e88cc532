//! [`Hooks`]: the loaded plugins, called in configuration order, with the combined verdict the
//! server acts on; and the parking lot of `leases4_committed`.
//!
//! Combination rules (Kea runs every callout of a hook point and the last status wins; a plugin
//! here cannot undo another's drop, which is the only combination Kea's own libraries rely on):
//! * receive, `pkt4_send`: the first `Drop` stops the chain;
//! * `subnet4_select`: each plugin sees the selection as left by the previous one; `Drop` stops;
//! * `lease4_select`, `lease4_expire`: the first `Skip` stops;
//! * `leases4_committed`: the first `Drop` stops; every `Park` future is awaited together, the
//!   reply is sent when all resolve to `Continue` and dropped as soon as one resolves to `Drop`.
//!
//! # Parking lot
//! Kea bounds the replies parked at `leases4_committed` by `parked-packet-limit` (default 256,
//! 0 = no limit) and drops a reply that does not fit, counting it in `pkt4-receive-drop`
//! (`DHCP4_HOOK_LEASES4_PARKING_LOT_FULL`). Kea checks the limit *before* calling the callouts,
//! so such a lease is committed locally but never reaches the HA partner. Nestor calls the
//! callouts first (the partner always learns of a committed lease) and refuses to park after:
//! the verdict is then [`Committed::ParkingLotFull`] and the server drops and counts the reply.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use nestor_config::Dhcp4Config;
use nestor_ctrl::{Answer, CommandProcessedHook, CommandRegistry, HookId};
use nestor_leases::Lease4;
use nestor_proto::pkt::{MessageBuilder, Packet};
use serde_json::Value;

use crate::plugin::{
    CommittedLeases, CommittedVerdict, ExpireVerdict, LeaseSelectVerdict, ParkFuture, ParkResult,
    Plugin, PluginError, QueryContext, ReceiveVerdict, SendVerdict, SubnetVerdict,
};

/// Kea's default `parked-packet-limit`.
pub const DEFAULT_PARKED_PACKET_LIMIT: u32 = 256;

/// What the server does with a query after `subnet4_select`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum SubnetOutcome {
    /// Go on with this subnet (`None`: no subnet).
    Use(Option<u32>),
    /// Drop the query (counted in `pkt4-receive-drop`).
    Drop,
}

/// What the server does with a reply after `leases4_committed`.
#[must_use]
#[derive(Debug)]
pub enum Committed {
    /// Send it now.
    Continue,
    /// A plugin dropped it.
    Drop,
    /// A plugin wanted to park it and `parked-packet-limit` replies are already parked: drop it
    /// and count it in `pkt4-receive-drop` (`DHCP4_HOOK_LEASES4_PARKING_LOT_FULL`).
    ParkingLotFull {
        /// The limit.
        limit: u32,
    },
    /// Await this, then send or drop the reply.
    Park(ParkedReply),
}

/// The count of parked replies against `parked-packet-limit`.
#[derive(Debug)]
struct ParkingLot {
    limit: u32,
    parked: AtomicUsize,
}

impl ParkingLot {
    fn try_park(self: &Arc<Self>) -> Option<ParkPermit> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let admitted = self
            .parked
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |parked| {
                (limit == 0 || parked < limit).then_some(parked + 1)
            })
            .is_ok();
        admitted.then(|| ParkPermit(Arc::clone(self)))
    }
}

/// One place in the parking lot, given back when the parked reply is sent or dropped.
#[derive(Debug)]
struct ParkPermit(Arc<ParkingLot>);

impl Drop for ParkPermit {
    fn drop(&mut self) {
        self.0.parked.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A reply parked until every plugin that parked it lets it go: resolves to
/// [`ParkResult::Continue`] when all futures did, to the first [`ParkResult::Drop`] otherwise.
/// Holds its parking place until dropped.
#[must_use = "a parked reply is sent only after this resolves"]
pub struct ParkedReply {
    pending: Vec<Option<ParkFuture>>,
    _permit: ParkPermit,
}

impl std::fmt::Debug for ParkedReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParkedReply")
            .field(
                "pending",
                &self.pending.iter().filter(|p| p.is_some()).count(),
            )
            .finish()
    }
}

impl Future for ParkedReply {
    type Output = ParkResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ParkResult> {
        let mut waiting = false;
        for slot in &mut self.pending {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Pending => waiting = true,
                    Poll::Ready(ParkResult::Continue) => *slot = None,
                    Poll::Ready(dropped @ ParkResult::Drop { .. }) => return Poll::Ready(dropped),
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(ParkResult::Continue)
        }
    }
}

/// A loaded plugin and what was registered for it.
pub(crate) struct Loaded {
    pub(crate) plugin: Arc<dyn Plugin>,
    pub(crate) commands: Vec<&'static str>,
    pub(crate) processed_hook: Option<HookId>,
}

/// The `command_processed` hook of one plugin; weak, so that the registry does not keep an
/// unloaded plugin alive.
pub(crate) struct ProcessedHook(pub(crate) Weak<dyn Plugin>);

impl CommandProcessedHook for ProcessedHook {
    fn command_processed(&self, name: &str, arguments: Option<&Value>, answer: &mut Answer) {
        if let Some(plugin) = self.0.upgrade() {
            plugin.command_processed(name, arguments, answer);
        }
    }
}

/// The plugins of one configuration, in configuration order. Dropping it (or [`unload`]ing it)
/// unloads them: their commands and hooks are removed from the registry.
///
/// [`unload`]: Hooks::unload
pub struct Hooks {
    plugins: Vec<Loaded>,
    registry: Option<Arc<CommandRegistry>>,
    parking: Arc<ParkingLot>,
    unloaded: AtomicBool,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field(
                "plugins",
                &self
                    .plugins
                    .iter()
                    .map(|l| l.plugin.library())
                    .collect::<Vec<_>>(),
            )
            .field("parked", &self.parked())
            .field("parked_packet_limit", &self.parking.limit)
            .finish()
    }
}

impl Default for Hooks {
    fn default() -> Self {
        Self::none()
    }
}

impl Hooks {
    /// No plugins (no `hooks-libraries`).
    pub fn none() -> Self {
        Self::new(Vec::new(), None, DEFAULT_PARKED_PACKET_LIMIT)
    }

    pub(crate) fn new(
        plugins: Vec<Loaded>,
        registry: Option<Arc<CommandRegistry>>,
        parked_packet_limit: u32,
    ) -> Self {
        Self {
            plugins,
            registry,
            parking: Arc::new(ParkingLot {
                limit: parked_packet_limit,
                parked: AtomicUsize::new(0),
            }),
            unloaded: AtomicBool::new(false),
        }
    }

    pub(crate) fn push(&mut self, loaded: Loaded) {
        self.plugins.push(loaded);
    }

    /// Whether no plugin is loaded: the server may skip building contexts.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// The loaded plugins, in configuration order.
    pub fn plugins(&self) -> impl Iterator<Item = &Arc<dyn Plugin>> + '_ {
        self.plugins.iter().map(|loaded| &loaded.plugin)
    }

    /// Replies parked right now.
    pub fn parked(&self) -> usize {
        self.parking.parked.load(Ordering::Acquire)
    }

    /// `dhcp4_srv_configured` of every plugin; the first error fails the configuration.
    pub fn dhcp4_srv_configured(&self, config: &Arc<Dhcp4Config>) -> Result<(), PluginError> {
        self.plugins()
            .try_for_each(|plugin| plugin.dhcp4_srv_configured(config))
    }

    /// `buffer4_receive`.
    pub fn buffer4_receive(&self, raw: &[u8], ctx: &mut QueryContext) -> ReceiveVerdict {
        for plugin in self.plugins() {
            if plugin.buffer4_receive(raw, ctx) == ReceiveVerdict::Drop {
                return ReceiveVerdict::Drop;
            }
        }
        ReceiveVerdict::Continue
    }

    /// `pkt4_receive`.
    pub fn pkt4_receive(&self, query: &Packet<'_>, ctx: &mut QueryContext) -> ReceiveVerdict {
        for plugin in self.plugins() {
            if plugin.pkt4_receive(query, ctx) == ReceiveVerdict::Drop {
                return ReceiveVerdict::Drop;
            }
        }
        ReceiveVerdict::Continue
    }

    /// `subnet4_select`, starting from the server's choice.
    pub fn subnet4_select(
        &self,
        query: &Packet<'_>,
        ctx: &QueryContext,
        selected: Option<u32>,
    ) -> SubnetOutcome {
        let mut current = selected;
        for plugin in self.plugins() {
            match plugin.subnet4_select(query, ctx, current) {
                SubnetVerdict::Continue => {}
                SubnetVerdict::Select(id) => current = Some(id),
                SubnetVerdict::NoSubnet => current = None,
                SubnetVerdict::Drop => return SubnetOutcome::Drop,
            }
        }
        SubnetOutcome::Use(current)
    }

    /// `lease4_select`.
    pub fn lease4_select(
        &self,
        query: &Packet<'_>,
        ctx: &QueryContext,
        lease: &mut Lease4,
        fake: bool,
    ) -> LeaseSelectVerdict {
        for plugin in self.plugins() {
            if plugin.lease4_select(query, ctx, lease, fake) == LeaseSelectVerdict::Skip {
                return LeaseSelectVerdict::Skip;
            }
        }
        LeaseSelectVerdict::Continue
    }

    /// `leases4_committed`: see the module documentation for parking.
    pub fn leases4_committed(
        &self,
        query: &Packet<'_>,
        ctx: &QueryContext,
        leases: CommittedLeases<'_>,
    ) -> Committed {
        let mut parked = Vec::new();
        for plugin in self.plugins() {
            match plugin.leases4_committed(query, ctx, leases) {
                CommittedVerdict::Continue => {}
                CommittedVerdict::Drop => return Committed::Drop,
                CommittedVerdict::Park(future) => parked.push(Some(future)),
            }
        }
        if parked.is_empty() {
            return Committed::Continue;
        }
        match self.parking.try_park() {
            Some(permit) => Committed::Park(ParkedReply {
                pending: parked,
                _permit: permit,
            }),
            None => Committed::ParkingLotFull {
                limit: self.parking.limit,
            },
        }
    }

    /// `pkt4_send`.
    pub fn pkt4_send(
        &self,
        query: &Packet<'_>,
        ctx: &QueryContext,
        reply: &mut MessageBuilder,
    ) -> SendVerdict {
        for plugin in self.plugins() {
            if plugin.pkt4_send(query, ctx, reply) == SendVerdict::Drop {
                return SendVerdict::Drop;
            }
        }
        SendVerdict::Continue
    }

    /// `lease4_expire`.
    pub fn lease4_expire(&self, lease: &Lease4, remove: bool) -> ExpireVerdict {
        for plugin in self.plugins() {
            if plugin.lease4_expire(lease, remove) == ExpireVerdict::Skip {
                return ExpireVerdict::Skip;
            }
        }
        ExpireVerdict::Continue
    }

    /// Unloads the plugins, last loaded first: their commands and `command_processed` hooks
    /// leave the registry, then each plugin's [`Plugin::unload`] runs. Idempotent; also done on
    /// drop.
    pub fn unload(&self) {
        if self.unloaded.swap(true, Ordering::AcqRel) {
            return;
        }
        for loaded in self.plugins.iter().rev() {
            if let Some(registry) = &self.registry {
                for command in &loaded.commands {
                    if let Err(err) = registry.deregister(command) {
                        tracing::warn!(library = loaded.plugin.library(), error = %err, "HOOKS_COMMAND_DEREGISTER_FAILED");
                    }
                }
                if let Some(id) = loaded.processed_hook {
                    registry.remove_processed_hook(id);
                }
            }
            loaded.plugin.unload();
            tracing::info!(library = loaded.plugin.library(), "HOOKS_LIBRARY_CLOSED");
        }
    }
}

impl Drop for Hooks {
    fn drop(&mut self) {
        self.unload();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::CommittedLeases;
    use nestor_proto::pkt::{EncodeLimits, MessageType};
    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::time::Duration;
    use tokio::time::Instant;

    /// Parks every reply for `delay`, then lets it go or drops it.
    struct Parker {
        delay: Duration,
        outcome: ParkResult,
    }

    impl Plugin for Parker {
        fn library(&self) -> &'static str {
            "parker"
        }

        fn leases4_committed(
            &self,
            _query: &Packet<'_>,
            _ctx: &QueryContext,
            _leases: CommittedLeases<'_>,
        ) -> CommittedVerdict {
            let (delay, outcome) = (self.delay, self.outcome.clone());
            CommittedVerdict::Park(Box::pin(async move {
                tokio::time::sleep(delay).await;
                outcome
            }))
        }
    }

    fn hooks(parkers: Vec<Parker>, limit: u32) -> Hooks {
        let loaded = parkers
            .into_iter()
            .map(|parker| Loaded {
                plugin: Arc::new(parker) as Arc<dyn Plugin>,
                commands: Vec::new(),
                processed_hook: None,
            })
            .collect();
        Hooks::new(loaded, None, limit)
    }

    fn run(hooks: &Hooks) -> Committed {
        let mut raw = Vec::new();
        nestor_proto::pkt::MessageBuilder::client(MessageType::Request, 7, &[1, 2, 3, 4, 5, 6])
            .unwrap()
            .encode_into(&mut raw, &EncodeLimits::default())
            .unwrap();
        let query = Packet::parse(&raw).unwrap();
        let ctx = QueryContext::new(
            "lo".into(),
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, 67),
            Instant::now(),
        );
        let leases = CommittedLeases {
            query_type: MessageType::Request,
            leases: &[],
            deleted: &[],
        };
        hooks.leases4_committed(&query, &ctx, leases)
    }

    fn parked(committed: Committed) -> ParkedReply {
        match committed {
            Committed::Park(parked) => parked,
            other => panic!("expected a parked reply, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_park_must_continue_and_the_first_drop_wins() {
        let both = hooks(
            vec![
                Parker {
                    delay: Duration::from_millis(10),
                    outcome: ParkResult::Continue,
                },
                Parker {
                    delay: Duration::from_millis(30),
                    outcome: ParkResult::Continue,
                },
            ],
            0,
        );
        let start = Instant::now();
        assert_eq!(parked(run(&both)).await, ParkResult::Continue);
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(30),
            "waits for the slowest"
        );

        let one_fails = hooks(
            vec![
                Parker {
                    delay: Duration::from_secs(10),
                    outcome: ParkResult::Continue,
                },
                Parker {
                    delay: Duration::from_millis(5),
                    outcome: ParkResult::Drop {
                        reason: "no ack".into(),
                    },
                },
            ],
            0,
        );
        let start = Instant::now();
        assert_eq!(
            parked(run(&one_fails)).await,
            ParkResult::Drop {
                reason: "no ack".into()
            }
        );
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(5),
            "does not wait for the others"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_parking_lot_bounds_parked_replies_and_frees_places() {
        let hooks = hooks(
            vec![Parker {
                delay: Duration::from_millis(10),
                outcome: ParkResult::Continue,
            }],
            2,
        );
        let first = parked(run(&hooks));
        let second = parked(run(&hooks));
        assert!(matches!(
            run(&hooks),
            Committed::ParkingLotFull { limit: 2 }
        ));
        assert_eq!(hooks.parked(), 2);
        assert_eq!(first.await, ParkResult::Continue);
        assert_eq!(hooks.parked(), 1);
        drop(second);
        assert_eq!(hooks.parked(), 0);
        assert!(matches!(run(&hooks), Committed::Park(_)));
    }

    #[test]
    fn shared_across_tasks() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Hooks>();
        send::<ParkedReply>();
        send_sync::<crate::ServerHandle>();
    }
}
