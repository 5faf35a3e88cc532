//! Whether the DHCP service is enabled: Kea 2.2's `NetworkState` (`src/lib/dhcpsrv/network_state.cc`,
//! reference 3.2).
//!
//! The service is disabled while any of three holders wants it disabled: the user (`dhcp-disable`
//! without `origin` or with `"user"`: a flag), HA (`"origin": "ha-partner"` and HA's own state
//! machine: one shared flag, as in 2.2, so a partner's `dhcp-enable` can re-enable what the local
//! HA logic disabled), and lost database connections (a counter: every lost connection must come
//! back). `max-period` arms a one-shot timer per origin that re-enables that origin, replacing
//! any timer armed before; `dhcp-enable` cancels it. A plain disable leaves an armed timer alone,
//! so `dhcp-disable {"max-period": 5}` followed by `dhcp-disable` still re-enables after 5 s, as
//! in Kea.
//!
//! The packet path asks [`NetworkState::is_enabled`], a single atomic load. Changes are rare
//! (commands, HA transitions) and go through a mutex, then publish the new [`ServiceStatus`] on a
//! `watch` channel for whoever follows them (HA, logging). Timers are tokio tasks, so tests run
//! them under paused time.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::AbortHandle;

/// Who disables or enables the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A user command (`dhcp-disable`, `dhcp-enable` without `origin` or with `"user"`).
    User,
    /// HA: the local state machine and the partner's `{"origin": "ha-partner"}` commands.
    HaPartner,
    /// A lost lease or host database connection (counted; no timers).
    DbConnection,
}

/// An `origin` argument Kea does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value used for 'origin' parameter: {shown}")]
pub struct InvalidOrigin {
    /// The value as Kea shows it (`(empty string)` for `""`).
    pub shown: String,
}

impl Origin {
    /// Parses the `origin` argument of `dhcp-disable`/`dhcp-enable`; the error text is Kea's.
    pub fn from_command_arg(value: &str) -> Result<Self, InvalidOrigin> {
        match value {
            "user" => Ok(Self::User),
            "ha-partner" => Ok(Self::HaPartner),
            "" => Err(InvalidOrigin {
                shown: "(empty string)".to_owned(),
            }),
            other => Err(InvalidOrigin {
                shown: other.to_owned(),
            }),
        }
    }

    /// The command-argument spelling (`db-connection` is Nestor's, never accepted as an argument).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::HaPartner => "ha-partner",
            Self::DbConnection => "db-connection",
        }
    }

    fn timer_slot(self) -> Option<usize> {
        match self {
            Self::User => Some(0),
            Self::HaPartner => Some(1),
            Self::DbConnection => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a delayed enable could not be armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkStateError {
    /// Kea: `DB connection does not support delayed enable`.
    #[error("DB connection does not support delayed enable")]
    NoTimerForDbConnection,
    /// The timer is a tokio task; there is no runtime on this thread.
    #[error("cannot arm the {origin} re-enable timer outside a tokio runtime")]
    NoRuntime {
        /// The origin whose timer was asked for.
        origin: Origin,
    },
}

/// A snapshot of the network state, published on every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Whether DHCP packets are processed.
    pub enabled: bool,
    /// Disabled by a user command.
    pub disabled_by_user: bool,
    /// Disabled by HA (local state machine or partner).
    pub disabled_by_ha: bool,
    /// Lost database connections.
    pub disabled_by_db_connection: u32,
    /// A `max-period` timer is armed (Kea's `isDelayedEnableAll`).
    pub delayed_enable: bool,
}

impl ServiceStatus {
    const ENABLED: Self = Self {
        enabled: true,
        disabled_by_user: false,
        disabled_by_ha: false,
        disabled_by_db_connection: 0,
        delayed_enable: false,
    };
}

struct Timer {
    generation: u64,
    abort: AbortHandle,
}

struct State {
    user: bool,
    ha: bool,
    db: u32,
    timers: [Option<Timer>; 2],
    next_generation: u64,
}

impl State {
    fn status(&self) -> ServiceStatus {
        ServiceStatus {
            enabled: !self.user && !self.ha && self.db == 0,
            disabled_by_user: self.user,
            disabled_by_ha: self.ha,
            disabled_by_db_connection: self.db,
            delayed_enable: self.timers.iter().any(Option::is_some),
        }
    }

    fn destroy_timer(&mut self, origin: Origin) {
        if let Some(slot) = origin.timer_slot()
            && let Some(timer) = self.timers.get_mut(slot).and_then(Option::take)
        {
            timer.abort.abort();
        }
    }
}

struct Inner {
    /// The hot-path copy of `!status().enabled`.
    disabled: AtomicBool,
    state: Mutex<State>,
    changes: watch::Sender<ServiceStatus>,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every critical section leaves `State` consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes the state after a change; called with the lock held so that the atomic, the
    /// channel and the flags never disagree for long.
    fn publish(&self, state: &State) {
        let status = state.status();
        self.disabled.store(!status.enabled, Ordering::Release);
        self.changes.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }
}

/// The DHCP service's enabled/disabled state; cheap to clone (all clones share it).
#[derive(Clone)]
pub struct NetworkState {
    inner: Arc<Inner>,
}

impl fmt::Debug for NetworkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NetworkState").field(&self.status()).finish()
    }
}

