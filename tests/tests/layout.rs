//! The IndexedDB record layout: single commands write small chunks, compaction merges them, and
//! every read gives the same answers before and after.
#![cfg(target_arch = "wasm32")]

use eventline_core::handler::CommandMeta;
use eventline_core::ids::{CommandId, Position, StreamId, StreamVersion};
use eventline_core::snapshot::SnapshotPolicy;
use eventline_core::store::{EventStore, read_whole_stream};
use eventline_demo::app::DemoApp;
use eventline_demo::command::parse_command;
use eventline_web::env::BrowserEnv;
use eventline_web::{IdbStore, idb};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn compaction_merges_small_chunks_and_changes_no_answer() {
    idb::delete("layout-compact").await.unwrap();
    let store = IdbStore::open("layout-compact").await.unwrap();
    let app = DemoApp::new(&store, BrowserEnv, SnapshotPolicy::Never);
    let mut commands = vec![
        r#"{"type":"OpenAccount","account":"a"}"#.to_string(),
        r#"{"type":"OpenAccount","account":"b"}"#.to_string(),
    ];
    for i in 0..600 {
        commands.push(format!(
            r#"{{"type":"Deposit","account":"{}","amount":{}}}"#,
            if i % 3 == 0 { "a" } else { "b" },
            i + 1
        ));
    }
    commands.push(r#"{"type":"Transfer","from":"a","to":"b","amount":5}"#.to_string());
    for (i, json) in commands.iter().enumerate() {
        app.execute(CommandMeta::new(format!("c{i}")), &parse_command(json).unwrap().command).await.unwrap();
    }
    assert_eq!(store.chunk_count().await.unwrap(), 603, "one small record per command");

    let log = store.read_all(Position::ZERO, 10_000).await.unwrap();
    let stream_b = read_whole_stream(&store, &StreamId::from("account-b"), StreamVersion::NONE).await.unwrap();
    let transfer = store.find_commit(&CommandId::from("c602")).await.unwrap().unwrap();
    assert_eq!(transfer.events.len(), 2);

    // A pass looks at a window of chunks (so it holds the log's store briefly); passes go on
    // until there is nothing left to merge.
    let mut replaced = 0;
    loop {
        match store.compact().await.unwrap() {
            0 => break,
            n => replaced += n,
        }
    }
    assert!(replaced >= 603, "every small chunk was merged: {replaced}");
    assert!(store.chunk_count().await.unwrap() <= 3, "merged into chunks of up to 1024 events");
    assert_eq!(store.read_all(Position::ZERO, 10_000).await.unwrap(), log);
    assert_eq!(read_whole_stream(&store, &StreamId::from("account-b"), StreamVersion::NONE).await.unwrap(), stream_b);
    assert_eq!(store.read_all(Position(300), 7).await.unwrap(), log[300..307].to_vec());
    assert_eq!(store.find_commit(&CommandId::from("c602")).await.unwrap().unwrap(), transfer);
    assert_eq!(store.read_stream(&StreamId::from("account-a"), StreamVersion(100), 3).await.unwrap().len(), 3);

    // Writing goes on after compaction, and a second pass finds little to do.
    app.execute(
        CommandMeta::new("after"),
        &parse_command(r#"{"type":"Deposit","account":"a","amount":1}"#).unwrap().command,
    )
    .await
    .unwrap();
    assert_eq!(store.head().await.unwrap(), Position(605));
    assert_eq!(store.compact().await.unwrap(), 0);
    store.close();
}
