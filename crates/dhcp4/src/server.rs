//! The server: sockets, the packet pipeline, configuration (re)loading, timers and shutdown.
//!
//! Concurrency skeleton (mini-redis / hickory-dns shape):
//! * one receive loop per service socket; each received datagram is copied out of the loop's
//!   reused buffer and handed to a task, after taking a permit of the in-flight semaphore
//!   (sized from `multi-threading.packet-queue-size`, at least 256 per worker). No permit: the
//!   packet is dropped and counted in `pkt4-receive-drop` (Kea's full packet queue). Bounded
//!   memory under any load, and the loop never waits on processing.
//! * the task runs the pipeline: decode (`pkt4-parse-failed` + `pkt4-receive-drop` on
//!   failure) -> statistics by type -> network state (drop while the service is disabled) ->
//!   [`Engine::process`] (which commits leases durably before returning the reply) -> encode in
//!   a per-thread reused buffer -> send (a non-blocking `try_send` first; the rare would-block
//!   falls back to an owned copy and an awaited send).
//! * a [`CancellationToken`] stops everything; shutdown stops the loops, drains in-flight
//!   tasks for a bounded time, then closes the lease file.
//! * socket errors a peer can cause are logged and the loop goes on; descriptor errors end that
//!   loop only ([`net::is_fatal`]).
//!
//! Reconfiguration (`config-set`, `config-reload`, SIGHUP) builds the new engine from the new
//! configuration and swaps it in: packets in flight finish on the old one, the lease store is
//! kept (no lease is lost or reloaded), sockets are reopened only if `interfaces-config` or the
//! port changed, timers restart with the new values. A configuration that fails to load or
//! apply leaves the running one untouched.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use nestor_config::Dhcp4Config;
use nestor_config::dhcp4::DbType;
use nestor_ctrl::{CommandRegistry, ControlServer, ServerConfig};
use nestor_leases::{Memfile, MemfileConfig};
use nestor_proto::frame::FrameSpec;
use nestor_proto::pkt::{MessageType, Packet};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use nestor_hooks::stats::dhcp4::{Dhcp4Counters, apply_config};
use nestor_hooks::{
    Committed, CommittedLeases, Hooks, NetworkState, ParkResult, PluginRegistry, QueryContext,
    ReceiveVerdict, SendVerdict, ServerHandle, Stats, SystemClock,
};
use nestor_leases::Lease4;

use crate::engine::{Destination, Engine, LeaseChange, Outcome, RecvMeta, Reply};
use crate::logging::{LogHandle, LogSetup};
use crate::net::{self, CLIENT_PORT, SERVER_PORT, ServiceSocket};

/// Largest datagram the receive loops accept (the largest UDP payload).
const RECV_BUFFER: usize = 65_536;
/// Lower bound of packets in flight per worker thread (the semaphore's size is this or
/// `multi-threading.packet-queue-size`, whichever is larger, times the workers).
const MIN_INFLIGHT_PER_WORKER: usize = 256;
/// Time given to packets in flight at shutdown.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Command-line settings of a running server.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `-c FILE`.
    pub config_path: PathBuf,
    /// `-p`: the port the server listens on (67).
    pub server_port: u16,
    /// `-P`: the port replies to clients go to (68).
    pub client_port: u16,
    /// `-d`.
    pub debug: bool,
}

impl RunOptions {
    /// Standard ports for `config_path`.
    pub fn new(config_path: impl Into<PathBuf>) -> Self {
        RunOptions {
            config_path: config_path.into(),
            server_port: SERVER_PORT,
            client_port: CLIENT_PORT,
            debug: false,
        }
    }
}

