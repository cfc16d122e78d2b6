//! TypeScript names of the core's types inside a domain's types (feature `ts`), so a domain's
//! declarations can be generated from its Rust types with `ts-rs`. `Personal<T>` and the ids are
//! declared once, in the API every package shares (`web/npm/eventline-api.d.ts`); and the
//! helpers a domain's declarations test writes them with.

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

/// How a domain's declarations are written: every number Eventline hands JavaScript fits a
/// JavaScript number.
pub fn config() -> Config {
    Config::new().with_large_int("number")
}

/// `export type Name = ...;` for a type, and a blank line.
pub fn declare<T: TS>(out: &mut String) {
    out.push_str("export ");
    out.push_str(&T::decl(&config()));
    out.push_str("\n\n");
}

/// A union of string literals: `"a" | "b"`.
pub fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(" | ")
}

/// Fails unless the checked-in declarations at `path` are `generated`; writes them first when
/// `EVENTLINE_WRITE_TYPES=1`. For a domain's test of its generated `eventline.d.ts`.
pub fn check_declarations(path: &str, generated: &str, package: &str) {
    if std::env::var("EVENTLINE_WRITE_TYPES").as_deref() == Ok("1") {
        std::fs::write(path, generated).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{path} is not what the Rust types declare: run EVENTLINE_WRITE_TYPES=1 cargo test -p {package} --test typescript"
    );
}
