//! [`SortedMap`]: the small maps inside aggregate and saga states, as a sorted `Vec` of pairs.
//!
//! Every `BTreeMap<K, V>` compiles its own tree code, several KB of WebAssembly per key and value
//! type; a sorted `Vec` costs a binary search. The maps it serves hold a few entries (an account's
//! pending transfers, the saga's transfers in flight), so inserting into the middle is cheap.
//! It serializes exactly like a `BTreeMap`: a map in key order, the last of two equal keys kept.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, PartialEq, Eq)]
pub struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap { entries: Vec::new() }
    }
}

impl<K, V> SortedMap<K, V> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    fn find(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for SortedMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Deserialize<'de> for SortedMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(PhantomData<(K, V)>);

        impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
            type Value = SortedMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // serde's words for a `BTreeMap`, so errors read as they did.
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = SortedMap::default();
                while let Some((key, value)) = access.next_entry()? {
                    map.insert(key, value);
                }
                Ok(map)
            }
        }

        deserializer.deserialize_map(Entries(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn reads_and_writes_json_as_a_btree_map_does() {
        for json in [r#"{}"#, r#"{"b":2,"a":1,"c":3}"#, r#"{"a":1,"a":2}"#, r#"[]"#, r#"{"a":"x"}"#, r#"7"#] {
            let ours = serde_json::from_str::<SortedMap<String, u64>>(json);
            let theirs = serde_json::from_str::<BTreeMap<String, u64>>(json);
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => {
                    assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&theirs).unwrap());
                    assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
                }
                (Err(ours), Err(theirs)) => assert_eq!(ours.to_string(), theirs.to_string(), "{json}"),
                (ours, theirs) => panic!("{json}: {ours:?} vs {theirs:?}"),
            }
        }
    }

    #[test]
    fn keeps_keys_in_order() {
        let mut map = SortedMap::default();
        for (k, v) in [(3, "c"), (1, "a"), (2, "b")] {
            assert_eq!(map.insert(k, v), None);
        }
        assert_eq!(map.insert(2, "B"), Some("b"));
        assert_eq!(map.iter().collect::<Vec<_>>(), [(&1, &"a"), (&2, &"B"), (&3, &"c")]);
        assert_eq!((map.remove(&1), map.remove(&1), map.len()), (Some("a"), None, 2));
        assert!(map.contains_key(&3) && !map.contains_key(&1));
        *map.get_mut(&3).unwrap() = "C";
        assert_eq!(map.get(&3), Some(&"C"));
    }
}
