//! The allocator stays cheap with a /8 pool and a million leases: the cost of an allocation is
//! counted in lease store calls (time belongs in benchmarks), through a store wrapper that
//! counts them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nestor_config::{LoadOptions, parse_dhcp4_str_with};
use nestor_dhcp4::engine::{Engine, Outcome, RecvMeta};
use nestor_leases::memfile::StateCounts;
use nestor_leases::{ClientId, HwAddr, Lease4, LeaseError, LeaseStore, Memfile, UnixTime};
use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet};

const NOW: u64 = 1_800_000_000;
const EXISTING: u32 = 1_000_000;

/// Memfile with call counters.
struct Counting {
    inner: Memfile,
    /// `get` (one address).
    gets: AtomicU64,
    /// `get_by_client_id`, `get_by_hwaddr` (index lookups).
    by_client: AtomicU64,
    /// Anything that walks many leases.
    scans: AtomicU64,
}

impl Counting {
    fn tick(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
    fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.gets.load(Ordering::Relaxed),
            self.by_client.load(Ordering::Relaxed),
            self.scans.load(Ordering::Relaxed),
        )
    }
}

impl LeaseStore for Counting {
    async fn add(&self, lease: Lease4) -> Result<(), LeaseError> {
        LeaseStore::add(&self.inner, lease).await
    }
    async fn update(&self, lease: Lease4) -> Result<Lease4, LeaseError> {
        LeaseStore::update(&self.inner, lease).await
    }
    async fn upsert(&self, lease: Lease4) -> Result<Option<Lease4>, LeaseError> {
        LeaseStore::upsert(&self.inner, lease).await
    }
    async fn delete(&self, address: Ipv4Addr) -> Result<Option<Lease4>, LeaseError> {
        LeaseStore::delete(&self.inner, address).await
    }
    async fn get(&self, address: Ipv4Addr) -> Result<Option<Lease4>, LeaseError> {
        Self::tick(&self.gets);
        LeaseStore::get(&self.inner, address).await
    }
    async fn get_by_hwaddr(
        &self,
        hwaddr: &HwAddr,
        subnet_id: Option<u32>,
    ) -> Result<Vec<Lease4>, LeaseError> {
        Self::tick(&self.by_client);
        LeaseStore::get_by_hwaddr(&self.inner, hwaddr, subnet_id).await
    }
    async fn get_by_client_id(
        &self,
        client_id: &ClientId,
        subnet_id: Option<u32>,
    ) -> Result<Vec<Lease4>, LeaseError> {
        Self::tick(&self.by_client);
        LeaseStore::get_by_client_id(&self.inner, client_id, subnet_id).await
    }
    async fn get_by_hostname(&self, hostname: &str) -> Result<Vec<Lease4>, LeaseError> {
        Self::tick(&self.scans);
        LeaseStore::get_by_hostname(&self.inner, hostname).await
    }
    async fn get_all(&self, subnets: Option<&[u32]>) -> Result<Vec<Lease4>, LeaseError> {
        Self::tick(&self.scans);
        LeaseStore::get_all(&self.inner, subnets).await
    }
    async fn get_page(
        &self,
        after: Option<Ipv4Addr>,
        limit: NonZeroUsize,
    ) -> Result<Vec<Lease4>, LeaseError> {
        Self::tick(&self.scans);
        LeaseStore::get_page(&self.inner, after, limit).await
    }
    async fn wipe(&self, subnet_id: Option<u32>) -> Result<u64, LeaseError> {
        LeaseStore::wipe(&self.inner, subnet_id).await
    }
    async fn get_expired(&self, now: UnixTime, limit: usize) -> Result<Vec<Lease4>, LeaseError> {
        Self::tick(&self.scans);
        LeaseStore::get_expired(&self.inner, now, limit).await
    }
    async fn flush_reclaimed(&self, now: UnixTime, hold: u32) -> Result<u64, LeaseError> {
        LeaseStore::flush_reclaimed(&self.inner, now, hold).await
    }
    async fn counts(&self) -> Result<BTreeMap<u32, StateCounts>, LeaseError> {
        Self::tick(&self.scans);
        LeaseStore::counts(&self.inner).await
    }
}

fn mac(i: u32) -> [u8; 6] {
    let b = i.to_be_bytes();
    [0x02, 0x42, b[0], b[1], b[2], b[3]]
}

