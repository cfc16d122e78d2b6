//! Fieldless enums read from their names by one shared decoder.
//!
//! serde's derive compiles a decoder per enum, most of a KB of WebAssembly each;
//! [`deserialize_by_name!`](crate::deserialize_by_name) implements `Deserialize` through
//! [`variant`], compiled once per format. It accepts and refuses what the derive does, with the
//! same messages (checked below against a derived twin). `Serialize` stays derived.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, EnumAccess, Unexpected, VariantAccess, Visitor};

/// Implements `Deserialize` for a fieldless enum from the names its derived `Serialize` writes.
/// Every variant must be listed, once (a `match` refuses to compile otherwise), and
/// `tests::enums_read_what_they_write` checks the names against what `Serialize` writes.
#[macro_export]
macro_rules! deserialize_by_name {
    ($name:ident { $($variant:ident = $json:literal),+ $(,)? }) => {
        impl $name {
            /// Every variant, in the order of its name in `deserialize_by_name!`.
            pub const BY_NAME: &'static [$name] = &[$($name::$variant),+];
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                fn _every_variant_listed(value: $name) {
                    match value {
                        $($name::$variant)|+ => {}
                    }
                }
                $crate::by_name::variant(deserializer, stringify!($name), &[$($json),+]).map(|i| Self::BY_NAME[i])
            }
        }
    };
}

/// Reads the enum `name` whose variants are `names`; returns the index of the one read.
pub fn variant<'de, D: Deserializer<'de>>(
    deserializer: D,
    name: &'static str,
    names: &'static [&'static str],
) -> Result<usize, D::Error> {
    deserializer.deserialize_enum(name, names, Enum { name, names })
}

struct Enum {
    name: &'static str,
    names: &'static [&'static str],
}

impl<'de> Visitor<'de> for Enum {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "enum {}", self.name)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<usize, A::Error> {
        let (index, variant) = data.variant_seed(Name(self.names))?;
        variant.unit_variant()?;
        Ok(index)
    }
}

/// One variant's name (or index, in formats that write indexes).
struct Name(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Name {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_u64<E: de::Error>(self, index: u64) -> Result<usize, E> {
        match usize::try_from(index) {
            Ok(i) if i < self.0.len() => Ok(i),
            _ => Err(E::invalid_value(Unexpected::Unsigned(index), &IndexBelow(self.0.len()))),
        }
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        self.0.iter().position(|n| *n == name).ok_or_else(|| E::unknown_variant(name, self.0))
    }

    fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<usize, E> {
        match self.0.iter().position(|n| n.as_bytes() == name) {
            Some(i) => Ok(i),
            None => Err(E::unknown_variant(&String::from_utf8_lossy(name), self.0)),
        }
    }
}

/// What the derive expects of a variant index.
struct IndexBelow(usize);

impl de::Expected for IndexBelow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "variant index 0 <= i < {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::personal::Redaction;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Derived {
        FirstOne,
        Second,
    }

    #[derive(Copy, Clone, Debug, PartialEq)]
    enum Ours {
        FirstOne,
        Second,
    }
    crate::deserialize_by_name!(Ours { FirstOne = "firstOne", Second = "second" });

    #[test]
    fn accepts_and_refuses_what_the_derive_does() {
        let inputs = [
            r#""firstOne""#,
            r#""second""#,
            r#""third""#,
            r#""FirstOne""#,
            r#"{"second":null}"#,
            r#"{"second":5}"#,
            r#"{"nope":null}"#,
            r#"{}"#,
            "1",
            "null",
            "[]",
            r#""sec\u006fnd""#,
            "",
        ];
        for json in inputs {
            let derived = serde_json::from_str::<Derived>(json).map(|d| format!("{d:?}")).map_err(|e| e.to_string());
            let ours = serde_json::from_str::<Ours>(json).map(|o| format!("{o:?}")).map_err(|e| e.to_string());
            assert_eq!(ours, derived, "{json}");
        }
    }

    #[test]
    fn enums_read_what_they_write() {
        let all = Redaction::BY_NAME;
        assert_eq!(all.len(), 2, "every variant is listed once");
        for value in all {
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(&serde_json::from_str::<Redaction>(&json).unwrap(), value, "{json}");
        }
    }
}
