//! The `LeaseStore` trait: what the server, the lease commands and HA need from a lease
//! database, implemented by memfile now and by the SQL backends (PostgreSQL, MySQL on Kea's
//! schema) later.
//!
//! # Generic first, object-safe on demand
//!
//! [`LeaseStore`] uses `-> impl Future + Send` methods: no allocation per call, which matters on
//! the packet path where the server is generic over (or an enum of) its backend. Plugins that see
//! the server only through a handle need a trait object; [`DynLeaseStore`] is the object-safe
//! mirror, implemented for every `LeaseStore`, boxing each future (one allocation per call, next
//! to a lease-command or HA round trip that costs far more).
//!
//! # Semantics every backend must share (the conformance suite checks them)
//!
//! * Writes complete only once durable: memfile's row written (group commit), SQL's transaction
//!   committed.
//! * `add` on an address that has a lease fails with [`LeaseError::Conflict`], never a generic
//!   error: with several servers on one SQL database, the losing insert of a race sees it and the
//!   allocator moves on.
//! * `update` of a missing lease is [`LeaseError::NotFound`] (Kea's "either because the lease
//!   has been deleted or it has changed in the database"); `delete` of a missing one is `Ok(None)`.
//! * Lists come back ascending by address. Time is passed in (`now`), never read by the store.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::num::NonZeroUsize;
use std::pin::Pin;

use thiserror::Error;

use crate::lease::{ClientId, HwAddr, Lease4, NoClientIdentity, UnixTime};
use crate::memfile::{CommitError, Memfile, StateCounts};

