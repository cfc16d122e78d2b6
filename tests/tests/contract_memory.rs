//! The EventStore contract against the in-memory store, natively and in headless Chromium.

use eventline_core::memory::InMemoryStore;
use eventline_tests::{contract, for_each_contract_check, run_ready};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

macro_rules! memory_tests {
    ($($check:ident),+ $(,)?) => {$(
        #[wasm_bindgen_test(unsupported = test)]
        fn $check() {
            run_ready(contract::$check(&InMemoryStore::new()));
        }
    )+};
}

for_each_contract_check!(memory_tests);