/// Why the server could not start or a configuration could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration has errors (all of them, one per line).
    #[error("{0}")]
    Config(String),
    /// The lease database type is not available yet.
    #[error("lease database type '{0}' is not supported by this build (memfile only)")]
    UnsupportedDatabase(&'static str),
    /// The lease file could not be loaded.
    #[error("failed to open lease database: {0}")]
    Leases(#[from] nestor_leases::memfile::LoadError),
    /// A changed `lease-database` cannot be applied without a restart.
    #[error("changing 'lease-database' requires a restart of the server")]
    LeaseDatabaseChanged,
    /// Sockets could not be opened.
    #[error(transparent)]
    Sockets(#[from] net::SocketError),
    /// The control socket could not be opened.
    #[error("failed to open control socket: {0}")]
    Control(#[from] nestor_ctrl::ServerError),
    /// Log outputs could not be opened.
    #[error(transparent)]
    Logging(#[from] crate::logging::LogError),
    /// A hook library could not be loaded.
    #[error("failed to load hook libraries: {0}")]
    Hooks(#[from] nestor_hooks::PluginError),
}

/// Interfaces whose sockets are to be opened again.
#[derive(Debug)]
struct RetryPlan {
    failed: Vec<net::Selected>,
    kind: nestor_config::dhcp4::SocketType,
    retries: u32,
    wait: Duration,
}

/// A running socket with its receive loop's cancellation.
#[derive(Debug)]
struct SocketSet {
    sockets: Vec<Arc<ServiceSocket>>,
    /// Interfaces whose sockets failed, with the error (`status-get`).
    errors: Vec<(Arc<str>, String)>,
    cancel: CancellationToken,
}

/// The running server, shared by the receive loops, packet tasks, timers and commands.
#[derive(Debug)]
pub struct Server {
    opts: RunOptions,
    engine: ArcSwap<Engine>,
    store: Arc<Memfile>,
    /// The packet-path statistics handles.
    counters: Dhcp4Counters,
    /// What plugins see of the server (lease store, statistics, network state, ...).
    handle: ServerHandle,
    plugins: PluginRegistry,
    hooks: ArcSwap<Hooks>,
    registry: Arc<CommandRegistry>,
    shutdown: CancellationToken,
    exit_code: AtomicI32,
    started: Instant,
    last_reload: Mutex<Instant>,
    sockets: Mutex<SocketSet>,
    inflight: Arc<Semaphore>,
    tracker: TaskTracker,
    log: Option<LogHandle>,
    timers: Mutex<CancellationToken>,
    control: Mutex<Option<(String, CancellationToken)>>,
    reconfig: tokio::sync::Mutex<()>,
}

thread_local! {
    /// Per worker thread: the encoded reply and the raw frame around it.
    static SEND_BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> =
        std::cell::RefCell::new((Vec::with_capacity(1500), Vec::with_capacity(1600)));
}

/// The current Unix time.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn memfile_config(cfg: &Dhcp4Config) -> Result<MemfileConfig, StartError> {
    let db = &cfg.lease_database;
    if db.db_type != DbType::Memfile {
        return Err(StartError::UnsupportedDatabase(db.db_type.kea_name()));
    }
    let mut m = MemfileConfig::new(
        db.name
            .clone()
            .unwrap_or_else(|| nestor_config::dhcp4::DEFAULT_LEASE_FILE.to_owned()),
    );
    m.persist = db.persist;
    m.max_row_errors = db.max_row_errors;
    Ok(m)
}

/// Opens the lease store of `cfg` (blocking: replays the lease files).
pub fn open_store(cfg: &Dhcp4Config) -> Result<Memfile, StartError> {
    let m = memfile_config(cfg)?;
    if !m.persist {
        tracing::warn!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_NO_STORAGE",
            "persistence disabled; leases will be lost on shutdown");
        return Ok(Memfile::in_memory());
    }
    tracing::info!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_DB",
        "opening memory file lease database: name={} persist=true type=memfile universe=4",
        m.path.display());
    let started = Instant::now();
    let (store, report) = Memfile::open(&m)?;
    for file in &report.files {
        tracing::info!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_LEASE_FILE_LOAD",
            "loading leases from file {}", file.path.display());
    }
    tracing::info!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_MEMFILE_LEASES_LOADED",
        "{} leases loaded in {:?}", report.leases, started.elapsed());
    Ok(store)
}

impl Server {
    /// Builds the server for `cfg` with `store` (already opened) and opens its sockets and
    /// control socket. Call [`Server::run`] next.
    pub fn start(
        opts: RunOptions,
        cfg: Arc<Dhcp4Config>,
        store: Memfile,
        log: Option<LogHandle>,
    ) -> Result<Arc<Server>, StartError> {
        let workers = tokio::runtime::Handle::try_current()
            .map(|h| h.metrics().num_workers())
            .unwrap_or(1);
        // Kea's default queue of 64 is per thread pool and sized for its blocking workers; a
        // packet here waits mostly on a group commit, so more may be in flight per worker.
        let queue = usize::try_from(cfg.multi_threading.packet_queue_size)
            .unwrap_or(MIN_INFLIGHT_PER_WORKER)
            .max(MIN_INFLIGHT_PER_WORKER);
        let registry = Arc::new(CommandRegistry::new());
        let store = Arc::new(store);
        let stats = Stats::new(Arc::new(SystemClock));
        let counters = Dhcp4Counters::register(&stats);
        let handle = ServerHandle::new(
            store.clone(),
            NetworkState::new(),
            stats,
            Arc::new(SystemClock),
            cfg.clone(),
            registry.clone(),
        );
        let server = Arc::new(Server {
            engine: ArcSwap::from_pointee(Engine::new(cfg.clone())),
            store,
            counters,
            handle,
            plugins: plugins_available(),
            hooks: ArcSwap::from_pointee(Hooks::none()),
            registry: registry.clone(),
            shutdown: CancellationToken::new(),
            exit_code: AtomicI32::new(0),
            started: Instant::now(),
            last_reload: Mutex::new(Instant::now()),
            sockets: Mutex::new(SocketSet {
                sockets: Vec::new(),
                errors: Vec::new(),
                cancel: CancellationToken::new(),
            }),
            inflight: Arc::new(Semaphore::new(queue * workers.max(1))),
            tracker: TaskTracker::new(),
            log,
            timers: Mutex::new(CancellationToken::new()),
            control: Mutex::new(None),
            reconfig: tokio::sync::Mutex::new(()),
            opts,
        });
        crate::control::register_all(&registry, &server);
        nestor_hooks::register_statistics_commands(&registry, server.stats())
            .map_err(|e| StartError::Config(e.to_string()))?;
        let hooks = server
            .plugins
            .load(&cfg.hooks, &server.handle, cfg.parked_packet_limit)?;
        hooks.dhcp4_srv_configured(&cfg)?;
        server.hooks.store(Arc::new(hooks));
        server.open_sockets(&cfg)?;
        server.engine.store(Arc::new(
            Engine::new(cfg.clone()).with_socket_addresses(server.socket_addrs()),
        ));
        server.apply_control_socket(&cfg)?;
        server.start_timers(&cfg);
        {
            let (server, cfg) = (server.clone(), cfg.clone());
            tokio::spawn(async move { server.init_lease_stats(None, &cfg).await });
        }
        log_config_complete(&cfg);
        Ok(server)
    }

