//! Showing numbers, times and JSON to people.

use serde_json::Value;

/// Minor units as money: `123456` in EUR is `1,234.56 EUR`.
pub fn money(minor_units: u64, currency: &str) -> String {
    let money = format!("{}.{:02}", count(minor_units / 100), minor_units % 100);
    if currency.is_empty() { money } else { format!("{money} {currency}") }
}

/// A JSON number of minor units as money; anything else as it is.
pub fn money_of(value: &Value, currency: &str) -> String {
    value.as_u64().map_or_else(|| value.to_string(), |n| money(n, currency))
}

/// A count with thousands separated: `12,345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Milliseconds since the epoch as a local time of day.
pub fn time(ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds()
    )
}

/// A value for people: a personal value as [`personal`] shows it, anything else as [`text`].
pub fn shown(value: &Value) -> String {
    personal(value).map_or_else(|| text(value), |(shown, _)| shown)
}

pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_string(),
        other => other.to_string(),
    }
}

/// One line of a diff between two JSON values.
#[derive(Clone, Debug, PartialEq)]
pub struct Changed {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The leaves that differ between `before` and `after`, with their paths (`balance`,
/// `pending.t-1`, `lines[0].quantity`).
pub fn diff(before: &Value, after: &Value) -> Vec<Changed> {
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Changed>) {
    // `null` is shown as absence: a document that did not exist yet is `null`.
    let (before, after) = (before.filter(|v| !v.is_null()), after.filter(|v| !v.is_null()));
    // A personal value is one leaf: what people see of it is `Alice <alice@…>` or `[forgotten]`.
    let personal = |v: Option<&Value>| v.is_some_and(|v| v.get("$personal").is_some());
    fn object(v: Option<&Value>) -> Option<&serde_json::Map<String, Value>> {
        v.and_then(Value::as_object)
    }
    match (before, after) {
        (a, b) if (personal(a) || personal(b)) && a != b => {
            out.push(Changed { path: path.to_string(), before: a.cloned(), after: b.cloned() })
        }
        // An object on either side (a document that appears or goes too): field by field.
        (a, b)
            if object(a).or(object(b)).is_some()
                && (a.is_none() || object(a).is_some())
                && (b.is_none() || object(b).is_some()) =>
        {
            let mut keys: Vec<&String> = object(a).into_iter().chain(object(b)).flat_map(|m| m.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                walk(&child, a.and_then(|a| a.get(key)), b.and_then(|b| b.get(key)), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                walk(&format!("{path}[{i}]"), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a != b => out.push(Changed { path: path.to_string(), before: a.cloned(), after: b.cloned() }),
        _ => {}
    }
}

/// A personal value (`{"$personal": subject, "value" | "redacted" | "sealed": …}`) for people:
/// its value while the subject is known, `forgotten` (or `unavailable`) in brackets once it is
/// redacted, so a visitor sees that something was there and that it is gone. `None` for a value
/// that is not personal.
pub fn personal(value: &Value) -> Option<(String, bool)> {
    value.get("$personal")?;
    if let Some(reason) = value.get("redacted") {
        return Some((format!("[{}]", text(reason)), true));
    }
    if value.get("sealed").is_some() {
        return Some(("[sealed]".to_string(), true));
    }
    let inner = &value["value"];
    let shown = match (inner.get("name"), inner.get("email")) {
        (Some(name), Some(email)) => format!("{} <{}>", text(name), text(email)),
        _ => text(inner),
    };
    Some((shown, false))
}

/// What a personal value (or its absence) shows in a cell.
pub fn personal_or_dash(value: &Value) -> (String, bool) {
    personal(value).unwrap_or_else(|| ("—".to_string(), false))
}

/// Whether an event's payload carries personal data, and whether it has been redacted: the
/// timeline marks such rows so the forgotten stay visibly gone while the log keeps its shape.
pub fn privacy_of(payload: &str) -> Option<&'static str> {
    fn walk(value: &Value, found: &mut Option<&'static str>) {
        match value {
            Value::Object(map) if map.contains_key("$personal") => {
                if map.contains_key("redacted") {
                    *found = Some("forgotten");
                } else if found.is_none() {
                    *found = Some("personal");
                }
            }
            Value::Object(map) => map.values().for_each(|v| walk(v, found)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    if !payload.contains("$personal") {
        return None;
    }
    let mut found = None;
    walk(&serde_json::from_str(payload).ok()?, &mut found);
    found
}

/// JSON text laid out for reading, two spaces an indent, by the browser's `JSON.stringify`:
/// serde_json's pretty printer would put a second JSON writer into the .wasm.
pub fn pretty(json: &str) -> String {
    let space = wasm_bindgen::JsValue::from_f64(2.0);
    js_sys::JSON::parse(json)
        .and_then(|value| js_sys::JSON::stringify_with_replacer_and_space(&value, &wasm_bindgen::JsValue::NULL, &space))
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| json.to_string())
}
