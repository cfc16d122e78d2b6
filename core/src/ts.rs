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

/// Serialized as a map, as a `BTreeMap` is.
impl<K: TS, V: TS> TS for crate::sorted_map::SortedMap<K, V> {
    type WithoutGenerics = crate::sorted_map::SortedMap<ts_rs::Dummy, ts_rs::Dummy>;
    type OptionInnerType = Self;

    fn name(cfg: &Config) -> String {
        format!("Record<{}, {}>", K::name(cfg), V::name(cfg))
    }

    fn inline(cfg: &Config) -> String {
        Self::name(cfg)
    }
}

/// Positions, versions and times are whole numbers below 2^53: JavaScript numbers.
macro_rules! numbers {
    ($($ty:ty),+) => {$(
        impl TS for $ty {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;

            fn name(_: &Config) -> String {
                "number".into()
            }

            fn inline(cfg: &Config) -> String {
                Self::name(cfg)
            }
        }
    )+};
}

numbers!(crate::ids::Position, crate::ids::StreamVersion, crate::ids::Timestamp);
