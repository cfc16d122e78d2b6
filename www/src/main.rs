//! The Eventline demo page.
fn main() {}