    /// The running configuration.
    pub fn config(&self) -> Arc<Dhcp4Config> {
        self.engine.load().config().clone()
    }

    /// The command line it runs with.
    pub fn options(&self) -> &RunOptions {
        &self.opts
    }

    /// The lease store.
    pub fn store(&self) -> &Arc<Memfile> {
        &self.store
    }

    /// The current engine.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.load_full()
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        self.handle.stats()
    }

    /// Whether the DHCP service is enabled (dhcp-disable / dhcp-enable, HA).
    pub fn network(&self) -> &NetworkState {
        self.handle.network_state()
    }

    /// What plugins see of the server.
    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    /// Adds the engine's statistic changes.
    pub fn record_stats<'d>(&self, deltas: impl IntoIterator<Item = &'d crate::engine::StatDelta>) {
        for d in deltas {
            self.stats().add(&d.name(), d.delta);
        }
    }

    /// Sets the per-subnet statistics from the configuration and the lease store, as Kea does
    /// after each configuration (`subnet[N].total-addresses`, `assigned-addresses`, ...).
    async fn init_lease_stats(&self, previous: Option<&Dhcp4Config>, cfg: &Dhcp4Config) {
        use nestor_leases::LeaseStore;
        let counts = self.store.counts().await.unwrap_or_default();
        let _ = apply_config(self.stats(), previous, cfg, &counts);
    }

    /// The control command registry.
    pub fn registry(&self) -> &Arc<CommandRegistry> {
        &self.registry
    }

    /// Seconds since start.
    pub fn uptime(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Seconds since the last (re)configuration.
    pub fn since_reload(&self) -> u64 {
        self.last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
            .as_secs()
    }

    /// `sockets` of `status-get`: `{"status": "ready"}`, or `"failed"` with the errors.
    pub fn sockets_status(&self) -> serde_json::Value {
        let set = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        if set.errors.is_empty() {
            serde_json::json!({"status": "ready"})
        } else {
            let errors: Vec<&str> = set.errors.iter().map(|(_, e)| e.as_str()).collect();
            serde_json::json!({"status": "failed", "errors": errors})
        }
    }

    /// Every address of the interfaces the server has sockets on (server identifiers it
    /// accepts).
    fn socket_addrs(&self) -> Vec<Ipv4Addr> {
        let set = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<Ipv4Addr> = set
            .sockets
            .iter()
            .flat_map(|s| s.endpoint().iface_addrs.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Asks the server to stop with `exit_code` (the `shutdown` command, signals).
    pub fn request_shutdown(&self, exit_code: i32) {
        self.exit_code.store(exit_code, Ordering::Relaxed);
        self.shutdown.cancel();
    }

    /// The token cancelled at shutdown.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    fn open_sockets(self: &Arc<Self>, cfg: &Dhcp4Config) -> Result<(), StartError> {
        let opened = net::open_all(&cfg.interfaces, self.opts.server_port)?;
        let errors: Vec<(Arc<str>, String)> = opened
            .failed
            .iter()
            .map(|(sel, e)| (sel.iface.name.clone(), e.to_string()))
            .collect();
        for (_, e) in &errors {
            tracing::warn!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_OPEN_SOCKET_FAIL", "failed to open socket: {e}");
        }
        if opened.sockets.is_empty() {
            tracing::warn!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_NO_SOCKETS_OPEN",
                "no interface configured to listen to DHCP traffic");
        }
        let cancel = self.shutdown.child_token();
        let sockets: Vec<Arc<ServiceSocket>> = opened.sockets.into_iter().map(Arc::new).collect();
        for s in &sockets {
            self.serve_socket(s, &cancel);
        }
        let ifc = &cfg.interfaces;
        if !opened.failed.is_empty() && ifc.service_sockets_max_retries > 0 {
            let retry = RetryPlan {
                failed: opened.failed.into_iter().map(|(sel, _)| sel).collect(),
                kind: ifc.socket_type,
                retries: ifc.service_sockets_max_retries,
                wait: Duration::from_millis(u64::from(ifc.service_sockets_retry_wait_time)),
            };
            tokio::spawn(self.clone().retry_sockets(retry, cancel.clone()));
        }
        let mut set = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        set.cancel.cancel();
        *set = SocketSet {
            sockets,
            errors,
            cancel,
        };
        Ok(())
    }

    /// Starts the receive loop of `s` (and the discard loop of a raw socket's UDP companion).
    fn serve_socket(self: &Arc<Self>, s: &Arc<ServiceSocket>, cancel: &CancellationToken) {
        tracing::info!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_CFGMGR_ADD_IFACE",
            "listening on {}", s.describe(self.opts.server_port));
        let (server, sock, c) = (self.clone(), s.clone(), cancel.clone());
        tokio::spawn(async move { server.receive_loop(sock, c).await });
        if let ServiceSocket::Raw { udp, .. } = &**s {
            // The routed-reply socket of a raw interface also receives unicast copies of what
            // the packet socket sees; they are read and discarded so they do not fill its
            // buffer (Kea's fallback socket).
            tokio::spawn(drain(udp.clone(), cancel.clone()));
        }
    }

    /// Kea's `service-sockets-max-retries`: tries the failed interfaces again every
    /// `service-sockets-retry-wait-time` ms, until they open, the retries run out, or the socket
    /// set is replaced (`cancel`).
    async fn retry_sockets(self: Arc<Self>, mut plan: RetryPlan, cancel: CancellationToken) {
        for attempt in 1..=plan.retries {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(plan.wait) => {}
            }
            let mut still = Vec::new();
            for sel in plan.failed.drain(..) {
                match net::open_on(&sel, plan.kind, self.opts.server_port) {
                    Ok(opened) => {
                        let opened: Vec<Arc<ServiceSocket>> =
                            opened.into_iter().map(Arc::new).collect();
                        let mut set = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
                        if set.cancel.is_cancelled() {
                            return;
                        }
                        set.errors.retain(|(name, _)| *name != sel.iface.name);
                        for s in opened {
                            self.serve_socket(&s, &cancel);
                            set.sockets.push(s);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "kea-dhcp4.dhcpsrv", id = "DHCPSRV_OPEN_SOCKET_FAIL",
                            "failed to open socket (attempt {attempt} of {}): {e}", plan.retries);
                        still.push(sel);
                    }
                }
            }
            if still.is_empty() {
                return;
            }
            plan.failed = still;
        }
        tracing::info!(target: "kea-dhcp4.dhcp4", id = "DHCP4_OPEN_SOCKETS_FAILED",
            "maximum number of open service sockets attempts: {}, has been exhausted without success",
            plan.retries);
    }

    async fn receive_loop(self: Arc<Self>, sock: Arc<ServiceSocket>, cancel: CancellationToken) {
        let mut buf = vec![0u8; RECV_BUFFER];
        let endpoint = sock.endpoint().clone();
        let mut skipped = 0u64;
        loop {
            let received = match &*sock {
                ServiceSocket::Udp { socket, .. } => tokio::select! {
                    biased;
                    () = cancel.cancelled() => return,
                    r = socket.recv_from(&mut buf) => r.map(|(n, from)| (n, net::v4(from), endpoint.local_addr, false)),
                },
                ServiceSocket::Raw { packet, .. } => tokio::select! {
                    biased;
                    () = cancel.cancelled() => return,
                    r = packet.recv(&mut buf, &mut skipped) => r.map(|f| {
                        let len = f.payload.len();
                        // Move the payload to the front: the dispatch below is then the same for
                        // both kinds of socket.
                        buf.copy_within(f.payload, 0);
                        (len, Some(f.src), f.dst, true)
                    }),
                },
            };
            match received {
                Ok((len, Some(src), dst, raw)) => {
                    let broadcast = dst == Ipv4Addr::BROADCAST;
                    let meta = RecvMeta {
                        iface: endpoint.iface.clone(),
                        iface_addrs: endpoint.iface_addrs.clone(),
                        local_addr: if broadcast {
                            Ipv4Addr::UNSPECIFIED
                        } else {
                            dst
                        },
                        src,
                        broadcast,
                        raw,
                    };
                    self.dispatch(&sock, buf.get(..len).unwrap_or_default(), meta);
                }
                Ok(_) => {}
                Err(e) if net::is_fatal(&e) => {
                    tracing::error!(target: "kea-dhcp4.packets", id = "DHCP4_PACKET_RECEIVE_FAIL",
                        "error on receive socket {}: {e}; closing it", sock.describe(self.opts.server_port));
                    return;
                }
                Err(e) => {
                    tracing::debug!(target: "kea-dhcp4.packets", id = "DHCP4_BUFFER_RECEIVE_FAIL",
                        "error on attempt to receive packet: {e}");
                }
            }
        }
    }

    /// Hands one datagram to a task, or drops it if too many are in flight.
    fn dispatch(self: &Arc<Self>, sock: &Arc<ServiceSocket>, data: &[u8], meta: RecvMeta) {
        let Ok(permit) = self.inflight.clone().try_acquire_owned() else {
            self.counters.pkt4_receive_drop.inc();
            tracing::debug!(target: "kea-dhcp4.packets", id = "DHCP4_PACKET_QUEUE_FULL",
                "multi-threading packet queue is full: packet from {} dropped", meta.src);
            return;
        };
        let data = data.to_vec();
        let (server, sock) = (self.clone(), sock.clone());
        self.tracker.spawn(async move {
            server.process_packet(&sock, &data, &meta).await;
            drop(permit);
        });
    }

    /// The pipeline for one received datagram (Kea's `Dhcpv4Srv::processPacket` order).
    pub async fn process_packet(&self, sock: &ServiceSocket, data: &[u8], meta: &RecvMeta) {
        tracing::trace!(target: "kea-dhcp4.packets", id = "DHCP4_BUFFER_RECEIVED",
            "received buffer from {} to {} over interface {}", meta.src, meta.local_addr, meta.iface);
        let hooks = self.hooks.load_full();
        let mut ctx = QueryContext::new(meta.iface.clone(), meta.src, tokio::time::Instant::now());
        if hooks.buffer4_receive(data, &mut ctx) == ReceiveVerdict::Drop {
            self.counters.pkt4_receive_drop.inc();
            tracing::debug!(target: "kea-dhcp4.hooks", id = "DHCP4_HOOK_BUFFER_RCVD_DROP",
                "received buffer from {} dropped by a buffer4_receive callout", meta.src);
            return;
        }
        let pkt = match Packet::parse(data) {
            Ok(p) => p,
            Err(e) => {
                self.counters.pkt4_parse_failed.inc();
                self.counters.pkt4_receive_drop.inc();
                tracing::debug!(target: "kea-dhcp4.bad-packets", id = "DHCP4_PACKET_DROP_0001",
                    "failed to parse packet from {} to {}, received over interface {}, reason: {e}",
                    meta.src, meta.local_addr, meta.iface);
                return;
            }
        };
        let msg_type = pkt.message_type().ok().flatten();
        tracing::debug!(target: "kea-dhcp4.packets", id = "DHCP4_PACKET_RECEIVED",
            "{}: {} received from {} to {} on interface {}", client_label(&pkt),
            msg_type.map_or_else(|| "message without type".to_owned(), |t| format!("{t:?}")),
            meta.src.ip(), meta.local_addr, meta.iface);
        self.counters.pkt4_received.inc();
        self.counters.received(msg_type).inc();
        if !self.network().is_enabled() {
            self.counters.pkt4_receive_drop.inc();
            tracing::debug!(target: "kea-dhcp4.packets", id = "DHCP4_PACKET_DROP_0008",
                "{}: DHCP service is globally disabled", client_label(&pkt));
            return;
        }
        if hooks.pkt4_receive(&pkt, &mut ctx) == ReceiveVerdict::Drop {
            self.counters.pkt4_receive_drop.inc();
            tracing::debug!(target: "kea-dhcp4.hooks", id = "DHCP4_HOOK_PACKET_RCVD_SKIP",
                "{}: packet dropped by a pkt4_receive callout", client_label(&pkt));
            return;
        }
        let engine = self.engine.load_full();
        let outcome = engine
            .process(
                &*self.store,
                &pkt,
                meta,
                ctx.classes().as_slice(),
                unix_now(),
            )
            .await;
        match outcome {
            Outcome::Reply(mut reply) => {
                self.record_stats(reply.stats.iter());
                ctx.subnet_id = reply.subnet_id;
                if !self.committed(&hooks, &pkt, &ctx, &reply.changes).await {
                    return;
                }
                if hooks.pkt4_send(&pkt, &ctx, &mut reply.msg) == SendVerdict::Drop {
                    tracing::debug!(target: "kea-dhcp4.hooks", id = "DHCP4_HOOK_PACKET_SEND_SKIP",
                        "{}: reply dropped by a pkt4_send callout", client_label(&pkt));
                    return;
                }
                self.send_reply(sock, &pkt, *reply).await;
            }
            Outcome::NoReply { changes, stats } => {
                self.record_stats(stats.iter());
                let _ = self.committed(&hooks, &pkt, &ctx, &changes).await;
            }
            Outcome::Drop { reason, stats } => {
                self.record_stats(stats.iter());
                if reason.is_receive_drop() {
                    self.counters.pkt4_receive_drop.inc();
                }
                tracing::debug!(target: "kea-dhcp4.packets", id = reason.kea_log_id(),
                    "{}: packet dropped: {reason:?}", client_label(&pkt));
            }
        }
    }

    /// `leases4_committed`: true when the reply may go out, after awaiting a parked reply.
    async fn committed(
        &self,
        hooks: &Hooks,
        pkt: &Packet<'_>,
        ctx: &QueryContext,
        changes: &[LeaseChange],
    ) -> bool {
        if hooks.is_empty() {
            return true;
        }
        let mut leases: Vec<Lease4> = Vec::new();
        let mut deleted: Vec<Lease4> = Vec::new();
        for c in changes {
            match c {
                LeaseChange::Added(l) | LeaseChange::Updated(l) => leases.push(l.clone()),
                LeaseChange::Deleted(l) => deleted.push(l.clone()),
            }
        }
        let query_type = pkt
            .message_type()
            .ok()
            .flatten()
            .unwrap_or(MessageType::Unknown(0));
        let verdict = hooks.leases4_committed(
            pkt,
            ctx,
            CommittedLeases {
                query_type,
                leases: &leases,
                deleted: &deleted,
            },
        );
        match verdict {
            Committed::Continue => true,
            Committed::Drop => {
                self.counters.pkt4_receive_drop.inc();
                tracing::debug!(target: "kea-dhcp4.hooks", id = "DHCP4_HOOK_LEASES4_COMMITTED_DROP",
                    "{}: reply dropped by a leases4_committed callout", client_label(pkt));
                false
            }
            Committed::ParkingLotFull { limit } => {
                self.counters.pkt4_receive_drop.inc();
                tracing::debug!(target: "kea-dhcp4.hooks", id = "DHCP4_HOOK_LEASES4_PARKING_LOT_FULL",
                    "{}: the number of parked packets ({limit}) is at parked-packet-limit: dropped",
                    client_label(pkt));
                false
            }
            Committed::Park(parked) => match parked.await {
                ParkResult::Continue => true,
                ParkResult::Drop { reason } => {
                    tracing::debug!(target: "kea-dhcp4.hooks", id = "DHCP4_HOOK_LEASES4_COMMITTED_PARKING_LOT_DROP",
                        "{}: parked reply dropped: {reason}", client_label(pkt));
                    false
                }
            },
        }
    }

    fn log_reply(pkt: &Packet<'_>, reply: &Reply, encoded: &[u8]) {
        let yiaddr = encoded
            .get(16..20)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from);
        match reply.message_type {
            MessageType::Offer => {
                tracing::info!(target: "kea-dhcp4.leases", id = "DHCP4_LEASE_ADVERT",
                "{}: lease {yiaddr} will be advertised", client_label(pkt))
            }
            MessageType::Ack if !yiaddr.is_unspecified() => {
                tracing::info!(target: "kea-dhcp4.leases",
                id = "DHCP4_LEASE_ALLOC", "{}: lease {yiaddr} has been allocated", client_label(pkt))
            }
            MessageType::Nak => {
                tracing::debug!(target: "kea-dhcp4.packets", id = "DHCP4_PACKET_NAK_0001",
                "{}: NAK sent", client_label(pkt))
            }
            _ => {}
        }
    }

    async fn send_reply(&self, sock: &ServiceSocket, query: &Packet<'_>, reply: Reply) {
        let endpoint = sock.endpoint();
        let client_port = self.opts.client_port;
        let to_client = |a: SocketAddrV4| {
            if a.port() == CLIENT_PORT {
                SocketAddrV4::new(*a.ip(), client_port)
            } else {
                a
            }
        };
        // Encode and try a non-blocking send from the thread's buffers; on would-block, keep
        // an owned copy for an awaited send.
        let attempt = SEND_BUFFERS.with(|cell| {
            let mut bufs = cell.borrow_mut();
            let (out, frame) = &mut *bufs;
            if let Err(e) = reply.msg.encode_into(out, &reply.limits) {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            Self::log_reply(query, &reply, out);
            let udp_dest = match reply.dest {
                Destination::Relay(a) => Some(a),
                Destination::Unicast(a) => Some(to_client(a)),
                Destination::Broadcast | Destination::L2Unicast { .. } => None,
            };
            if let Some(dest) = udp_dest {
                return match sock.udp().try_send_to(out, dest.into()) {
                    Ok(_) => Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        Ok(Some((out.clone(), dest)))
                    }
                    Err(e) => Err(e),
                };
            }
            let (dst_mac, dst_ip) = match reply.dest {
                Destination::L2Unicast {
                    ip,
                    mac,
                    mac_len: 6,
                } => {
                    let mut m = [0u8; 6];
                    m.copy_from_slice(mac.get(..6).unwrap_or(&[0xff; 6]));
                    (m, ip)
                }
                _ => ([0xff; 6], Ipv4Addr::BROADCAST),
            };
            match sock {
                ServiceSocket::Raw { packet, .. } => {
                    let mut spec =
                        FrameSpec::kea_reply(endpoint.mac, dst_mac, endpoint.local_addr, dst_ip);
                    spec.src_port = self.opts.server_port;
                    spec.dst_port = client_port;
                    packet.send(&spec, out, frame).map(|()| None)
                }
                ServiceSocket::Udp { socket, .. } => {
                    let dest = SocketAddrV4::new(Ipv4Addr::BROADCAST, client_port);
                    match socket.try_send_to(out, dest.into()) {
                        Ok(_) => Ok(None),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            Ok(Some((out.clone(), dest)))
                        }
                        Err(e) => Err(e),
                    }
                }
            }
        });
        let result = match attempt {
            Ok(None) => Ok(()),
            Ok(Some((bytes, dest))) => sock.udp().send_to(&bytes, dest).await.map(|_| ()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                self.counters.count_sent(reply.message_type);
                tracing::trace!(target: "kea-dhcp4.packets", id = "DHCP4_PACKET_SEND",
                    "{}: trying to send packet {} from {}:{} to {} on interface {}",
                    client_label(query), type_label(reply.message_type), endpoint.local_addr,
                    self.opts.server_port, dest_label(&reply.dest, client_port), endpoint.iface);
            }
            Err(e) => tracing::error!(target: "kea-dhcp4.packets", id = "DHCP4_PACKET_SEND_FAIL",
                "{}: failed to send DHCPv4 packet: {e}", client_label(query)),
        }
    }

    /// Validates and applies `cfg` as the running configuration (config-set, config-reload,
    /// SIGHUP). On error nothing changed.
    pub async fn reconfigure(self: &Arc<Self>, cfg: Arc<Dhcp4Config>) -> Result<(), StartError> {
        let _serial = self.reconfig.lock().await;
        let old = self.config();
        if memfile_config(&cfg)? != memfile_config(&old)? {
            return Err(StartError::LeaseDatabaseChanged);
        }
        // Fallible steps first, so that a failure leaves everything as it was.
        let new_log = match &self.log {
            Some(_) => Some(LogSetup::open(&cfg.loggers, self.opts.debug)?),
            None => None,
        };
        self.reload_hooks(&old, &cfg)?;
        if cfg.interfaces != old.interfaces {
            self.open_sockets(&cfg)?;
        }
        self.apply_control_socket(&cfg)?;
        let engine = self
            .engine
            .load()
            .reconfigured(cfg.clone())
            .with_socket_addresses(self.socket_addrs());
        self.handle.set_config(cfg.clone());
        self.engine.store(Arc::new(engine));
        if let (Some(handle), Some(setup)) = (&self.log, new_log) {
            handle.replace(setup);
        }
        self.start_timers(&cfg);
        self.init_lease_stats(Some(&old), &cfg).await;
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        log_config_complete(&cfg);
        Ok(())
    }

    /// Unloads the running plugins and loads those of `cfg`; if that fails, the previous ones
    /// are loaded again and the error returned.
    fn reload_hooks(
        &self,
        old: &Arc<Dhcp4Config>,
        cfg: &Arc<Dhcp4Config>,
    ) -> Result<(), StartError> {
        if old.hooks == cfg.hooks && old.parked_packet_limit == cfg.parked_packet_limit {
            return Ok(self.hooks.load().dhcp4_srv_configured(cfg)?);
        }
        self.hooks.load().unload();
        let loaded = self
            .plugins
            .load(&cfg.hooks, &self.handle, cfg.parked_packet_limit)
            .and_then(|h| h.dhcp4_srv_configured(cfg).map(|()| h));
        match loaded {
            Ok(hooks) => {
                self.hooks.store(Arc::new(hooks));
                Ok(())
            }
            Err(e) => {
                let previous = self
                    .plugins
                    .load(&old.hooks, &self.handle, old.parked_packet_limit);
                self.hooks
                    .store(Arc::new(previous.unwrap_or_else(|_| Hooks::none())));
                Err(e.into())
            }
        }
    }

    /// Re-reads the `-c` file and applies it.
    pub async fn reload_file(self: &Arc<Self>) -> Result<(), StartError> {
        let loaded = load_config(&self.opts.config_path)?;
        self.reconfigure(Arc::new(loaded)).await
    }

    fn apply_control_socket(self: &Arc<Self>, cfg: &Dhcp4Config) -> Result<(), StartError> {
        let wanted = cfg.control_socket.as_ref().map(|c| c.socket_name.clone());
        let mut current = self.control.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().map(|(n, _)| n) == wanted.as_ref() {
            return Ok(());
        }
        if let Some((_, cancel)) = current.take() {
            cancel.cancel();
        }
        if let Some(name) = wanted {
            let server = ControlServer::bind(ServerConfig::new(&name), self.registry.clone())?;
            tracing::info!(target: "kea-dhcp4.commands", id = "COMMAND_ACCEPTOR_START",
                "Starting to accept connections via unix domain socket bound to {name}");
            let cancel = self.shutdown.child_token();
            let c = cancel.clone();
            self.tracker.spawn(async move {
                if let Err(e) = server.run(c).await {
                    tracing::error!(target: "kea-dhcp4.commands", id = "COMMAND_SOCKET_ACCEPT_FAIL",
                        "control socket failed: {e}");
                }
            });
            *current = Some((name, cancel));
        }
        Ok(())
    }

    fn start_timers(self: &Arc<Self>, cfg: &Dhcp4Config) {
        let cancel = self.shutdown.child_token();
        {
            let mut timers = self.timers.lock().unwrap_or_else(PoisonError::into_inner);
            timers.cancel();
            *timers = cancel.clone();
        }
        if cfg.lease_database.persist {
            tokio::spawn(crate::lfc::run_timer(
                self.store.clone(),
                self.opts.config_path.clone(),
                cfg.lease_database.lfc_interval,
                cancel.clone(),
            ));
        }
        tokio::spawn(crate::reclaim::run_timers(
            self.clone(),
            cfg.expired_leases,
            cancel,
        ));
    }

    /// Runs until shutdown, then drains and closes; returns the exit code.
    pub async fn run(self: Arc<Self>) -> i32 {
        tracing::info!(target: "kea-dhcp4.dhcp4", id = "DHCP4_STARTED",
            "Nestor DHCPv4 server version {} started", env!("CARGO_PKG_VERSION"));
        let signals = tokio::spawn(handle_signals(self.clone()));
        self.shutdown.cancelled().await;
        tracing::info!(target: "kea-dhcp4.dhcp4", id = "DHCP4_SHUTDOWN_REQUEST", "shutdown of server requested");
        signals.abort();
        self.tracker.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(target: "kea-dhcp4.dhcp4", "{} packets still in flight after {:?}; exiting",
                self.tracker.len(), DRAIN_TIMEOUT);
        }
        let store = self.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
        tracing::info!(target: "kea-dhcp4.dhcp4", id = "DHCP4_SHUTDOWN", "server shutdown");
        self.exit_code.load(Ordering::Relaxed)
    }
}

