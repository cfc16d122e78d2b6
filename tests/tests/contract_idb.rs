//! The EventStore contract against the IndexedDB store, in headless Chromium. Each check gets a
//! database of its own.
#![cfg(target_arch = "wasm32")]

use eventline_tests::{contract, for_each_contract_check};
use eventline_web::{IdbStore, idb};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

async fn fresh(name: &str) -> IdbStore {
    idb::delete(name).await.expect("an old test database can be deleted");
    IdbStore::open(name).await.expect("a new database opens")
}

macro_rules! idb_tests {
    ($($check:ident),+ $(,)?) => {$(
        #[wasm_bindgen_test]
        async fn $check() {
            let store = fresh(concat!("contract-", stringify!($check))).await;
            contract::$check(&store).await;
            store.close();
        }
    )+};
}

for_each_contract_check!(idb_tests);
