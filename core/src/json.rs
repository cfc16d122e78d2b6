//! Values from JSON text: [`from_str`] is `serde_json::from_str`, except that the structs it
//! reads must be JSON objects.
//!
//! serde's derived `Deserialize` reads a struct from an object, or from an array of its fields in
//! order, and serde_json compiles both readers for every struct it reads. Nothing in Eventline
//! writes a struct as an array, so the records, payloads and documents it reads back need only
//! the first: reading them through [`from_str`] saves the demo's .wasm 7 KB gzipped. An array
//! where a struct belongs is then refused ("invalid type: sequence, expected struct ..."), as
//! any other value that is not an object is.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// Reads a `T` from JSON text, as `serde_json::from_str` does, with every struct in it (in
/// fields, options, sequences and maps) read from an object only.
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> serde_json::Result<T> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(ObjectsOnly(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

/// A deserializer that reads structs as maps, and passes itself on to what is inside maps,
/// sequences and options, so nested structs are read as maps too.
struct ObjectsOnly<D>(D);

/// What an [`ObjectsOnly`] hands a visitor, so the visitor's values are read by one too.
struct Inside<T>(T);

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method($($arg,)* visitor)
            }
        )*
    };
}

macro_rules! inside {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method($($arg,)* Inside(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Inside(visitor))
    }

    inside! { deserialize_option(), deserialize_seq(), deserialize_map() }

    forward! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(), deserialize_u32(),
        deserialize_u64(), deserialize_u128(), deserialize_f32(), deserialize_f64(), deserialize_char(),
        deserialize_str(), deserialize_string(), deserialize_bytes(), deserialize_byte_buf(), deserialize_unit(),
        deserialize_unit_struct(name: &'static str), deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize), deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]), deserialize_identifier(),
        deserialize_ignored_any(),
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! visit {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.0.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Inside<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Inside(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Inside(seq))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(ObjectsOnly(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(ObjectsOnly(deserializer))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(data)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    visit! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64), visit_i128(i128),
        visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64), visit_u128(u128), visit_f32(f32),
        visit_f64(f64), visit_char(char), visit_str(&str), visit_borrowed_str(&'de str), visit_string(String),
        visit_bytes(&[u8]), visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Inside<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.0.next_value_seed(Inside(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Inside<A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        self.0.next_element_seed(Inside(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Inside<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(ObjectsOnly(deserializer))
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

    #[derive(Debug, PartialEq, Deserialize)]
    struct Path {
        start: Point,
        next: Vec<Point>,
        end: Option<Point>,
        names: std::collections::BTreeMap<String, Point>,
    }

    fn same<'a, T: Deserialize<'a> + std::fmt::Debug + PartialEq>(json: &'a str) {
        let ours = from_str::<T>(json).map_err(|e| e.to_string());
        let theirs = serde_json::from_str::<T>(json).map_err(|e| e.to_string());
        assert_eq!(ours, theirs, "{json}");
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
            same::<Point>(json);
        }
        let path = r#"{"start":{"x":1},"next":[{"x":2,"y":[3]}],"end":null,"names":{"a":{"x":4,"y":null}}}"#;
        for json in [path, r#"{"start":{"x":1},"next":[7],"end":{},"names":{}}"#, r#"{"start":5}"#] {
            same::<Path>(json);
        }
        assert!(serde_json::from_str::<Point>("[1,null]").is_ok());
        assert_eq!(
            from_str::<Point>("[1,null]").unwrap_err().to_string(),
            "invalid type: sequence, expected struct Point at line 1 column 0"
        );
        for nested in [
            r#"{"start":[1,null],"next":[],"end":null,"names":{}}"#,
            r#"{"start":{"x":1},"next":[[1,null]],"end":null,"names":{}}"#,
            r#"{"start":{"x":1},"next":[],"end":[1,null],"names":{}}"#,
            r#"{"start":{"x":1},"next":[],"end":null,"names":{"a":[1,null]}}"#,
        ] {
            assert!(serde_json::from_str::<Path>(nested).is_ok());
            let refused = from_str::<Path>(nested).unwrap_err().to_string();
            assert!(refused.starts_with("invalid type: sequence, expected struct Point"), "{nested}: {refused}");
        }
        assert_eq!(from_str::<Option<u32>>("null").unwrap(), None);
    }
}
