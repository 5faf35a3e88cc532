//! `nestor-config`: Kea 2.2's configuration language.