/// Why a lease store operation failed.
#[derive(Debug, Clone, Error)]
pub enum LeaseError {
    /// The address already has a lease (Kea: `IPv4 lease already exists.`).
    #[error("IPv4 lease already exists for {address}")]
    Conflict {
        /// The contested address.
        address: Ipv4Addr,
    },
    /// An update found no lease for the address.
    #[error("no IPv4 lease for {address}")]
    NotFound {
        /// The address.
        address: Ipv4Addr,
    },
    /// The lease identifies no client and is not declined.
    #[error(transparent)]
    Invalid(#[from] NoClientIdentity),
    /// The change was applied but could not be made durable; the caller must not answer the
    /// client as if it had been.
    #[error(transparent)]
    Persistence(#[from] CommitError),
    /// A database backend error (SQL backends).
    #[error("lease database error: {message}")]
    Backend {
        /// The driver's message.
        message: String,
        /// Whether retrying the same operation may succeed (lost connection, deadlock).
        retryable: bool,
    },
}

/// A boxed, sendable future, for [`DynLeaseStore`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A DHCPv4 lease database.
pub trait LeaseStore: Send + Sync {
    /// Adds a lease for an address that has none.
    fn add(&self, lease: Lease4) -> impl Future<Output = Result<(), LeaseError>> + Send;

    /// Replaces the lease of `lease.address`, returning the previous one.
    fn update(&self, lease: Lease4) -> impl Future<Output = Result<Lease4, LeaseError>> + Send;

    /// Adds or replaces the lease of `lease.address` (HA lease updates, `lease4-update` with
    /// `force-create`), returning the replaced lease.
    fn upsert(
        &self,
        lease: Lease4,
    ) -> impl Future<Output = Result<Option<Lease4>, LeaseError>> + Send;

    /// Deletes the lease of `address`, returning it; `Ok(None)` if there was none.
    fn delete(
        &self,
        address: Ipv4Addr,
    ) -> impl Future<Output = Result<Option<Lease4>, LeaseError>> + Send;

    /// The lease of `address`.
    fn get(
        &self,
        address: Ipv4Addr,
    ) -> impl Future<Output = Result<Option<Lease4>, LeaseError>> + Send;

    /// Leases with this hardware address (bytes compared), optionally in one subnet.
    fn get_by_hwaddr(
        &self,
        hwaddr: &HwAddr,
        subnet_id: Option<u32>,
    ) -> impl Future<Output = Result<Vec<Lease4>, LeaseError>> + Send;

    /// Leases with this client identifier, optionally in one subnet.
    fn get_by_client_id(
        &self,
        client_id: &ClientId,
        subnet_id: Option<u32>,
    ) -> impl Future<Output = Result<Vec<Lease4>, LeaseError>> + Send;

    /// Leases whose stored hostname equals `hostname`.
    fn get_by_hostname(
        &self,
        hostname: &str,
    ) -> impl Future<Output = Result<Vec<Lease4>, LeaseError>> + Send;

    /// Leases of the given subnets, or all leases (`lease4-get-all`).
    fn get_all(
        &self,
        subnets: Option<&[u32]>,
    ) -> impl Future<Output = Result<Vec<Lease4>, LeaseError>> + Send;

    /// Up to `limit` leases with addresses above `after` (from the start when `None`).
    fn get_page(
        &self,
        after: Option<Ipv4Addr>,
        limit: NonZeroUsize,
    ) -> impl Future<Output = Result<Vec<Lease4>, LeaseError>> + Send;

    /// Deletes every lease of a subnet (every lease when `None`); returns how many.
    fn wipe(&self, subnet_id: Option<u32>) -> impl Future<Output = Result<u64, LeaseError>> + Send;

    /// Up to `limit` (0 = all) assigned or declined leases expired at `now`, earliest first: the
    /// reclamation batch (`max-reclaim-leases`).
    fn get_expired(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Lease4>, LeaseError>> + Send;

    /// Deletes expired-reclaimed leases whose expiration is at or before
    /// `now - hold_reclaimed_time`; returns how many.
    fn flush_reclaimed(
        &self,
        now: UnixTime,
        hold_reclaimed_time: u32,
    ) -> impl Future<Output = Result<u64, LeaseError>> + Send;

    /// Lease counts per subnet and state, for the statistics.
    fn counts(&self)
    -> impl Future<Output = Result<BTreeMap<u32, StateCounts>, LeaseError>> + Send;
}

/// The object-safe form of [`LeaseStore`], for `Arc<dyn DynLeaseStore>` handles.
#[allow(missing_docs)]
pub trait DynLeaseStore: Send + Sync {
    fn add(&self, lease: Lease4) -> BoxFuture<'_, Result<(), LeaseError>>;
    fn update(&self, lease: Lease4) -> BoxFuture<'_, Result<Lease4, LeaseError>>;
    fn upsert(&self, lease: Lease4) -> BoxFuture<'_, Result<Option<Lease4>, LeaseError>>;
    fn delete(&self, address: Ipv4Addr) -> BoxFuture<'_, Result<Option<Lease4>, LeaseError>>;
    fn get(&self, address: Ipv4Addr) -> BoxFuture<'_, Result<Option<Lease4>, LeaseError>>;
    fn get_by_hwaddr<'a>(
        &'a self,
        hwaddr: &'a HwAddr,
        subnet_id: Option<u32>,
    ) -> BoxFuture<'a, Result<Vec<Lease4>, LeaseError>>;
    fn get_by_client_id<'a>(
        &'a self,
        client_id: &'a ClientId,
        subnet_id: Option<u32>,
    ) -> BoxFuture<'a, Result<Vec<Lease4>, LeaseError>>;
    fn get_by_hostname<'a>(
        &'a self,
        hostname: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Lease4>, LeaseError>>;
    fn get_all<'a>(
        &'a self,
        subnets: Option<&'a [u32]>,
    ) -> BoxFuture<'a, Result<Vec<Lease4>, LeaseError>>;
    fn get_page(
        &self,
        after: Option<Ipv4Addr>,
        limit: NonZeroUsize,
    ) -> BoxFuture<'_, Result<Vec<Lease4>, LeaseError>>;
    fn wipe(&self, subnet_id: Option<u32>) -> BoxFuture<'_, Result<u64, LeaseError>>;
    fn get_expired(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Lease4>, LeaseError>>;
    fn flush_reclaimed(
        &self,
        now: UnixTime,
        hold_reclaimed_time: u32,
    ) -> BoxFuture<'_, Result<u64, LeaseError>>;
    fn counts(&self) -> BoxFuture<'_, Result<BTreeMap<u32, StateCounts>, LeaseError>>;
}

impl<T: LeaseStore> DynLeaseStore for T {
    fn add(&self, lease: Lease4) -> BoxFuture<'_, Result<(), LeaseError>> {
        Box::pin(LeaseStore::add(self, lease))
    }
    fn update(&self, lease: Lease4) -> BoxFuture<'_, Result<Lease4, LeaseError>> {
        Box::pin(LeaseStore::update(self, lease))
    }
    fn upsert(&self, lease: Lease4) -> BoxFuture<'_, Result<Option<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::upsert(self, lease))
    }
    fn delete(&self, address: Ipv4Addr) -> BoxFuture<'_, Result<Option<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::delete(self, address))
    }
    fn get(&self, address: Ipv4Addr) -> BoxFuture<'_, Result<Option<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::get(self, address))
    }
    fn get_by_hwaddr<'a>(
        &'a self,
        hwaddr: &'a HwAddr,
        subnet_id: Option<u32>,
    ) -> BoxFuture<'a, Result<Vec<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::get_by_hwaddr(self, hwaddr, subnet_id))
    }
    fn get_by_client_id<'a>(
        &'a self,
        client_id: &'a ClientId,
        subnet_id: Option<u32>,
    ) -> BoxFuture<'a, Result<Vec<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::get_by_client_id(self, client_id, subnet_id))
    }
    fn get_by_hostname<'a>(
        &'a self,
        hostname: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::get_by_hostname(self, hostname))
    }
    fn get_all<'a>(
        &'a self,
        subnets: Option<&'a [u32]>,
    ) -> BoxFuture<'a, Result<Vec<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::get_all(self, subnets))
    }
    fn get_page(
        &self,
        after: Option<Ipv4Addr>,
        limit: NonZeroUsize,
    ) -> BoxFuture<'_, Result<Vec<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::get_page(self, after, limit))
    }
    fn wipe(&self, subnet_id: Option<u32>) -> BoxFuture<'_, Result<u64, LeaseError>> {
        Box::pin(LeaseStore::wipe(self, subnet_id))
    }
    fn get_expired(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Lease4>, LeaseError>> {
        Box::pin(LeaseStore::get_expired(self, now, limit))
    }
    fn flush_reclaimed(
        &self,
        now: UnixTime,
        hold_reclaimed_time: u32,
    ) -> BoxFuture<'_, Result<u64, LeaseError>> {
        Box::pin(LeaseStore::flush_reclaimed(self, now, hold_reclaimed_time))
    }
    fn counts(&self) -> BoxFuture<'_, Result<BTreeMap<u32, StateCounts>, LeaseError>> {
        Box::pin(LeaseStore::counts(self))
    }
}