async fn drain(udp: Arc<tokio::net::UdpSocket>, cancel: CancellationToken) {
    let mut buf = [0u8; 2048];
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            r = udp.recv_from(&mut buf) => if let Err(e) = r && net::is_fatal(&e) { return },
        }
    }
}

async fn handle_signals(server: Arc<Server>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!(target: "kea-dhcp4.dhcp4", "cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!(target: "kea-dhcp4.dhcp4", id = "DHCP4_DYNAMIC_RECONFIGURATION",
                    "initiate server reconfiguration using file: {}, after receiving SIGHUP signal",
                    server.opts.config_path.display());
                match server.reload_file().await {
                    Ok(()) => tracing::info!(target: "kea-dhcp4.dhcp4", id = "DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS",
                        "dynamic server reconfiguration succeeded with file: {}", server.opts.config_path.display()),
                    Err(e) => tracing::error!(target: "kea-dhcp4.dhcp4", id = "DHCP4_DYNAMIC_RECONFIGURATION_FAIL",
                        "dynamic server reconfiguration failed with file: {}: {e}", server.opts.config_path.display()),
                }
            }
            _ = term.recv() => { server.request_shutdown(0); return; }
            _ = int.recv() => { server.request_shutdown(0); return; }
        }
    }
}

fn log_config_complete(cfg: &Dhcp4Config) {
    tracing::info!(target: "kea-dhcp4.dhcp4", id = "DHCP4_CONFIG_COMPLETE",
        "DHCPv4 server has completed configuration: added IPv4 subnets: {}; DDNS: {}",
        cfg.subnets.len(),
        if cfg.dhcp_ddns.enable_updates { "enabled" } else { "disabled" });
}

