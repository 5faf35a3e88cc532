//! Why a lease command failed, with Kea 2.2's texts; every variant is answered with result 1.

use nestor_ctrl::Answer;
use nestor_leases::{LeaseError, LeaseState};

use crate::position::Position;

/// A lease command's failure. Kea answers each of these with result 1 and the text shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CommandError {
    /// `SimpleParser`: a mandatory parameter is absent (position of the arguments map).
    #[error("missing parameter '{name}' ({at})")]
    MissingParameter { name: &'static str, at: Position },
    /// `SimpleParser`: a parameter has the wrong JSON type (position of the value).
    #[error("invalid type specified for parameter '{name}' ({at})")]
    InvalidType { name: &'static str, at: Position },
    /// `SimpleParser::getIntType`: an integer outside the parameter's type.
    #[error("out of range value ({value}) specified for parameter '{name}' ({at})")]
    OutOfRange {
        name: &'static str,
        value: i64,
        at: Position,
    },
    /// `SimpleParser::getAddress`: the text is no IP address (Kea's text lacks a space there).
    #[error(
        "Failed to convert '{text}' to address: Failed to convert string to address '{text}': \
         Invalid argument({at})"
    )]
    BadAddress { text: String, at: Position },
    /// Kea's `Element` accessors on arguments that are not a map (`get(string)`,
    /// `contains(string)`).
    #[error("{accessor} called on a non-map Element in ({at})")]
    NotAMap {
        accessor: &'static str,
        at: Position,
    },
    /// `Element::stringValue()` on a value that is not a string.
    #[error("stringValue() called on non-string Element in ({at})")]
    NotAString { at: Position },
    /// `Element::intValue()` on a value that is not an integer.
    #[error("intValue() called on non-integer Element in ({at})")]
    NotAnInteger { at: Position },
    /// The lease names no client and is not declined (memfile's write-time check).
    #[error(
        "Lease4: {address}, state: {} has neither hardware address or client id",
        state_text(*state)
    )]
    NoClientIdentity {
        address: std::net::Ipv4Addr,
        state: LeaseState,
    },
    /// `lease4-add` of an address that has a lease.
    #[error("IPv4 lease already exists.")]
    AlreadyExists,
    /// `lease4-update` without `force-create` of an address that has no lease.
    #[error(
        "failed to update the lease with address {address} either because the lease has been \
         deleted or it has changed in the database, in both cases a retry might succeed"
    )]
    UpdateMissing { address: std::net::Ipv4Addr },
    /// The lease store failed (I/O, database).
    #[error("{0}")]
    Store(String),
    /// Any other refusal, with Kea's text for it (argument checks specific to one command).
    #[error("{0}")]
    Rejected(String),
}

impl CommandError {
    /// A refusal with Kea's `text`.
    pub(crate) fn rejected(text: impl Into<String>) -> Self {
        Self::Rejected(text.into())
    }

    /// The answer Kea gives: result 1 with the text.
    pub(crate) fn into_answer(self) -> Answer {
        Answer::error(self.to_string())
    }

    /// A store error met while applying a command to the lease of `address`.
    pub(crate) fn from_store(error: LeaseError) -> Self {
        match error {
            LeaseError::Conflict { .. } => Self::AlreadyExists,
            LeaseError::NotFound { address } => Self::UpdateMissing { address },
            LeaseError::Invalid(e) => Self::NoClientIdentity {
                address: e.address,
                state: e.state,
            },
            other => Self::Store(other.to_string()),
        }
    }
}

/// Kea's `Lease::basicStatesToText`.
pub(crate) fn state_text(state: LeaseState) -> &'static str {
    match state {
        LeaseState::Default => "default",
        LeaseState::Declined => "declined",
        LeaseState::ExpiredReclaimed => "expired-reclaimed",
    }
}
