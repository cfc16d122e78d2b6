//! Cross-crate test suites.