impl Default for NetworkState {
    fn default() -> Self {
        Self::new()
    }
}

impl NetworkState {
    /// An enabled service.
    pub fn new() -> Self {
        let (changes, _) = watch::channel(ServiceStatus::ENABLED);
        Self {
            inner: Arc::new(Inner {
                disabled: AtomicBool::new(false),
                state: Mutex::new(State {
                    user: false,
                    ha: false,
                    db: 0,
                    timers: [None, None],
                    next_generation: 0,
                }),
                changes,
            }),
        }
    }

    /// Whether DHCP packets are to be processed: one atomic load, for the packet path.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        !self.inner.disabled.load(Ordering::Acquire)
    }

    /// The current state.
    pub fn status(&self) -> ServiceStatus {
        self.inner.lock().status()
    }

    /// Follows changes: the receiver sees the latest [`ServiceStatus`] after each change.
    pub fn subscribe(&self) -> watch::Receiver<ServiceStatus> {
        self.inner.changes.subscribe()
    }

    /// Kea's `disableService(origin)`: sets the origin's flag (or counts one more lost database
    /// connection). An armed `max-period` timer stays armed.
    pub fn disable(&self, origin: Origin) {
        let mut state = self.inner.lock();
        match origin {
            Origin::User => state.user = true,
            Origin::HaPartner => state.ha = true,
            Origin::DbConnection => state.db = state.db.saturating_add(1),
        }
        self.inner.publish(&state);
    }

    /// Kea's `enableService(origin)`: clears the origin's flag (or counts one restored database
    /// connection); the service runs again once no origin holds it. Leaves timers alone.
    pub fn enable(&self, origin: Origin) {
        let mut state = self.inner.lock();
        Self::clear(&mut state, origin);
        self.inner.publish(&state);
    }

    /// Kea's `enableAll(origin)` (what `dhcp-enable` does): [`enable`](Self::enable) and cancel the
    /// origin's `max-period` timer.
    pub fn enable_all(&self, origin: Origin) {
        let mut state = self.inner.lock();
        Self::clear(&mut state, origin);
        state.destroy_timer(origin);
        self.inner.publish(&state);
    }

    /// Kea's `reset(origin)`: clears the flag, or forgets every lost database connection.
    pub fn reset(&self, origin: Origin) {
        let mut state = self.inner.lock();
        match origin {
            Origin::User => state.user = false,
            Origin::HaPartner => state.ha = false,
            Origin::DbConnection => state.db = 0,
        }
        self.inner.publish(&state);
    }

    /// Kea's `delayedEnableAll(seconds, origin)` (`max-period`): after `after`, run
    /// [`enable_all`](Self::enable_all) for `origin`. Replaces a timer armed before for the same
    /// origin. Does not disable anything by itself: `dhcp-disable` calls this and then
    /// [`disable`](Self::disable).
    pub fn delayed_enable_all(
        &self,
        origin: Origin,
        after: Duration,
    ) -> Result<(), NetworkStateError> {
        let Some(slot) = origin.timer_slot() else {
            return Err(NetworkStateError::NoTimerForDbConnection);
        };
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| NetworkStateError::NoRuntime { origin })?;
        let mut state = self.inner.lock();
        state.destroy_timer(origin);
        let generation = state.next_generation;
        state.next_generation = state.next_generation.wrapping_add(1);
        // The task holds a weak reference: a dropped NetworkState takes its timers with it.
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let task = runtime.spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(inner) = weak.upgrade() {
                Self { inner }.fire(origin, generation);
            }
        });
        if let Some(entry) = state.timers.get_mut(slot) {
            *entry = Some(Timer {
                generation,
                abort: task.abort_handle(),
            });
        }
        self.inner.publish(&state);
        Ok(())
    }

    /// Whether a `max-period` timer is armed for any origin.
    pub fn is_delayed_enable_all(&self) -> bool {
        self.inner.lock().status().delayed_enable
    }

    /// The timer of `origin` expired: re-enable, unless the timer was replaced or cancelled
    /// between its wake-up and this lock (the abort can come too late to stop a woken task).
    fn fire(&self, origin: Origin, generation: u64) {
        let mut state = self.inner.lock();
        let current = origin
            .timer_slot()
            .and_then(|slot| state.timers.get(slot))
            .and_then(Option::as_ref)
            .is_some_and(|timer| timer.generation == generation);
        if !current {
            return;
        }
        tracing::info!(origin = %origin, "DHCPSRV_NETWORK_STATE_TIMER_EXPIRED re-enabling the DHCP service");
        Self::clear(&mut state, origin);
        state.destroy_timer(origin);
        self.inner.publish(&state);
    }

    fn clear(state: &mut State, origin: Origin) {
        match origin {
            Origin::User => state.user = false,
            Origin::HaPartner => state.ha = false,
            Origin::DbConnection => state.db = state.db.saturating_sub(1),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        for timer in state.timers.iter_mut().filter_map(Option::take) {
            timer.abort.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_origin_disables_and_all_must_enable() {
        let ns = NetworkState::new();
        assert!(ns.is_enabled());
        ns.disable(Origin::User);
        ns.disable(Origin::HaPartner);
        assert!(!ns.is_enabled());
        ns.enable(Origin::User);
        assert!(!ns.is_enabled(), "HA still holds the service");
        ns.enable(Origin::HaPartner);
        assert!(ns.is_enabled());
    }

    #[test]
    fn user_enable_cannot_undo_ha_disable() {
        let ns = NetworkState::new();
        ns.disable(Origin::HaPartner);
        ns.enable_all(Origin::User);
        assert!(!ns.is_enabled());
        let status = ns.status();
        assert!(status.disabled_by_ha && !status.disabled_by_user);
    }

    #[test]
    fn db_connection_losses_are_counted() {
        let ns = NetworkState::new();
        ns.disable(Origin::DbConnection);
        ns.disable(Origin::DbConnection);
        ns.enable(Origin::DbConnection);
        assert!(!ns.is_enabled());
        assert_eq!(ns.status().disabled_by_db_connection, 1);
        ns.enable(Origin::DbConnection);
        assert!(ns.is_enabled());
        // Never below zero.
        ns.enable(Origin::DbConnection);
        assert_eq!(ns.status().disabled_by_db_connection, 0);
        ns.disable(Origin::DbConnection);
        ns.disable(Origin::DbConnection);
        ns.reset(Origin::DbConnection);
        assert!(ns.is_enabled());
    }

    #[test]
    fn origin_argument_texts_are_keas() {
        assert_eq!(Origin::from_command_arg("user"), Ok(Origin::User));
        assert_eq!(
            Origin::from_command_arg("ha-partner"),
            Ok(Origin::HaPartner)
        );
        assert_eq!(
            Origin::from_command_arg("foo").unwrap_err().to_string(),
            "invalid value used for 'origin' parameter: foo"
        );
        assert_eq!(
            Origin::from_command_arg("").unwrap_err().to_string(),
            "invalid value used for 'origin' parameter: (empty string)"
        );
        assert!(Origin::from_command_arg("db-connection").is_err());
    }

    #[test]
    fn timers_need_a_runtime_and_not_a_db_origin() {
        let ns = NetworkState::new();
        assert_eq!(
            ns.delayed_enable_all(Origin::User, Duration::from_secs(1)),
            Err(NetworkStateError::NoRuntime {
                origin: Origin::User
            })
        );
        assert_eq!(
            ns.delayed_enable_all(Origin::DbConnection, Duration::from_secs(1)),
            Err(NetworkStateError::NoTimerForDbConnection)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn max_period_re_enables_its_origin_only() {
        let ns = NetworkState::new();
        ns.delayed_enable_all(Origin::User, Duration::from_secs(5))
            .unwrap();
        ns.disable(Origin::User);
        ns.disable(Origin::HaPartner);
        assert!(ns.is_delayed_enable_all());
        tokio::time::sleep(Duration::from_millis(4_999)).await;
        assert!(ns.status().disabled_by_user);
        tokio::time::sleep(Duration::from_millis(2)).await;
        let status = ns.status();
        assert!(!status.disabled_by_user && !status.delayed_enable);
        assert!(
            !ns.is_enabled(),
            "the HA flag is untouched by the user timer"
        );
        ns.enable(Origin::HaPartner);
        assert!(ns.is_enabled());
    }

    #[tokio::test(start_paused = true)]
    async fn plain_disable_keeps_an_armed_timer_and_enable_cancels_it() {
        let ns = NetworkState::new();
        ns.delayed_enable_all(Origin::HaPartner, Duration::from_secs(5))
            .unwrap();
        ns.disable(Origin::HaPartner);
        ns.disable(Origin::HaPartner);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(
            ns.is_enabled(),
            "Kea re-enables even after a second plain disable"
        );

        ns.delayed_enable_all(Origin::HaPartner, Duration::from_secs(5))
            .unwrap();
        ns.disable(Origin::HaPartner);
        ns.enable_all(Origin::HaPartner);
        assert!(!ns.is_delayed_enable_all());
        ns.disable(Origin::HaPartner);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!ns.is_enabled(), "a cancelled timer must not fire");
    }

    #[tokio::test(start_paused = true)]
    async fn rearming_replaces_the_timer() {
        let ns = NetworkState::new();
        ns.delayed_enable_all(Origin::User, Duration::from_secs(5))
            .unwrap();
        ns.disable(Origin::User);
        tokio::time::sleep(Duration::from_secs(3)).await;
        ns.delayed_enable_all(Origin::User, Duration::from_secs(5))
            .unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!ns.is_enabled(), "the first timer was replaced");
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(ns.is_enabled());
    }

    #[tokio::test(start_paused = true)]
    async fn changes_are_published() {
        let ns = NetworkState::new();
        let mut rx = ns.subscribe();
        assert!(rx.borrow_and_update().enabled);
        ns.disable(Origin::User);
        rx.changed().await.unwrap();
        assert!(!rx.borrow_and_update().enabled);
        // Disabling again changes nothing and publishes nothing.
        ns.disable(Origin::User);
        assert!(!rx.has_changed().unwrap());
        ns.delayed_enable_all(Origin::User, Duration::from_secs(1))
            .unwrap();
        rx.changed().await.unwrap();
        assert!(rx.borrow_and_update().delayed_enable);
        rx.changed().await.unwrap();
        let status = *rx.borrow_and_update();
        assert!(status.enabled && !status.delayed_enable);
    }
}