/// Kea's name of a message type: `DHCPOFFER (type 2)`.
fn type_label(t: MessageType) -> String {
    let (name, code) = match t {
        MessageType::Offer => ("DHCPOFFER", 2),
        MessageType::Ack => ("DHCPACK", 5),
        MessageType::Nak => ("DHCPNAK", 6),
        other => return format!("{other:?}"),
    };
    format!("{name} (type {code})")
}

/// Where a reply goes, for logs: `127.0.0.2:67`, or `198.18.0.100:68 (aa:bb:..)` at layer 2.
fn dest_label(d: &Destination, client_port: u16) -> String {
    match d {
        Destination::Relay(a) | Destination::Unicast(a) => a.to_string(),
        Destination::Broadcast => format!("255.255.255.255:{client_port}"),
        Destination::L2Unicast { ip, mac, mac_len } => {
            let hw: Vec<String> = mac
                .iter()
                .take(usize::from(*mac_len))
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{ip}:{client_port} ({})", hw.join(":"))
        }
    }
}

/// Kea's client label: `[hwtype=1 02:00:00:00:00:01], cid=[no info], tid=0x1234`.
pub fn client_label(pkt: &Packet<'_>) -> String {
    use std::fmt::Write;
    let mut s = format!("[hwtype={} ", pkt.htype());
    for (i, b) in pkt.chaddr().iter().enumerate() {
        let _ = write!(s, "{}{b:02x}", if i > 0 { ":" } else { "" });
    }
    s.push_str("], cid=[");
    match pkt.client_id() {
        Ok(Some(cid)) => {
            for (i, b) in cid.iter().enumerate() {
                let _ = write!(s, "{}{b:02x}", if i > 0 { ":" } else { "" });
            }
        }
        _ => s.push_str("no info"),
    }
    let _ = write!(s, "], tid={:#x}", pkt.xid());
    s
}

