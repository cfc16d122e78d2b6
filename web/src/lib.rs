//! # eventline-web
//!
//! The browser runtime of Eventline.
