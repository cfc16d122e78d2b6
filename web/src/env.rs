//! The browser's clock and randomness, for the core's `Environment`.

use eventline_core::Environment;
use eventline_core::ids::{EventId, Timestamp};

/// `Date.now()` and `crypto.getRandomValues`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BrowserEnv;

/// Fills `bytes` from the browser's cryptographic RNG.
pub fn random_bytes(bytes: &mut [u8]) {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .ok()
        .and_then(|c| wasm_bindgen::JsCast::dyn_into::<web_sys::Crypto>(c).ok());
    match crypto.map(|c| c.get_random_values_with_u8_array(bytes)) {
        Some(Ok(_)) => {}
        // Every browser that has IndexedDB has crypto; should one not, ids stay unique by time
        // and a counter, just guessable.
        _ => {
            let now = js_sys::Date::now().to_bits().to_le_bytes();
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = now[i % 8] ^ (i as u8).wrapping_mul(31);
            }
        }
    }
}

/// The SHA-256 of `bytes`, in lower-case hex, by the browser's WebCrypto: no hash code in the
/// module, and fast.
pub async fn sha256_hex(bytes: &[u8]) -> Result<String, crate::Failure> {
    use wasm_bindgen::JsCast;
    let unavailable = |_| crate::Failure::new("Unsupported", "this browser has no WebCrypto digest (crypto.subtle)");
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).map_err(unavailable)?;
    let crypto = crypto.dyn_into::<web_sys::Crypto>().map_err(unavailable)?;
    let promise = crypto.subtle().digest_with_str_and_u8_array("SHA-256", bytes).map_err(unavailable)?;
    let digest = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(unavailable)?;
    let digest = js_sys::Uint8Array::new(&digest).to_vec();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new command id: a UUID v7 in text.
pub fn new_command_id() -> String {
    BrowserEnv.new_event_id(BrowserEnv.now()).to_string()
}

impl Environment for BrowserEnv {
    fn now(&self) -> Timestamp {
        Timestamp(js_sys::Date::now() as u64)
    }

    fn new_event_id(&self, at: Timestamp) -> EventId {
        let mut random = [0u8; 10];
        random_bytes(&mut random);
        EventId::v7(at, random)
    }
}
