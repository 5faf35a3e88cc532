//! A test plugin exercising every callout point, driven by a small fake server written here
//! (receive -> buffer4_receive -> parse -> pkt4_receive -> subnet selection -> subnet4_select ->
//! lease4_select -> commit -> leases4_committed (park) -> pkt4_send -> encode), the way
//! nestor-dhcp4 drives the real plugins. It proves each verdict: drop at every point, classes
//! added by the plugin reaching subnet selection, a reply parked then sent, parked then dropped,
//! the parking lot limit, command registration, `command_processed` augmentation, and unloading.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nestor_config::Dhcp4Config;
use nestor_config::common::{BuiltinHook, HookLibrary};
use nestor_ctrl::{Answer, Command, CommandHandler, CommandRegistry};
use nestor_hooks::stats::dhcp4::Dhcp4Counters;
use nestor_hooks::{
    Committed, CommittedLeases, CommittedVerdict, ExpireVerdict, Hooks, LeaseSelectVerdict,
    NetworkState, Origin, ParkResult, Plugin, PluginError, PluginRegistry, QueryContext,
    ReceiveVerdict, SendVerdict, ServerHandle, Stats, SubnetOutcome, SubnetVerdict, TestClock,
};
use nestor_leases::{DynLeaseStore, HwAddr, Lease4, Memfile};
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------------
// The test plugin.

const XID_OUT_OF_SCOPE: u32 = 0x10;
const XID_PARK_ACK: u32 = 0x20;
const XID_PARK_FAIL: u32 = 0x21;
const XID_COMMIT_DROP: u32 = 0x22;
const XID_SEND_DROP: u32 = 0x30;
const XID_RESELECT: u32 = 0x40;
const REFUSED_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 13);
const KEPT_ON_EXPIRY: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 99);
const PARTNER_DELAY: Duration = Duration::from_millis(50);
const PRIVATE_OPTION: u8 = 224;

/// Shared with the test so it can look inside after the plugin is unloaded.
#[derive(Default)]
struct Observed {
    configured_subnets: Mutex<Option<usize>>,
    lease_updates_sent: AtomicU64,
    unloaded: AtomicBool,
}

/// A stand-in for HA: claims the packets of its scope with a class, parks REQUEST replies until
/// a (simulated) partner acknowledges the lease, adds its state to `status-get`.
struct TestPlugin {
    handle: ServerHandle,
    scope_class: Arc<str>,
    refuse_config: bool,
    observed: Arc<Observed>,
}

static OBSERVED: Mutex<Option<Arc<Observed>>> = Mutex::new(None);

fn construct(library: &HookLibrary, handle: ServerHandle) -> Result<Arc<dyn Plugin>, PluginError> {
    let params = handle.parameters().cloned().unwrap_or(Value::Null);
    assert_eq!(
        Some(&params),
        library
            .parameters
            .as_ref()
            .map(|node| node.to_json())
            .as_ref()
    );
    let Some(name) = params.get("this-server-name").and_then(Value::as_str) else {
        return Err(PluginError::InvalidParameters {
            library: "libdhcp_lease_cmds.so",
            path: format!("{}.this-server-name", library.parameters_path),
            message: "missing".into(),
        });
    };
    let observed = Arc::new(Observed::default());
    *OBSERVED.lock().unwrap() = Some(Arc::clone(&observed));
    Ok(Arc::new(TestPlugin {
        handle,
        scope_class: format!("HA_{name}").into(),
        refuse_config: params.get("refuse-config") == Some(&Value::Bool(true)),
        observed,
    }))
}

