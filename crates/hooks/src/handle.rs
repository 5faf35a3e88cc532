//! [`ServerHandle`]: everything of the server a plugin may touch, and nothing of its internals
//! (DESIGN: plugins never depend on `dhcp4`, so they can be driven by a fake server in tests).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use nestor_config::Dhcp4Config;
use nestor_config::common::HookLibrary;
use nestor_ctrl::CommandRegistry;
use nestor_leases::DynLeaseStore;
use serde_json::Value;

use crate::clock::Clock;
use crate::network_state::NetworkState;
use crate::stats::Stats;

/// A value swapped on reconfiguration (the configuration, the loaded [`Hooks`](crate::Hooks)).
///
/// [`load`](Self::load) takes an `Arc` under a read lock released at once. On the packet path, a
/// worker keeps a [`Cached`] copy instead and refreshes it only when the generation counter moved:
/// one atomic load per packet, no shared lock.
pub struct SwapCell<T> {
    value: RwLock<Arc<T>>,
    generation: AtomicU64,
}

impl<T> SwapCell<T> {
    /// A cell holding `value`.
    pub fn new(value: Arc<T>) -> Self {
        Self {
            value: RwLock::new(value),
            generation: AtomicU64::new(0),
        }
    }

    /// The current value.
    pub fn load(&self) -> Arc<T> {
        // Only `store` writes, and it leaves a complete `Arc` even if it panicked.
        Arc::clone(&self.value.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the value, returning the previous one.
    pub fn store(&self, value: Arc<T>) -> Arc<T> {
        let mut slot = self.value.write().unwrap_or_else(PoisonError::into_inner);
        let previous = std::mem::replace(&mut *slot, value);
        // Bumped under the lock: a reader that sees the new generation and then takes the lock
        // finds the new value.
        self.generation.fetch_add(1, Ordering::Release);
        previous
    }

    /// A worker's copy of the current value.
    pub fn cached(&self) -> Cached<T> {
        let slot = self.value.read().unwrap_or_else(PoisonError::into_inner);
        Cached {
            generation: self.generation.load(Ordering::Acquire),
            value: Arc::clone(&slot),
        }
    }
}

impl<T> fmt::Debug for SwapCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwapCell")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A worker's copy of a [`SwapCell`]'s value, refreshed when the cell changed.
pub struct Cached<T> {
    generation: u64,
    value: Arc<T>,
}

impl<T> Cached<T> {
    /// The cell's current value: one atomic load when nothing changed since the last call.
    #[inline]
    pub fn get(&mut self, cell: &SwapCell<T>) -> &Arc<T> {
        if cell.generation.load(Ordering::Acquire) != self.generation {
            *self = cell.cached();
        }
        &self.value
    }
}

impl<T> fmt::Debug for Cached<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cached")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// The server's configuration in force.
pub type ConfigCell = SwapCell<Dhcp4Config>;

struct Inner {
    leases: Arc<dyn DynLeaseStore>,
    network_state: NetworkState,
    stats: Stats,
    clock: Arc<dyn Clock>,
    config: ConfigCell,
    commands: Arc<CommandRegistry>,
}

/// What a plugin sees of the server; cheap to clone (one or two `Arc`s).
#[derive(Clone)]
pub struct ServerHandle {
    inner: Arc<Inner>,
    /// The `parameters` of the plugin's `hooks-libraries` entry, in the handle given to a plugin.
    parameters: Option<Arc<Value>>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("network_state", &self.inner.network_state)
            .field("stats", &self.inner.stats)
            .field("clock", &self.inner.clock)
            .field("commands", &self.inner.commands)
            .field("parameters", &self.parameters)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Built by the server once, at start; the lease store, statistics, network state, command
    /// registry and clock live as long as the process (the configuration is swapped in place).
    pub fn new(
        leases: Arc<dyn DynLeaseStore>,
        network_state: NetworkState,
        stats: Stats,
        clock: Arc<dyn Clock>,
        config: Arc<Dhcp4Config>,
        commands: Arc<CommandRegistry>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                leases,
                network_state,
                stats,
                clock,
                config: ConfigCell::new(config),
                commands,
            }),
            parameters: None,
        }
    }

    /// The handle given to the plugin of `library`: the same server, with the library's
    /// `parameters` as JSON.
    pub fn for_library(&self, library: &HookLibrary) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            parameters: library
                .parameters
                .as_ref()
                .map(|node| Arc::new(node.to_json())),
        }
    }

    /// The plugin's own `parameters` (`None` in the server's handle, or when the entry has
    /// none). The constructor also receives the `HookLibrary`, whose parameters keep their
    /// positions for error messages.
    pub fn parameters(&self) -> Option<&Value> {
        self.parameters.as_deref()
    }

    /// The lease store (durable on return of `add`/`update`/`delete`).
    pub fn leases(&self) -> &Arc<dyn DynLeaseStore> {
        &self.inner.leases
    }

    /// The DHCP service state (`dhcp-disable`/`dhcp-enable` with an origin).
    pub fn network_state(&self) -> &NetworkState {
        &self.inner.network_state
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Dhcp4Config> {
        self.inner.config.load()
    }

    /// The configuration cell, for a [`Cached`] copy on a hot path.
    pub fn config_cell(&self) -> &ConfigCell {
        &self.inner.config
    }

    /// Installs a new configuration (the server, on `config-set`/`config-reload`), returning the
    /// previous one.
    pub fn set_config(&self, config: Arc<Dhcp4Config>) -> Arc<Dhcp4Config> {
        self.inner.config.store(config)
    }

    /// The control command registry (plugins normally declare their commands through
    /// [`Plugin::commands`](crate::Plugin::commands) instead, so that unloading removes them).
    pub fn commands(&self) -> &Arc<CommandRegistry> {
        &self.inner.commands
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_copies_follow_stores() {
        let cell = SwapCell::new(Arc::new(1));
        let mut cached = cell.cached();
        assert_eq!(**cached.get(&cell), 1);
        assert_eq!(*cell.store(Arc::new(2)), 1);
        assert_eq!(**cached.get(&cell), 2);
        assert_eq!(*cell.load(), 2);
        let before = Arc::clone(cached.get(&cell));
        assert!(
            Arc::ptr_eq(&before, cached.get(&cell)),
            "no refresh without a store"
        );
    }
}
