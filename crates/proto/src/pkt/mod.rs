//! The received-packet view, its option index, and the reply builder.
