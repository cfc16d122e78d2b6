//! Value types of the demo domains: amounts in minor units, currencies, entity ids.
//!
//! Each one validates itself when deserialized, so a malformed command is refused with a message
//! that names the problem before any domain rule runs.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use ts_rs::TS;

/// The largest amount or balance: JavaScript numbers hold every integer up to it exactly, so what a
/// JS caller sees is what the log holds.
pub const MAX_MINOR_UNITS: u64 = 9_007_199_254_740_991;

/// A positive amount of money in minor units (cents). Never a float, never zero or negative.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, TS)]
#[serde(transparent)]
#[ts(type = "number")]
pub struct Amount(u64);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an amount is a positive whole number of minor units (cents) up to {MAX_MINOR_UNITS}; got {0}")]
pub struct AmountError(pub String);

impl Amount {
    pub fn new(minor_units: u64) -> Result<Amount, AmountError> {
        if minor_units == 0 || minor_units > MAX_MINOR_UNITS {
            return Err(AmountError(minor_units.to_string()));
        }
        Ok(Amount(minor_units))
    }

    pub fn minor_units(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;

        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive whole number of minor units")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Amount::new(v).map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                Err(E::custom(AmountError(v.to_string())))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                // JSON has one number type: 100.0 is the whole number 100.
                if v.is_finite() && v.fract() == 0.0 && v >= 1.0 && v <= MAX_MINOR_UNITS as f64 {
                    Ok(Amount(v as u64))
                } else {
                    Err(E::custom(AmountError(v.to_string())))
                }
            }
        }

        deserializer.deserialize_any(AmountVisitor)
    }
}

/// An ISO 4217-style currency code: three upper-case letters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(try_from = "String", into = "String")]
#[ts(type = "string")]
pub struct Currency(Arc<str>);

impl Currency {
    pub fn eur() -> Currency {
        Currency("EUR".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::eur()
    }
}

impl TryFrom<String> for Currency {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(value.into()))
        } else {
            Err(format!(
                "a currency is three upper-case letters such as EUR; got {}",
                eventline_core::ids::quote(&value)
            ))
        }
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> String {
        value.0.to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of an account, order, customer or transfer: the core's checked id.
pub use eventline_core::ids::EntityId;

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> Result<Amount, String> {
        serde_json::from_str::<Amount>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn amounts_are_positive_whole_minor_units() {
        assert_eq!(amount("100").unwrap().minor_units(), 100);
        assert_eq!(amount("100.0").unwrap().minor_units(), 100);
        assert_eq!(amount("9007199254740991").unwrap().minor_units(), MAX_MINOR_UNITS);
        for bad in ["0", "-5", "1.5", "9007199254740992", "1e300", "\"100\"", "null", "true", "[1]"] {
            assert!(amount(bad).is_err(), "{bad} was accepted");
        }
        assert!(amount("-5").unwrap_err().contains("positive whole number"));
    }

    #[test]
    fn ids_and_currencies_validate() {
        assert!(EntityId::parse("acc-1").is_ok());
        assert!(EntityId::parse("alice@example.com").is_ok());
        for bad in ["", "a b", "x/y", "é", &"x".repeat(65)] {
            assert!(EntityId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<Currency>("\"EUR\"").is_ok());
        assert!(serde_json::from_str::<Currency>("\"eur\"").is_err());
    }
}