/// Memfile: reads answer from memory at once; writes resolve when their row is written.
impl LeaseStore for Memfile {
    async fn add(&self, lease: Lease4) -> Result<(), LeaseError> {
        let commit = Memfile::add(self, lease)?;
        Ok(commit.await?)
    }

    async fn update(&self, lease: Lease4) -> Result<Lease4, LeaseError> {
        let (old, commit) = Memfile::update(self, lease)?;
        commit.await?;
        Ok(old)
    }

    async fn upsert(&self, lease: Lease4) -> Result<Option<Lease4>, LeaseError> {
        let (old, commit) = Memfile::upsert(self, lease)?;
        commit.await?;
        Ok(old)
    }

    async fn delete(&self, address: Ipv4Addr) -> Result<Option<Lease4>, LeaseError> {
        match Memfile::delete(self, address) {
            Some((old, commit)) => {
                commit.await?;
                Ok(Some(old))
            }
            None => Ok(None),
        }
    }

    async fn get(&self, address: Ipv4Addr) -> Result<Option<Lease4>, LeaseError> {
        Ok(self.index().get(address))
    }

    async fn get_by_hwaddr(
        &self,
        hwaddr: &HwAddr,
        subnet_id: Option<u32>,
    ) -> Result<Vec<Lease4>, LeaseError> {
        Ok(self.index().by_hwaddr(hwaddr, subnet_id))
    }

    async fn get_by_client_id(
        &self,
        client_id: &ClientId,
        subnet_id: Option<u32>,
    ) -> Result<Vec<Lease4>, LeaseError> {
        Ok(self.index().by_client_id(client_id, subnet_id))
    }

