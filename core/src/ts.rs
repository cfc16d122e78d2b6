//! TypeScript names of the core's types inside a domain's types (feature `ts`), so a domain's
//! declarations can be generated from its Rust types with `ts-rs`. `Personal<T>` and the ids are
//! declared once, in the API every package shares (`web/npm/eventline-api.d.ts`).

use ts_rs::{Config, TS};

use crate::ids::EntityId;
use crate::personal::Personal;

impl TS for EntityId {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;

    fn name(_: &Config) -> String {
        "Id".into()
    }

    fn inline(cfg: &Config) -> String {
        Self::name(cfg)
    }
}

impl<T: TS> TS for Personal<T> {
    type WithoutGenerics = Personal<ts_rs::Dummy>;
    type OptionInnerType = Self;

    fn name(cfg: &Config) -> String {
        format!("Personal<{}>", T::name(cfg))
    }

    fn inline(cfg: &Config) -> String {
        Self::name(cfg)
    }
}
