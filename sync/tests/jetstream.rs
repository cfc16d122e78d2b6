//! The sync model against a real nats-server (started from `sync/nats/`): a commit per stream
//! conflicts only on its streams, a multi-stream commit is all or nothing, a retried push is
//! stored once, what is pulled comes back in the server's order and anything foreign on a log's
//! subjects is refused with a reason while the rest is read; each log's user reaches that log
//! alone; a subject's key reaches the log's other devices and forgetting erases it from the
//! server's files; and an R3 log on a three-node cluster keeps every commit once while a node is
//! killed.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use eventline_core::envelope::{EventMetadata, RecordedEvent};
use eventline_core::ids::{EventId, Position, StreamId, StreamVersion, Timestamp};
use eventline_core::store::CommitReceipt;
use eventline_core::sync::{Answer, subject};
use eventline_sync::client::LogClient;
use eventline_sync::server::{ADMIN_PASSWORD, ALPHA, BETA, Servers, admin as admin_user, free_port};
use eventline_sync::{SyncError, log};

/// A commit of `command` writing `events` events to each stream, after the version given.
fn commit(command: &str, writes: &[(&str, u64, usize)]) -> CommitReceipt {
    let mut events = Vec::new();
    for (stream, before, count) in writes {
        for i in 0..*count {
            events.push(RecordedEvent {
                meta: EventMetadata {
                    event_id: EventId(uuid_of(command, stream, i)),
                    stream: StreamId::from(*stream),
                    version: StreamVersion(before + i as u64 + 1),
                    position: Position(0),
                    recorded_at: Timestamp(1_700_000_000_000),
                    command_id: command.into(),
                    correlation_id: command.into(),
                    causation_id: command.into(),
                },
                event_type: Arc::from("MoneyDeposited"),
                schema_version: 1,
                payload: Arc::from(format!(r#"{{"amount":{}}}"#, i + 1)),
            });
        }
    }
    CommitReceipt { command_id: command.into(), events, digest: None }
}

fn uuid_of(command: &str, stream: &str, i: usize) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    let text = format!("{command}/{stream}/{i}");
    for (n, b) in text.bytes().enumerate() {
        bytes[n % 16] = bytes[n % 16].wrapping_mul(31).wrapping_add(b);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes)
}

/// The server tool of log `log`.
async fn admin(servers: &Servers, log: &str) -> LogClient {
    LogClient::connect(&servers.urls(), log, &admin_user(log), ADMIN_PASSWORD).await.expect("the server tool connects")
}

async fn alpha(servers: &Servers) -> LogClient {
    LogClient::connect(&servers.urls(), "alpha", ALPHA.0, ALPHA.1).await.expect("alpha's device connects")
}

#[tokio::test]
async fn commits_conflict_per_stream_are_atomic_and_stored_once() {
    let servers = Servers::single("model").unwrap();
    log::create(&admin(&servers, "alpha").await.js, "alpha", 1).await.unwrap();
    let (a, b) = (alpha(&servers).await, alpha(&servers).await);
    let none = |_: &StreamId| 0;

    // Two devices, two streams: no conflict.
    assert_eq!(a.push(&commit("c1", &[("account-a", 0, 2)]), &none, "c1.1").await.unwrap(), Answer::Stored { seq: 1 });
    assert_eq!(b.push(&commit("c2", &[("account-b", 0, 1)]), &none, "c2.1").await.unwrap(), Answer::Stored { seq: 2 });
    // The same stream, not having seen the other's commit: a conflict, nothing stored.
    assert_eq!(b.push(&commit("c3", &[("account-a", 0, 1)]), &none, "c3.1").await.unwrap(), Answer::Conflict);
    assert_eq!(a.last_sequence().await.unwrap(), 2);
    // Decided again on what it now knows: stored.
    let seen = |s: &StreamId| if s.as_str() == "account-a" { 1 } else { 0 };
    assert_eq!(b.push(&commit("c3", &[("account-a", 2, 1)]), &seen, "c3.2").await.unwrap(), Answer::Stored { seq: 3 });
    // A push retried (its answer lost): already stored, nothing twice.
    assert_eq!(a.push(&commit("c1", &[("account-a", 0, 2)]), &none, "c1.2").await.unwrap(), Answer::AlreadyStored);
    assert_eq!(a.last_sequence().await.unwrap(), 3);
    // Two streams in one commit, one expectation stale: nothing stored at all.
    let stale = |s: &StreamId| if s.as_str() == "account-a" { 3 } else { 0 };
    let transfer = commit("c4", &[("account-a", 3, 1), ("account-b", 1, 1)]);
    assert_eq!(a.push(&transfer, &stale, "c4.1").await.unwrap(), Answer::Conflict);
    assert_eq!(a.last_sequence().await.unwrap(), 3);
    let fresh = |s: &StreamId| if s.as_str() == "account-a" { 3 } else { 2 };
    assert_eq!(a.push(&transfer, &fresh, "c4.2").await.unwrap(), Answer::Stored { seq: 5 });

    // Something that is not an Eventline commit, on the log's subjects: refused, and the rest read.
    let admin = admin(&servers, "alpha").await;
    admin.js.publish(subject("alpha", &StreamId::from("account-x")), "hello".into()).await.unwrap().await.unwrap();
    let after = commit("c5", &[("account-b", 2, 1)]);
    let seen = |s: &StreamId| if s.as_str() == "account-b" { 5 } else { 0 };
    assert_eq!(b.push(&after, &seen, "c5.1").await.unwrap(), Answer::Stored { seq: 7 });

    let pulled = b.pull(0).await.unwrap();
    let read: Vec<(u64, Result<String, &str>)> = pulled
        .iter()
        .map(|p| (p.seq, p.commit.as_ref().map(|c| c.command_id.to_string()).map_err(|e| e.code)))
        .collect();
    assert_eq!(
        read,
        vec![
            (1, Ok("c1".into())),
            (2, Ok("c2".into())),
            (3, Ok("c3".into())),
            (5, Ok("c4".into())),
            (6, Err("ForeignMessage")),
            (7, Ok("c5".into())),
        ]
    );
    let c4 = pulled[3].commit.as_ref().unwrap();
    let streams: Vec<(&str, usize)> = c4.writes.iter().map(|w| (w.stream.as_str(), w.events.len())).collect();
    assert_eq!(streams, vec![("account-a", 1), ("account-b", 1)]);
    assert_eq!(&*c4.writes[0].events[0].payload, r#"{"amount":1}"#);
    // From a later sequence, only what follows.
    let tail: Vec<u64> = b.pull(5).await.unwrap().iter().map(|p| p.seq).collect();
    assert_eq!(tail, vec![6, 7]);
}

#[tokio::test]
async fn only_a_logs_user_reads_and_writes_it() {
    let servers = Servers::single("permissions").unwrap();
    log::create(&admin(&servers, "alpha").await.js, "alpha", 1).await.unwrap();
    log::create(&admin(&servers, "beta").await.js, "beta", 1).await.unwrap();
    let none = |_: &StreamId| 0;
    let own = alpha(&servers).await;
    assert_eq!(
        own.push(&commit("a1", &[("account-a", 0, 1)]), &none, "a1.1").await.unwrap(),
        Answer::Stored { seq: 1 }
    );

    // Alpha's user on log beta: neither writes nor reads it, by any of the ways a device has (each
    // refused request times out: the server answers nothing to what it forbids, so all at once).
    let intruder = LogClient::connect(&servers.urls(), "beta", ALPHA.0, ALPHA.1).await.unwrap();
    let direct = intruder.js.get_stream_no_info("EL_beta").await.unwrap();
    let ordered = async_nats::jetstream::consumer::pull::OrderedConfig::default();
    let forged = commit("x1", &[("account-a", 0, 1)]);
    let (pushed, pulled, consumer, got) = tokio::join!(
        intruder.push(&forged, &none, "x1.1"),
        intruder.pull(0),
        intruder.js.create_consumer_on_stream(ordered, "EL_beta"),
        direct.direct_get_last_for_subject("el.beta.s.account.a"),
    );
    assert!(!matches!(pushed, Ok(Answer::Stored { .. }) | Ok(Answer::AlreadyStored)), "{pushed:?}");
    assert!(pulled.is_err(), "alpha's user read log beta");
    assert!(consumer.is_err(), "alpha's user made a consumer on log beta");
    assert!(got.is_err(), "alpha's user read log beta's last message");
    // Nor through a consumer of its own log that delivers onto beta's subjects: a push consumer's
    // delivery subject is a subject of its own account, and beta is another account.
    let deliver = async_nats::jetstream::consumer::push::Config {
        deliver_subject: "el.beta.s.account.a".into(),
        ..Default::default()
    };
    let relay = own.js.create_consumer_on_stream(deliver, "EL_alpha").await;
    assert!(relay.is_ok(), "the relay was not even tried: {:?}", relay.err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let beta = LogClient::connect(&servers.urls(), "beta", BETA.0, BETA.1).await.unwrap();
    assert_eq!(beta.last_sequence().await.unwrap(), 0, "nothing of alpha's reached beta");
    // Beta's user cannot read alpha.
    let other = LogClient::connect(&servers.urls(), "alpha", BETA.0, BETA.1).await.unwrap();
    assert!(other.pull(0).await.is_err(), "beta's user read log alpha");

    // A wrong password and a server that is not there: typed failures, not hangs.
    let refused = LogClient::connect(&servers.urls(), "alpha", ALPHA.0, "wrong").await.err().map(|e: SyncError| e.code);
    assert_eq!(refused, Some("Unauthorized"));
    let nowhere = vec![format!("nats://127.0.0.1:{}", free_port())];
    let started = std::time::Instant::now();
    let unreachable = LogClient::connect(&nowhere, "alpha", ALPHA.0, ALPHA.1).await.err().map(|e| e.code);
    assert_eq!(unreachable, Some("Unreachable"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// An outbox's way: several pending commits in one atomic batch, read back apart.
#[tokio::test]
async fn pending_commits_go_as_one_batch_and_come_back_as_commits() {
    let servers = Servers::single("outbox").unwrap();
    log::create(&admin(&servers, "alpha").await.js, "alpha", 1).await.unwrap();
    let device = alpha(&servers).await;
    let pending = [
        commit("p1", &[("account-a", 0, 2)]),
        commit("p2", &[("account-a", 2, 1), ("account-b", 0, 1)]),
        commit("p3", &[("account-a", 3, 1)]),
    ];
    let none = |_: &StreamId| 0;
    assert_eq!(device.push_all(&pending, &none, "b.1").await.unwrap(), Answer::Stored { seq: 4 });
    // Again (its answer lost): nothing twice.
    assert_eq!(device.push_all(&pending, &none, "b.2").await.unwrap(), Answer::AlreadyStored);
    // A batch whose one expectation is stale stores none of its commits.
    let more = [commit("p4", &[("account-b", 1, 1)]), commit("p5", &[("account-a", 4, 1)])];
    let stale = |s: &StreamId| if s.as_str() == "account-a" { 2 } else { 3 };
    assert_eq!(device.push_all(&more, &stale, "c.1").await.unwrap(), Answer::Conflict);
    assert_eq!(device.last_sequence().await.unwrap(), 4);
    let read: Vec<(u64, String)> =
        device.pull(0).await.unwrap().into_iter().map(|p| (p.seq, p.commit.unwrap().command_id.to_string())).collect();
    assert_eq!(read, vec![(1, "p1".to_string()), (3, "p2".to_string()), (4, "p3".to_string())]);
}

/// Every file under `dir` that holds `marker`.
fn files_holding(dir: &std::path::Path, marker: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, marker));
        } else if std::fs::read(&path).is_ok_and(|bytes| bytes.windows(marker.len()).any(|w| w == marker)) {
            found.push(path.display().to_string());
        }
    }
    found
}

#[tokio::test]
async fn a_subjects_key_reaches_the_other_devices_and_forgetting_erases_it() {
    let servers = Servers::single("keys").unwrap();
    log::create(&admin(&servers, "alpha").await.js, "alpha", 1).await.unwrap();
    log::create(&admin(&servers, "beta").await.js, "beta", 1).await.unwrap();
    let (one, other) = (alpha(&servers).await, alpha(&servers).await);
    let key = b"KEY-OF-cust:1@x-0123456789abcdef";
    one.put_key("cust:1@x", key).await.unwrap();
    assert_eq!(other.key("cust:1@x").await.unwrap().as_deref(), Some(&key[..]), "the other device has it");
    let beta = LogClient::connect(&servers.urls(), "beta", BETA.0, BETA.1).await.unwrap();
    assert_eq!(beta.key("cust:1@x").await.ok().flatten(), None, "another log's device has it");
    let store = &servers.nodes[0].store;
    assert!(!files_holding(store, key).is_empty(), "the test looks for the key where it is not");

    other.forget_key("cust:1@x").await.unwrap();
    assert_eq!(one.key("cust:1@x").await.unwrap(), None, "forgotten on every device");
    let left = files_holding(store, key);
    assert!(left.is_empty(), "the key's bytes are still in {left:?}");
    // Forgetting again, or someone never known, is no error.
    one.forget_key("cust:1@x").await.unwrap();
    one.forget_key("nobody").await.unwrap();
}

/// One device pushes 150 commits over 10 streams to an R3 log; after 50 the node leading the
/// log is killed. Every push is retried until the server answers it (a new leader is elected
/// within seconds); afterwards the log holds every commit exactly once, in its stream's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_r3_log_keeps_every_commit_once_while_a_node_is_killed() {
    let mut servers = Servers::cluster("cluster").unwrap();
    let admin = admin(&servers, "alpha").await;
    log::create(&admin.js, "alpha", 3).await.unwrap();
    let device = alpha(&servers).await;
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut last_seen: HashMap<String, u64> = HashMap::new();
    let (mut retries, mut already) = (0, 0);
    for n in 0..150 {
        if n == 50 {
            let mut stream = admin.js.get_stream("EL_alpha").await.unwrap();
            let leader = stream.info().await.unwrap().cluster.as_ref().and_then(|c| c.leader.clone()).unwrap();
            let i = servers.nodes.iter().position(|node| node.name == leader).unwrap();
            servers.kill(i);
        }
        let stream = format!("account-s{}", n % 10);
        let before = *versions.get(&stream).unwrap_or(&0);
        let receipt = commit(&format!("c{n}"), &[(&stream, before, 1)]);
        let mut attempt = 0;
        loop {
            attempt += 1;
            assert!(attempt < 200, "commit {n} never stored");
            let seen = |s: &StreamId| *last_seen.get(s.as_str()).unwrap_or(&0);
            match device.push(&receipt, &seen, &format!("c{n}.{attempt}")).await {
                Ok(Answer::Stored { seq }) => {
                    last_seen.insert(stream.clone(), seq);
                    break;
                }
                Ok(Answer::AlreadyStored) => {
                    // The answer was lost, the commit is there: learn its sequence from the log.
                    already += 1;
                    let pulled = device.pull(0).await.unwrap();
                    let seq = pulled
                        .iter()
                        .rev()
                        .find(|p| p.commit.as_ref().is_ok_and(|c| c.writes[0].stream.as_str() == stream))
                        .unwrap()
                        .seq;
                    last_seen.insert(stream.clone(), seq);
                    break;
                }
                Ok(Answer::Retry) | Err(_) => {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(other) => panic!("commit {n}: {other:?}"),
            }
        }
        versions.insert(stream, before + 1);
    }
    assert!(retries > 0, "the kill was not felt: the test proves nothing");
    // Reading can time out too while the cluster settles after the kill (a consumer's leader
    // still being placed): a device reads again, as it pushes again.
    let mut reads = 0;
    let pulled = loop {
        match device.pull(0).await {
            Ok(pulled) => break pulled,
            Err(error) if reads < 10 => {
                reads += 1;
                eprintln!("reading again after: {error:?}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => panic!("the log cannot be read after {reads} attempts: {error:?}"),
        }
    };
    let commands: Vec<String> = pulled.iter().map(|p| p.commit.as_ref().unwrap().command_id.to_string()).collect();
    assert_eq!(commands.len(), 150, "{retries} retries, {already} already stored");
    assert_eq!(commands.iter().collect::<HashSet<_>>().len(), 150, "a commit stored twice");
    let mut next: HashMap<String, u64> = HashMap::new();
    for p in &pulled {
        for write in &p.commit.as_ref().unwrap().writes {
            let version = next.entry(write.stream.to_string()).or_insert(0);
            let expected = if *version == 0 {
                eventline_core::version::ExpectedVersion::NoStream
            } else {
                eventline_core::version::ExpectedVersion::Exact(StreamVersion(*version))
            };
            assert_eq!(write.expected, expected, "{} out of order", write.stream);
            *version += write.events.len() as u64;
        }
    }
}