fn meta() -> RecvMeta {
    RecvMeta {
        iface: Arc::from("lo"),
        iface_addrs: Arc::from([Ipv4Addr::LOCALHOST]),
        local_addr: Ipv4Addr::LOCALHOST,
        src: SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 67),
        broadcast: false,
        raw: false,
    }
}

async fn send(engine: &Engine, store: &Counting, b: &MessageBuilder) -> Outcome {
    let mut buf = Vec::new();
    b.encode_into(&mut buf, &EncodeLimits::unlimited()).unwrap();
    let pkt = Packet::parse(&buf).unwrap();
    engine.process(store, &pkt, &meta(), &[], NOW).await
}

fn offered(o: &Outcome) -> Ipv4Addr {
    match o {
        Outcome::Reply(r) => {
            let mut buf = Vec::new();
            r.msg.encode_into(&mut buf, &r.limits).unwrap();
            Packet::parse(&buf).unwrap().yiaddr()
        }
        other => panic!("no reply: {other:?}"),
    }
}

fn client_msg(t: MessageType, i: u32) -> MessageBuilder {
    let mut b = MessageBuilder::client(t, i, &mac(i)).unwrap();
    b.set_giaddr(Ipv4Addr::new(127, 0, 0, 2));
    b
}

#[tokio::test]
async fn slash_8_pool_with_a_million_leases() {
    let cfg = parse_dhcp4_str_with(
        r#"{"Dhcp4":{"valid-lifetime":3600,"subnet4":[{"id":1,"subnet":"10.0.0.0/8",
            "pools":[{"pool":"10.0.0.1 - 10.255.255.254"}],
            "relay":{"ip-addresses":["127.0.0.2"]}}]}}"#,
        "scale",
        &LoadOptions::offline(),
    )
    .map_err(|e| e.to_string())
    .unwrap()
    .config;
    let store = Counting {
        inner: Memfile::in_memory(),
        gets: AtomicU64::new(0),
        by_client: AtomicU64::new(0),
        scans: AtomicU64::new(0),
    };
    // A million live leases filling the start of the pool, as after a long run.
    let first = u32::from(Ipv4Addr::new(10, 0, 0, 1));
    for i in 0..EXISTING {
        let lease = Lease4::new(
            Ipv4Addr::from(first + i),
            HwAddr::ether(&mac(i)).unwrap(),
            None,
            3600,
            NOW - 100,
            1,
        );
        store.inner.add(lease).unwrap().await.unwrap();
    }
    let engine = Engine::new(Arc::new(cfg));

    // After a restart the pool pointer is at the pool start (as in Kea): the first new
    // client costs one lookup per leased address in front of the pointer, once.
    let o = send(
        &engine,
        &store,
        &client_msg(MessageType::Discover, EXISTING),
    )
    .await;
    let next_free = Ipv4Addr::from(first + EXISTING);
    assert_eq!(offered(&o), next_free);
    let (gets, _, scans) = store.snapshot();
    eprintln!("first allocation after restart: {gets} address lookups");
    assert!(
        gets <= u64::from(EXISTING) + 4,
        "first allocation: {gets} lookups"
    );
    assert_eq!(scans, 0);

    // From then on every exchange is a handful of O(1) lookups: 500 new clients, each a
    // DISCOVER and a REQUEST.
    let before = store.snapshot();
    for i in EXISTING + 1..EXISTING + 501 {
        let o = send(&engine, &store, &client_msg(MessageType::Discover, i)).await;
        let a = offered(&o);
        let mut r = client_msg(MessageType::Request, i);
        r.set_option(50, &a.octets()).unwrap();
        r.set_option(54, &[127, 0, 0, 1]).unwrap();
        assert_eq!(offered(&send(&engine, &store, &r).await), a);
    }
    let after = store.snapshot();
    let gets = after.0 - before.0;
    let by_client = after.1 - before.1;
    eprintln!("500 DORA after the skip: {gets} address lookups, {by_client} index lookups");
    assert!(gets <= 500 * 4, "{gets} address lookups for 500 DORA");
    // One hardware-address index lookup per message (no client identifiers here).
    assert_eq!(by_client, 1000);
    assert_eq!(after.2, 0, "no lease table scans");

    // A returning client with one of the million leases is found through the index.
    let before = store.snapshot();
    let o = send(&engine, &store, &client_msg(MessageType::Discover, 123_456)).await;
    assert_eq!(offered(&o), Ipv4Addr::from(first + 123_456));
    let after = store.snapshot();
    assert!(after.0 - before.0 <= 2 && after.1 - before.1 == 1 && after.2 == 0);
}