impl Plugin for TestPlugin {
    fn library(&self) -> &'static str {
        "libdhcp_lease_cmds.so"
    }

    fn dhcp4_srv_configured(&self, config: &Arc<Dhcp4Config>) -> Result<(), PluginError> {
        if self.refuse_config {
            return Err(PluginError::Failed {
                library: self.library(),
                message: "refusing this configuration".into(),
            });
        }
        *self.observed.configured_subnets.lock().unwrap() = Some(config.subnets.len());
        Ok(())
    }

    fn buffer4_receive(&self, raw: &[u8], _ctx: &mut QueryContext) -> ReceiveVerdict {
        // A BOOTREPLY is never for a server.
        if raw.first() == Some(&2) {
            ReceiveVerdict::Drop
        } else {
            ReceiveVerdict::Continue
        }
    }

    fn pkt4_receive(&self, query: &Packet<'_>, ctx: &mut QueryContext) -> ReceiveVerdict {
        if query.xid() == XID_OUT_OF_SCOPE {
            return ReceiveVerdict::Drop;
        }
        ctx.add_class(&self.scope_class);
        ReceiveVerdict::Continue
    }

    fn subnet4_select(
        &self,
        query: &Packet<'_>,
        _ctx: &QueryContext,
        _selected: Option<u32>,
    ) -> SubnetVerdict {
        if query.xid() == XID_RESELECT {
            SubnetVerdict::Select(2)
        } else {
            SubnetVerdict::Continue
        }
    }

    fn lease4_select(
        &self,
        _query: &Packet<'_>,
        _ctx: &QueryContext,
        lease: &mut Lease4,
        _fake: bool,
    ) -> LeaseSelectVerdict {
        if lease.address == REFUSED_ADDRESS {
            return LeaseSelectVerdict::Skip;
        }
        lease.hostname = nestor_leases::Hostname::new("hooked");
        LeaseSelectVerdict::Continue
    }

    fn leases4_committed(
        &self,
        query: &Packet<'_>,
        _ctx: &QueryContext,
        leases: CommittedLeases<'_>,
    ) -> CommittedVerdict {
        let outcome = match query.xid() {
            XID_COMMIT_DROP => return CommittedVerdict::Drop,
            XID_PARK_ACK => true,
            XID_PARK_FAIL => false,
            _ => return CommittedVerdict::Continue,
        };
        // The "lease update" starts now, whatever becomes of the reply.
        let (ack_tx, ack_rx) = oneshot::channel();
        let observed = Arc::clone(&self.observed);
        let count = leases.leases.len() as u64;
        tokio::spawn(async move {
            tokio::time::sleep(PARTNER_DELAY).await;
            observed
                .lease_updates_sent
                .fetch_add(count, Ordering::SeqCst);
            let _ = ack_tx.send(outcome);
        });
        CommittedVerdict::Park(Box::pin(async move {
            match ack_rx.await {
                Ok(true) => ParkResult::Continue,
                Ok(false) => ParkResult::Drop {
                    reason: "partner rejected the lease update".into(),
                },
                Err(_) => ParkResult::Drop {
                    reason: "lease update task vanished".into(),
                },
            }
        }))
    }

    fn pkt4_send(
        &self,
        query: &Packet<'_>,
        _ctx: &QueryContext,
        reply: &mut MessageBuilder,
    ) -> SendVerdict {
        if query.xid() == XID_SEND_DROP {
            return SendVerdict::Drop;
        }
        reply
            .set_option(PRIVATE_OPTION, b"nestor")
            .map_or(SendVerdict::Drop, |_| SendVerdict::Continue)
    }

    fn lease4_expire(&self, lease: &Lease4, _remove: bool) -> ExpireVerdict {
        if lease.address == KEPT_ON_EXPIRY {
            ExpireVerdict::Skip
        } else {
            ExpireVerdict::Continue
        }
    }

    fn command_processed(&self, name: &str, _arguments: Option<&Value>, answer: &mut Answer) {
        if name == "status-get"
            && let Some(Value::Object(arguments)) = answer.arguments.as_mut()
        {
            arguments.insert(
                "test-plugin".into(),
                json!({"lease-updates": self.observed.lease_updates_sent.load(Ordering::SeqCst)}),
            );
        }
    }

    fn commands(&self) -> Vec<(&'static str, Arc<dyn CommandHandler>)> {
        let observed = Arc::clone(&self.observed);
        let count = move |_command: Command| {
            let sent = observed.lease_updates_sent.load(Ordering::SeqCst);
            async move { Answer::success(format!("{sent} lease updates sent.")) }
        };
        // Disables the service the way HA's partner does: origin ha-partner, with max-period.
        let network_state: NetworkState = self.handle.network_state().clone();
        let disable = move |_command: Command| {
            let network_state = network_state.clone();
            async move {
                network_state
                    .delayed_enable_all(Origin::HaPartner, Duration::from_secs(5))
                    .map(|()| {
                        network_state.disable(Origin::HaPartner);
                        Answer::success("DHCPv4 service disabled for 5 seconds")
                    })
            }
        };
        vec![
            ("test-lease-updates", Arc::new(count)),
            ("test-partner-disable", Arc::new(disable)),
        ]
    }

    fn unload(&self) {
        self.observed.unloaded.store(true, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// The fake server.

#[derive(Debug, PartialEq)]
enum Outcome {
    Dropped(&'static str),
    Sent(Vec<u8>),
}

struct FakeServer {
    hooks: Hooks,
    handle: ServerHandle,
    counters: Dhcp4Counters,
}

fn config(hooks_libraries: Value) -> Arc<Dhcp4Config> {
    let text = json!({"Dhcp4": {
        "hooks-libraries": hooks_libraries,
        "subnet4": [
            {"id": 1, "subnet": "198.18.0.0/24", "pools": [{"pool": "198.18.0.10-198.18.0.200"}]},
            {"id": 2, "subnet": "198.18.1.0/24", "pools": [{"pool": "198.18.1.10-198.18.1.200"}]}
        ]
    }})
    .to_string();
    let loaded =
        nestor_config::parse_dhcp4_str_with(&text, "test", &nestor_config::LoadOptions::offline())
            .unwrap();
    Arc::new(loaded.config)
}

fn test_library(parameters: Value) -> Value {
    json!([{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so", "parameters": parameters}])
}

fn registry() -> PluginRegistry {
    PluginRegistry::new().with(BuiltinHook::LeaseCmds, construct)
}

fn handle_for(config: Arc<Dhcp4Config>) -> ServerHandle {
    let clock = Arc::new(TestClock::at_unix_secs(1_795_636_612));
    let commands = Arc::new(CommandRegistry::new());
    // The server's own status-get, which the plugin augments.
    commands
        .register("status-get", |_command: Command| async {
            Answer::success_with_arguments(json!({"pid": 1, "uptime": 0}))
        })
        .unwrap();
    ServerHandle::new(
        Arc::new(Memfile::in_memory()) as Arc<dyn DynLeaseStore>,
        NetworkState::new(),
        Stats::new(clock.clone()),
        clock,
        config,
        commands,
    )
}

impl FakeServer {
    fn start(parked_packet_limit: u32) -> (Self, Arc<Observed>) {
        let config = config(test_library(json!({"this-server-name": "server1"})));
        let handle = handle_for(Arc::clone(&config));
        let hooks = registry()
            .load(&config.hooks, &handle, parked_packet_limit)
            .unwrap();
        hooks.dhcp4_srv_configured(&config).unwrap();
        let counters = Dhcp4Counters::register(handle.stats());
        let observed = OBSERVED.lock().unwrap().clone().unwrap();
        (
            Self {
                hooks,
                handle,
                counters,
            },
            observed,
        )
    }

    /// The pipeline of nestor-dhcp4, with a trivial engine: the client's address is
    /// `198.18.<subnet-1>.(10 + last chaddr byte)`, in the subnet of the `HA_server1` class.
    async fn serve(&self, raw: &[u8]) -> (Outcome, Option<QueryContext>) {
        if !self.handle.network_state().is_enabled() {
            return (Outcome::Dropped("service disabled"), None);
        }
        self.counters.pkt4_received.inc();
        let mut ctx = QueryContext::new(
            "lo".into(),
            SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 67),
            Instant::now(),
        );
        if self.hooks.buffer4_receive(raw, &mut ctx) == ReceiveVerdict::Drop {
            self.counters.pkt4_receive_drop.inc();
            return (Outcome::Dropped("buffer4_receive"), Some(ctx));
        }
        let Ok(query) = Packet::parse(raw) else {
            self.counters.pkt4_parse_failed.inc();
            return (Outcome::Dropped("parse"), Some(ctx));
        };
        let message_type = query.message_type().ok().flatten();
        self.counters.received(message_type).inc();
        if self.hooks.pkt4_receive(&query, &mut ctx) == ReceiveVerdict::Drop {
            self.counters.pkt4_receive_drop.inc();
            return (Outcome::Dropped("pkt4_receive"), Some(ctx));
        }
        // Subnet selection by class, as a pool with `client-class: HA_server1` would do.
        let selected = ctx.classes().contains("HA_server1").then_some(1);
        let subnet_id = match self.hooks.subnet4_select(&query, &ctx, selected) {
            SubnetOutcome::Use(Some(id)) => id,
            SubnetOutcome::Use(None) => return (Outcome::Dropped("no subnet"), Some(ctx)),
            SubnetOutcome::Drop => {
                self.counters.pkt4_receive_drop.inc();
                return (Outcome::Dropped("subnet4_select"), Some(ctx));
            }
        };
        ctx.subnet_id = Some(subnet_id);
        let chaddr = query.chaddr();
        let last = *chaddr.last().unwrap();
        let third = u8::try_from(subnet_id - 1).unwrap();
        let address = Ipv4Addr::new(198, 18, third, 10 + last);
        let now = self.handle.clock().unix_now();
        let mut lease = Lease4::new(
            address,
            HwAddr::ether(chaddr).unwrap(),
            None,
            3600,
            now,
            subnet_id,
        );
        let fake = message_type == Some(MessageType::Discover);
        if self.hooks.lease4_select(&query, &ctx, &mut lease, fake) == LeaseSelectVerdict::Skip {
            self.counters.v4_allocation_fail.inc();
            return (Outcome::Dropped("no address"), Some(ctx));
        }
        let reply_type = if fake {
            MessageType::Offer
        } else {
            MessageType::Ack
        };
        if !fake {
            self.handle.leases().upsert(lease.clone()).await.unwrap();
            let committed = CommittedLeases {
                query_type: MessageType::Request,
                leases: std::slice::from_ref(&lease),
                deleted: &[],
            };
            match self.hooks.leases4_committed(&query, &ctx, committed) {
                Committed::Continue => {}
                Committed::Drop => return (Outcome::Dropped("leases4_committed"), Some(ctx)),
                Committed::ParkingLotFull { .. } => {
                    self.counters.pkt4_receive_drop.inc();
                    return (Outcome::Dropped("parking lot full"), Some(ctx));
                }
                Committed::Park(parked) => {
                    if let ParkResult::Drop { .. } = parked.await {
                        return (Outcome::Dropped("parked reply dropped"), Some(ctx));
                    }
                }
            }
        }
        let mut reply = MessageBuilder::new(2);
        reply.reply_to(&query, reply_type).set_yiaddr(lease.address);
        if self.hooks.pkt4_send(&query, &ctx, &mut reply) == SendVerdict::Drop {
            return (Outcome::Dropped("pkt4_send"), Some(ctx));
        }
        let mut out = Vec::new();
        reply
            .encode_into(&mut out, &EncodeLimits::default())
            .unwrap();
        self.counters.count_sent(reply_type);
        (Outcome::Sent(out), Some(ctx))
    }

    fn stat(&self, name: &str) -> i64 {
        self.handle.stats().value(name).unwrap()
    }
}

fn query(message_type: MessageType, xid: u32, last_mac_byte: u8) -> Vec<u8> {
    let mac = [0xaa, 0xbb, 0xcc, 0x00, 0x00, last_mac_byte];
    let mut out = Vec::new();
    MessageBuilder::client(message_type, xid, &mac)
        .unwrap()
        .encode_into(&mut out, &EncodeLimits::default())
        .unwrap();
    out
}

fn sent(outcome: Outcome) -> Vec<u8> {
    match outcome {
        Outcome::Sent(bytes) => bytes,
        other => panic!("expected a reply, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

// The plugin's statics are shared: run the tests one at a time in one process.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(start_paused = true)]
async fn drop_verdicts_at_receive_are_counted() {
    let _serial = SERIAL.lock().await;
    let (server, _observed) = FakeServer::start(256);
    let mut bootreply = query(MessageType::Discover, 1, 1);
    bootreply[0] = 2;
    assert_eq!(
        server.serve(&bootreply).await.0,
        Outcome::Dropped("buffer4_receive")
    );
    let (outcome, ctx) = server
        .serve(&query(MessageType::Discover, XID_OUT_OF_SCOPE, 1))
        .await;
    assert_eq!(outcome, Outcome::Dropped("pkt4_receive"));
    assert!(ctx.unwrap().classes().is_empty());
    assert_eq!(server.stat("pkt4-receive-drop"), 2);
    assert_eq!(server.stat("pkt4-received"), 2);
    assert_eq!(server.stat("pkt4-discover-received"), 1);
}

#[tokio::test(start_paused = true)]
async fn classes_added_by_the_plugin_select_the_subnet_and_pkt4_send_edits_the_reply() {
    let _serial = SERIAL.lock().await;
    let (server, observed) = FakeServer::start(256);
    assert_eq!(*observed.configured_subnets.lock().unwrap(), Some(2));
    let (outcome, ctx) = server.serve(&query(MessageType::Discover, 1, 1)).await;
    let reply = sent(outcome);
    let reply = Packet::parse(&reply).unwrap();
    assert_eq!(reply.message_type().unwrap(), Some(MessageType::Offer));
    assert_eq!(reply.yiaddr(), Ipv4Addr::new(198, 18, 0, 11));
    assert_eq!(
        reply.option(PRIVATE_OPTION).as_deref(),
        Some(&b"nestor"[..])
    );
    let ctx = ctx.unwrap();
    assert_eq!(ctx.classes().as_slice(), [Arc::<str>::from("HA_server1")]);
    assert_eq!(ctx.subnet_id, Some(1));
    assert_eq!(server.stat("pkt4-offer-sent"), 1);
    // DISCOVER commits nothing and parks nothing.
    assert!(
        server
            .handle
            .leases()
            .get(Ipv4Addr::new(198, 18, 0, 11))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(start_paused = true)]
async fn park_then_continue_sends_after_the_partner_acks() {
    let _serial = SERIAL.lock().await;
    let (server, observed) = FakeServer::start(256);
    let raw = query(MessageType::Request, XID_PARK_ACK, 2);
    let start = Instant::now();
    let serving = server.serve(&raw);
    tokio::pin!(serving);
    // Before the partner answers, the reply is parked: the lease is stored, nothing is sent.
    assert!(
        tokio::time::timeout(PARTNER_DELAY - Duration::from_millis(1), &mut serving)
            .await
            .is_err()
    );
    assert_eq!(server.hooks.parked(), 1);
    let stored = server
        .handle
        .leases()
        .get(Ipv4Addr::new(198, 18, 0, 12))
        .await
        .unwrap();
    assert_eq!(
        stored.unwrap().hostname.as_str(),
        "hooked",
        "lease4_select edited the lease"
    );
    let reply = sent(serving.await.0);
    assert_eq!(Instant::now() - start, PARTNER_DELAY);
    assert_eq!(
        Packet::parse(&reply).unwrap().message_type().unwrap(),
        Some(MessageType::Ack)
    );
    assert_eq!(server.hooks.parked(), 0);
    assert_eq!(observed.lease_updates_sent.load(Ordering::SeqCst), 1);
    assert_eq!(server.stat("pkt4-ack-sent"), 1);
}

#[tokio::test(start_paused = true)]
async fn park_then_fail_drops_the_reply_and_commit_drop_drops_at_once() {
    let _serial = SERIAL.lock().await;
    let (server, _observed) = FakeServer::start(256);
    let (outcome, _) = server
        .serve(&query(MessageType::Request, XID_PARK_FAIL, 4))
        .await;
    assert_eq!(outcome, Outcome::Dropped("parked reply dropped"));
    assert_eq!(server.hooks.parked(), 0);
    // The lease was committed before the callout, as in Kea; only the reply is lost.
    assert!(
        server
            .handle
            .leases()
            .get(Ipv4Addr::new(198, 18, 0, 14))
            .await
            .unwrap()
            .is_some()
    );

    let start = Instant::now();
    let (outcome, _) = server
        .serve(&query(MessageType::Request, XID_COMMIT_DROP, 5))
        .await;
    assert_eq!(outcome, Outcome::Dropped("leases4_committed"));
    assert_eq!(Instant::now(), start, "no waiting when the plugin drops");
    assert_eq!(server.stat("pkt4-ack-sent"), 0);
}

#[tokio::test(start_paused = true)]
async fn parking_lot_full_drops_and_counts_but_the_update_still_goes_out() {
    let _serial = SERIAL.lock().await;
    let (server, observed) = FakeServer::start(1);
    let first_raw = query(MessageType::Request, XID_PARK_ACK, 6);
    let first = server.serve(&first_raw);
    tokio::pin!(first);
    assert!(
        tokio::time::timeout(Duration::from_millis(1), &mut first)
            .await
            .is_err()
    );
    assert_eq!(server.hooks.parked(), 1);
    let (outcome, _) = server
        .serve(&query(MessageType::Request, XID_PARK_ACK, 7))
        .await;
    assert_eq!(outcome, Outcome::Dropped("parking lot full"));
    assert_eq!(server.stat("pkt4-receive-drop"), 1);
    sent(first.await.0);
    tokio::time::sleep(PARTNER_DELAY).await;
    assert_eq!(
        observed.lease_updates_sent.load(Ordering::SeqCst),
        2,
        "the partner hears of both committed leases"
    );
}

#[tokio::test(start_paused = true)]
async fn subnet4_select_lease4_select_pkt4_send_and_lease4_expire() {
    let _serial = SERIAL.lock().await;
    let (server, _observed) = FakeServer::start(256);
    // subnet4_select moves the client to subnet 2.
    let (outcome, ctx) = server
        .serve(&query(MessageType::Request, XID_RESELECT, 8))
        .await;
    let reply = sent(outcome);
    assert_eq!(ctx.unwrap().subnet_id, Some(2));
    assert_eq!(
        Packet::parse(&reply).unwrap().yiaddr(),
        Ipv4Addr::new(198, 18, 1, 18)
    );
    let stored = server
        .handle
        .leases()
        .get(Ipv4Addr::new(198, 18, 1, 18))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.subnet_id, 2);
    // lease4_select refuses 198.18.0.13.
    let (outcome, _) = server.serve(&query(MessageType::Discover, 9, 3)).await;
    assert_eq!(outcome, Outcome::Dropped("no address"));
    assert_eq!(server.stat("v4-allocation-fail"), 1);
    // pkt4_send drops.
    let (outcome, _) = server
        .serve(&query(MessageType::Discover, XID_SEND_DROP, 1))
        .await;
    assert_eq!(outcome, Outcome::Dropped("pkt4_send"));
    // lease4_expire keeps one lease out of reclamation.
    let hw = HwAddr::ether(&[1, 2, 3, 4, 5, 6]).unwrap();
    let kept = Lease4::new(KEPT_ON_EXPIRY, hw, None, 60, 0, 1);
    let reclaimed = Lease4::new(Ipv4Addr::new(198, 18, 0, 98), hw, None, 60, 0, 1);
    assert_eq!(
        server.hooks.lease4_expire(&kept, false),
        ExpireVerdict::Skip
    );
    assert_eq!(
        server.hooks.lease4_expire(&reclaimed, true),
        ExpireVerdict::Continue
    );
}

#[tokio::test(start_paused = true)]
async fn commands_command_processed_network_state_and_unload() {
    let _serial = SERIAL.lock().await;
    let (server, observed) = FakeServer::start(256);
    let registry = Arc::clone(server.handle.commands());
    let names = registry.process(json!({"command": "list-commands"})).await;
    assert_eq!(
        names.arguments,
        Some(json!([
            "list-commands",
            "status-get",
            "test-lease-updates",
            "test-partner-disable"
        ]))
    );
    sent(
        server
            .serve(&query(MessageType::Request, XID_PARK_ACK, 2))
            .await
            .0,
    );
    let answer = registry
        .process(json!({"command": "test-lease-updates"}))
        .await;
    assert_eq!(
        answer.to_value(),
        json!({"result": 0, "text": "1 lease updates sent."})
    );
    let status = registry.process(json!({"command": "status-get"})).await;
    assert_eq!(
        status.to_value(),
        json!({"arguments": {"pid": 1, "uptime": 0, "test-plugin": {"lease-updates": 1}}, "result": 0})
    );

    // The plugin disables the service through its handle, as HA's partner does.
    let answer = registry
        .process(json!({"command": "test-partner-disable"}))
        .await;
    assert!(answer.is_success());
    let (outcome, _) = server.serve(&query(MessageType::Discover, 1, 1)).await;
    assert_eq!(outcome, Outcome::Dropped("service disabled"));
    tokio::time::sleep(Duration::from_millis(4_990)).await;
    let (outcome, _) = server.serve(&query(MessageType::Discover, 1, 1)).await;
    assert_eq!(outcome, Outcome::Dropped("service disabled"));
    // max-period: the service comes back by itself.
    tokio::time::sleep(Duration::from_millis(20)).await;
    sent(server.serve(&query(MessageType::Discover, 1, 1)).await.0);

    // Unloading removes the commands and the status-get addition.
    server.hooks.unload();
    assert!(observed.unloaded.load(Ordering::SeqCst));
    let answer = registry
        .process(json!({"command": "test-lease-updates"}))
        .await;
    assert_eq!(
        answer.to_value(),
        json!({"result": 2, "text": "'test-lease-updates' command not supported."})
    );
    let status = registry.process(json!({"command": "status-get"})).await;
    assert_eq!(status.arguments, Some(json!({"pid": 1, "uptime": 0})));
    // A second unload (and the drop) do nothing more.
    server.hooks.unload();
}

#[tokio::test(start_paused = true)]
async fn registry_reports_and_refuses() {
    let _serial = SERIAL.lock().await;
    let both = config(json!([
        {"library": "/opt/kea/libdhcp_lease_cmds.so", "parameters": {"this-server-name": "server1"}},
        {"library": "/opt/kea/libdhcp_ha.so", "parameters": {"high-availability": [{
            "this-server-name": "server1", "mode": "hot-standby",
            "peers": [
                {"name": "server1", "url": "http://198.18.0.1:8000/", "role": "primary"},
                {"name": "server2", "url": "http://198.18.0.2:8000/", "role": "standby"}
            ]}]}}
    ]));
    let handle = handle_for(Arc::clone(&both));
    let registry = registry();
    assert_eq!(registry.available(), ["libdhcp_lease_cmds.so"]);
    let missing: Vec<&str> = registry
        .unavailable(&both.hooks)
        .iter()
        .map(|library| library.library.as_str())
        .collect();
    assert_eq!(missing, ["/opt/kea/libdhcp_ha.so"]);
    let err = registry.load(&both.hooks, &handle, 256).unwrap_err();
    assert_eq!(
        err.to_string(),
        "hook library /opt/kea/libdhcp_ha.so is recognised but not built into this server"
    );
    // What was loaded before the failure was unloaded again.
    assert!(!handle.commands().contains("test-lease-updates"));

    // Loading the same library twice: the second cannot register its commands, and nothing stays.
    let twice = config(json!([
        {"library": "libdhcp_lease_cmds.so", "parameters": {"this-server-name": "server1"}},
        {"library": "libdhcp_lease_cmds.so", "parameters": {"this-server-name": "server2"}}
    ]));
    let err = registry.load(&twice.hooks, &handle, 256).unwrap_err();
    assert_eq!(
        err.to_string(),
        "libdhcp_lease_cmds.so: cannot register command 'test-lease-updates': Handler for command 'test-lease-updates' is already installed."
    );
    assert_eq!(handle.commands().names(), ["list-commands", "status-get"]);

    // Missing parameters and a refused configuration.
    let bad = config(test_library(json!({})));
    let err = registry.load(&bad.hooks, &handle, 256).unwrap_err();
    assert!(
        matches!(err, PluginError::InvalidParameters { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "libdhcp_lease_cmds.so: invalid parameters at Dhcp4.hooks-libraries[0].parameters.this-server-name: missing"
    );
    let refusing = config(test_library(
        json!({"this-server-name": "server1", "refuse-config": true}),
    ));
    let hooks = registry.load(&refusing.hooks, &handle, 256).unwrap();
    let err = hooks.dhcp4_srv_configured(&refusing).unwrap_err();
    assert_eq!(
        err.to_string(),
        "libdhcp_lease_cmds.so: refusing this configuration"
    );
    drop(hooks);
    assert_eq!(handle.commands().names(), ["list-commands", "status-get"]);

    // No hooks at all.
    let none = Hooks::none();
    assert!(none.is_empty());
    assert!(
        PluginRegistry::new()
            .load(&[], &handle, 0)
            .unwrap()
            .is_empty()
    );
}
