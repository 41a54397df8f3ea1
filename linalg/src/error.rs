//! The error type of the vector maths.
//!
//! An algorithm fails in two ways only: its input or a parameter is not one it can work with
//! ([`Error::InvalidArgument`], whose message names the parameter and the fix), or an
//! invariant broke ([`Error::Internal`], a bug). The storage engine turns both into its own
//! variants of the same names.

/// Result type of the vector maths.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in an algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter or an input the algorithm cannot take; the message says what it can.
    #[error("{0}")]
    InvalidArgument(String),

    /// A broken invariant: a bug in reeldb.
    #[error("internal error: {0}. This is a bug in reeldb; please report it")]
    Internal(String),
}
