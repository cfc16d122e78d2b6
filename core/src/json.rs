//! Values from JSON text: [`from_str`] is `serde_json::from_str`, except that the struct it
//! reads must be a JSON object.
//!
//! serde's derived `Deserialize` reads a struct from an object, or from an array of its fields in
//! order, and serde_json compiles both readers for every struct it reads. Nothing in Eventline
//! writes a struct as an array, so the records, payloads and documents it reads back need only
//! the first: reading them through [`from_str`] saves the demo's .wasm 6 KB gzipped. An array
//! where a struct belongs is then refused ("invalid type: sequence, expected struct ..."), as
//! any other value that is not an object is.

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};
use serde_json::de::StrRead;

/// Reads a `T` from JSON text, as `serde_json::from_str` does, with `T`'s struct read from an
/// object only (fields of `T` read as serde_json reads them).
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> serde_json::Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(ObjectsOnly(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

/// serde_json's deserializer, with structs read as maps.
struct ObjectsOnly<'a, 'de>(&'a mut serde_json::Deserializer<StrRead<'de>>);

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> serde_json::Result<V::Value> {
                self.0.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for ObjectsOnly<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.0.deserialize_map(visitor)
    }

    forward! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(), deserialize_u32(),
        deserialize_u64(), deserialize_u128(), deserialize_f32(), deserialize_f64(), deserialize_char(),
        deserialize_str(), deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(), deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize), deserialize_map(),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]), deserialize_identifier(),
        deserialize_ignored_any(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::from_str;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Point {
        x: u32,
        y: Option<Vec<u32>>,
    }

    #[test]
    fn reads_what_serde_json_reads_but_structs_from_arrays() {
        for json in [
            r#"{"x":1,"y":[2]}"#,
            r#" {"y":null,"x":1} "#,
            r#"{"x":1,"x":2}"#,
            r#"{"x":"a"}"#,
            r#"{}"#,
            "7",
            "{",
            "{} x",
        ] {
            let ours = from_str::<Point>(json).map_err(|e| e.to_string());
            let theirs = serde_json::from_str::<Point>(json).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{json}");
        }
        assert!(serde_json::from_str::<Point>("[1,null]").is_ok());
        assert_eq!(
            from_str::<Point>("[1,null]").unwrap_err().to_string(),
            "invalid type: sequence, expected struct Point at line 1 column 0"
        );
        assert_eq!(from_str::<Option<u32>>("null").unwrap(), None);
    }
}