/// The built-in plugins this build has, selected by Kea's library file names: the lease
/// commands (`libdhcp_lease_cmds.so`) and High Availability (`libdhcp_ha.so`).
fn plugins_available() -> PluginRegistry {
    PluginRegistry::new()
        .with(
            nestor_config::common::BuiltinHook::LeaseCmds,
            nestor_lease_cmds::constructor,
        )
        .with(
            nestor_config::common::BuiltinHook::Ha,
            nestor_ha::constructor,
        )
}

/// Loads and validates a configuration file; all errors in one message.
pub fn load_config(path: &Path) -> Result<Dhcp4Config, StartError> {
    match nestor_config::load_dhcp4_file(path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                tracing::warn!(target: "kea-dhcp4.dhcp4", id = "DHCP4_CONFIG_SYNTAX_WARNING", "configuration syntax warning: {w}");
            }
            Ok(loaded.config)
        }
        Err(errors) => Err(StartError::Config(
            errors
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_proto::pkt::{EncodeLimits, MessageBuilder};

    #[test]
    fn labels_read_like_keas() {
        let mut b =
            MessageBuilder::client(MessageType::Discover, 0x1234, &[2, 0, 0, 0, 0, 1]).unwrap();
        let mut out = Vec::new();
        b.encode_into(&mut out, &EncodeLimits::unlimited()).unwrap();
        let p = Packet::parse(&out).unwrap();
        assert_eq!(
            client_label(&p),
            "[hwtype=1 02:00:00:00:00:01], cid=[no info], tid=0x1234"
        );
        b.add_option(nestor_proto::pkt::code::CLIENT_ID, &[1, 2, 0, 0, 0, 0, 1])
            .unwrap();
        b.encode_into(&mut out, &EncodeLimits::unlimited()).unwrap();
        let p = Packet::parse(&out).unwrap();
        assert_eq!(
            client_label(&p),
            "[hwtype=1 02:00:00:00:00:01], cid=[01:02:00:00:00:00:01], tid=0x1234"
        );
        assert_eq!(type_label(MessageType::Offer), "DHCPOFFER (type 2)");
        assert_eq!(type_label(MessageType::Nak), "DHCPNAK (type 6)");
        let mut mac = [0u8; 16];
        mac[..6].copy_from_slice(&[0xaa, 0xbb, 0xcc, 0, 1, 2]);
        let d = Destination::L2Unicast {
            ip: Ipv4Addr::new(198, 18, 0, 9),
            mac,
            mac_len: 6,
        };
        assert_eq!(dest_label(&d, 68), "198.18.0.9:68 (aa:bb:cc:00:01:02)");
        assert_eq!(
            dest_label(&Destination::Broadcast, 1068),
            "255.255.255.255:1068"
        );
    }

    #[test]
    fn sql_lease_databases_are_refused_for_now() {
        let cfg = nestor_config::parse_dhcp4_str_with(
            r#"{"Dhcp4": {"lease-database": {"type": "postgresql", "name": "kea"}}}"#,
            "t",
            &nestor_config::LoadOptions::offline(),
        )
        .unwrap()
        .config;
        assert!(matches!(
            open_store(&cfg),
            Err(StartError::UnsupportedDatabase("postgresql"))
        ));
        let mem = nestor_config::parse_dhcp4_str_with(
            r#"{"Dhcp4": {"lease-database": {"type": "memfile", "persist": false}}}"#,
            "t",
            &nestor_config::LoadOptions::offline(),
        )
        .unwrap()
        .config;
        assert!(
            open_store(&mem).is_ok(),
            "persist false: memory only, no file"
        );
    }
}