    async fn get_by_hostname(&self, hostname: &str) -> Result<Vec<Lease4>, LeaseError> {
        Ok(self.index().by_hostname(hostname))
    }

    async fn get_all(&self, subnets: Option<&[u32]>) -> Result<Vec<Lease4>, LeaseError> {
        Ok(self.index().by_subnets(subnets))
    }

    async fn get_page(
        &self,
        after: Option<Ipv4Addr>,
        limit: NonZeroUsize,
    ) -> Result<Vec<Lease4>, LeaseError> {
        Ok(self.index().page(after, limit.get()))
    }

    async fn wipe(&self, subnet_id: Option<u32>) -> Result<u64, LeaseError> {
        let (count, commit) = Memfile::wipe(self, subnet_id);
        commit.await?;
        Ok(count)
    }

    async fn get_expired(&self, now: UnixTime, limit: usize) -> Result<Vec<Lease4>, LeaseError> {
        Ok(self.index().expired(now, limit))
    }

    async fn flush_reclaimed(
        &self,
        now: UnixTime,
        hold_reclaimed_time: u32,
    ) -> Result<u64, LeaseError> {
        let (count, commit) = Memfile::flush_reclaimed(self, now, hold_reclaimed_time, 0);
        commit.await?;
        Ok(count)
    }

    async fn counts(&self) -> Result<BTreeMap<u32, StateCounts>, LeaseError> {
        Ok(self.index().counts())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseState;
    use crate::memfile::MemfileConfig;
    use std::sync::Arc;

    fn block_on<F: Future>(fut: F) -> F::Output {
        crate::memfile::writer::block_on_for_tests(fut)
    }

    fn lease(last: u8) -> Lease4 {
        Lease4::new(
            Ipv4Addr::new(198, 18, 0, last),
            HwAddr::ether(&[2, 0, 0, 0, 0, last]).unwrap(),
            None,
            60,
            1000,
            7,
        )
    }

    /// The same checks through the object-safe handle a plugin would hold.
    #[test]
    fn memfile_through_dyn_handle() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Memfile::open(&MemfileConfig::new(dir.path().join("l.csv"))).unwrap();
        let store: Arc<dyn DynLeaseStore> = Arc::new(store);
        block_on(async {
            for i in 1..=5 {
                store.add(lease(i)).await.unwrap();
            }
            assert!(matches!(
                store.add(lease(2)).await,
                Err(LeaseError::Conflict { .. })
            ));
            let hw = HwAddr::ether(&[2, 0, 0, 0, 0, 3]).unwrap();
            assert_eq!(store.get_by_hwaddr(&hw, Some(7)).await.unwrap().len(), 1);
            let page = store
                .get_page(
                    Some(Ipv4Addr::new(198, 18, 0, 2)),
                    NonZeroUsize::MIN.saturating_add(1),
                )
                .await
                .unwrap();
            assert_eq!(
                page.iter()
                    .map(|l| l.address.octets()[3])
                    .collect::<Vec<_>>(),
                [3, 4]
            );
            let expired = store.get_expired(1061, 3).await.unwrap();
            assert_eq!(expired.len(), 3);
            let mut reclaimed = expired[0].clone();
            reclaimed.state = LeaseState::ExpiredReclaimed;
            store.update(reclaimed).await.unwrap();
            assert_eq!(store.counts().await.unwrap()[&7].reclaimed, 1);
            assert!(store.upsert(lease(9)).await.unwrap().is_none());
            assert_eq!(store.upsert(lease(9)).await.unwrap(), Some(lease(9)));
            assert_eq!(
                store.delete(Ipv4Addr::new(198, 18, 0, 9)).await.unwrap(),
                Some(lease(9))
            );
            assert_eq!(store.flush_reclaimed(1061, 0).await.unwrap(), 1);
            assert_eq!(
                store
                    .delete(Ipv4Addr::new(198, 18, 0, 2))
                    .await
                    .unwrap()
                    .map(|l| l.address.octets()[3]),
                Some(2)
            );
            assert_eq!(
                store.delete(Ipv4Addr::new(198, 18, 0, 2)).await.unwrap(),
                None
            );
            assert_eq!(store.wipe(None).await.unwrap(), 3);
            assert!(store.get_all(None).await.unwrap().is_empty());
        });
    }
}
