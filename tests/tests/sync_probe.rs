#![cfg(target_arch = "wasm32")]
use eventline_demo::web::DemoRuntime as Runtime;
use eventline_web::idb;
use eventline_web::runtime::SyncOptions;
use eventline_web::tabs::sleep;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn probe() {
    idb::delete("probe").await.unwrap();
    let rt = Runtime::open("probe").await.unwrap();
    rt.start_sync(SyncOptions {
        url: env!("EVENTLINE_SYNC_WS").into(),
        log: "demo".into(),
        user: "demo".into(),
        password: "demo-dev".into(),
    })
    .await
    .unwrap();
    for _ in 0..300 {
        sleep(100).await;
        let s = rt.sync_status();
        if s.server_sequence > 0 && s.state == "online" {
            break;
        }
    }
    web_sys::console::log_1(&format!("status {:?}", rt.sync_status()).into());
}
