//! The `EventStore` contract: what every store must do, written once and run against each store
//! (`tests/tests/contract_memory.rs`, and the IndexedDB store's suite in the browser).
//!
//! Each check takes a fresh, empty store.

use eventline_core::ids::{CommandId, EventId, Position, StreamId, StreamVersion, Timestamp};
use eventline_core::personal::SUBJECT_FORGOTTEN;
use eventline_core::snapshot::{Snapshot, SnapshotStore};
use eventline_core::store::SubjectStatus;
use eventline_core::store::{AppendError, CommandDigest, Commit, CommitReceipt, EventStore, StreamWrite};
use eventline_core::version::{ExpectedVersion, WrongExpectedVersion};
use eventline_core::{NewEvent, RecordedEvent};

/// Lists every check, for the macros that turn them into tests.
#[macro_export]
macro_rules! for_each_contract_check {
    ($callback:ident) => {
        $callback!(
            appends_assign_versions_and_positions,
            expected_version_any_no_stream_stream_exists_exact,
            a_multi_stream_commit_is_all_or_nothing,
            positions_are_gapless_and_pages_read_in_order,
            a_command_id_commits_once,
            a_batch_is_all_or_nothing_and_sees_itself,
            malformed_commits_are_refused,
            recorded_time_never_goes_backwards,
            events_come_back_exactly_as_written,
            snapshots_keep_the_newest,
            personal_values_read_back_until_their_subject_is_forgotten,
            a_command_id_remembers_what_it_was_for,
            personal_data_is_only_about_valid_subjects,
        );
    };
}

fn event(n: u64, payload: &str) -> NewEvent {
    let mut random = [0u8; 10];
    random[2..].copy_from_slice(&n.to_be_bytes());
    NewEvent {
        event_id: EventId::v7(Timestamp(1_700_000_000_000 + n), random),
        event_type: "Noted".into(),
        schema_version: 1,
        payload: payload.into(),
    }
}

fn write(stream: &str, expected: ExpectedVersion, events: Vec<NewEvent>) -> StreamWrite {
    StreamWrite { stream: StreamId::from(stream), expected, events }
}

fn commit(command_id: &str, writes: Vec<StreamWrite>) -> Commit {
    Commit {
        command_id: command_id.into(),
        correlation_id: "corr".into(),
        causation_id: command_id.into(),
        recorded_at: Timestamp(1_700_000_000_000),
        writes,
        digest: None,
    }
}

fn single(command_id: &str, stream: &str, expected: ExpectedVersion, count: u64) -> Commit {
    let events = (0..count).map(|i| event(i, &format!(r#"{{"n":{i}}}"#))).collect();
    commit(command_id, vec![write(stream, expected, events)])
}

async fn all<S: EventStore>(store: &S) -> Vec<RecordedEvent> {
    store.read_all(Position::ZERO, usize::MAX).await.unwrap()
}

fn positions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.meta.position.0).collect()
}

pub async fn appends_assign_versions_and_positions<S: EventStore>(store: &S) {
    assert_eq!(store.head().await.unwrap(), Position::ZERO);
    let first = store.append(single("c1", "s-a", ExpectedVersion::NoStream, 2)).await.unwrap();
    let second = store.append(single("c2", "s-b", ExpectedVersion::NoStream, 1)).await.unwrap();
    let third = store.append(single("c3", "s-a", ExpectedVersion::Exact(StreamVersion(2)), 1)).await.unwrap();

    let versions: Vec<_> =
        first.events.iter().chain(&third.events).map(|e| (e.meta.version.0, e.meta.position.0)).collect();
    assert_eq!(versions, vec![(1, 1), (2, 2), (3, 4)]);
    assert_eq!((second.first_position(), second.last_position()), (Position(3), Position(3)));
    assert_eq!(store.head().await.unwrap(), Position(4));
    assert_eq!(store.stream_version(&StreamId::from("s-a")).await.unwrap(), StreamVersion(3));
    assert_eq!(store.stream_version(&StreamId::from("s-none")).await.unwrap(), StreamVersion(0));

    let stream = store.read_stream(&StreamId::from("s-a"), StreamVersion::NONE, 100).await.unwrap();
    let expected: Vec<RecordedEvent> = first.events.iter().chain(&third.events).cloned().collect();
    assert_eq!(stream, expected, "a stream reads back what its receipts said");
    let log = all(store).await;
    assert_eq!(positions(&log), vec![1, 2, 3, 4]);
    assert_eq!(log[2], second.events[0]);
    assert!(store.read_stream(&StreamId::from("s-none"), StreamVersion::NONE, 10).await.unwrap().is_empty());
}

pub async fn expected_version_any_no_stream_stream_exists_exact<S: EventStore>(store: &S) {
    use ExpectedVersion::*;
    let refused = |result: Result<CommitReceipt, AppendError>| match result {
        Err(AppendError::WrongExpectedVersion(e)) => e,
        other => panic!("expected a wrong expected version, got {other:?}"),
    };
    let e = refused(store.append(single("x1", "s", StreamExists, 1)).await);
    assert_eq!(
        e,
        WrongExpectedVersion { stream: StreamId::from("s"), expected: StreamExists, actual: StreamVersion(0) }
    );
    let e = refused(store.append(single("x2", "s", Exact(StreamVersion(1)), 1)).await);
    assert_eq!(e.actual, StreamVersion(0));

    store.append(single("ok1", "s", NoStream, 1)).await.unwrap();
    let e = refused(store.append(single("x3", "s", NoStream, 1)).await);
    assert_eq!((e.expected, e.actual), (NoStream, StreamVersion(1)));
    store.append(single("ok2", "s", StreamExists, 1)).await.unwrap();
    store.append(single("ok3", "s", Exact(StreamVersion(2)), 1)).await.unwrap();
    let e = refused(store.append(single("x4", "s", Exact(StreamVersion(2)), 1)).await);
    assert_eq!((e.expected, e.actual), (Exact(StreamVersion(2)), StreamVersion(3)));
    store.append(single("ok4", "s", Any, 1)).await.unwrap();
    store.append(single("ok5", "t", Any, 1)).await.unwrap();
    assert_eq!(store.stream_version(&StreamId::from("s")).await.unwrap(), StreamVersion(4));
    assert_eq!(store.head().await.unwrap(), Position(5), "refused commits leave no trace");
}

pub async fn a_multi_stream_commit_is_all_or_nothing<S: EventStore>(store: &S) {
    store.append(single("setup", "s-b", ExpectedVersion::NoStream, 1)).await.unwrap();
    let both = commit(
        "both",
        vec![
            write("s-a", ExpectedVersion::NoStream, vec![event(1, "{}")]),
            write("s-b", ExpectedVersion::Exact(StreamVersion(1)), vec![event(2, "{}"), event(3, "{}")]),
        ],
    );
    let receipt = store.append(both).await.unwrap();
    let written: Vec<_> =
        receipt.events.iter().map(|e| (e.meta.stream.to_string(), e.meta.version.0, e.meta.position.0)).collect();
    assert_eq!(written, vec![("s-a".into(), 1, 2), ("s-b".into(), 2, 3), ("s-b".into(), 3, 4)]);
    assert!(receipt.events.iter().all(|e| e.meta.command_id == CommandId::from("both")));

    // The second write's expectation fails: the first must not be written either.
    let broken = commit(
        "broken",
        vec![
            write("s-c", ExpectedVersion::NoStream, vec![event(4, "{}")]),
            write("s-b", ExpectedVersion::Exact(StreamVersion(1)), vec![event(5, "{}")]),
        ],
    );
    assert!(matches!(store.append(broken).await, Err(AppendError::WrongExpectedVersion(_))));
    assert_eq!(store.head().await.unwrap(), Position(4));
    assert_eq!(store.stream_version(&StreamId::from("s-c")).await.unwrap(), StreamVersion(0));
    assert!(store.find_commit(&CommandId::from("broken")).await.unwrap().is_none());
}

pub async fn positions_are_gapless_and_pages_read_in_order<S: EventStore>(store: &S) {
    for i in 0..25 {
        let stream = format!("s-{}", i % 3);
        store.append(single(&format!("c{i}"), &stream, ExpectedVersion::Any, 1 + i % 4)).await.unwrap();
    }
    let log = all(store).await;
    let head = store.head().await.unwrap();
    assert_eq!(positions(&log), (1..=head.0).collect::<Vec<_>>());

    let mut paged = Vec::new();
    let mut after = Position::ZERO;
    loop {
        let page = store.read_all(after, 7).await.unwrap();
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        after = last.meta.position;
        paged.extend(page);
    }
    assert_eq!(paged, log);
    assert!(store.read_all(head, 10).await.unwrap().is_empty());

    let stream = StreamId::from("s-1");
    let whole = store.read_stream(&stream, StreamVersion::NONE, usize::MAX).await.unwrap();
    let versions: Vec<_> = whole.iter().map(|e| e.meta.version.0).collect();
    assert_eq!(versions, (1..=whole.len() as u64).collect::<Vec<_>>());
    assert!(whole.windows(2).all(|w| w[0].meta.position < w[1].meta.position));
    let tail = store.read_stream(&stream, StreamVersion(3), 2).await.unwrap();
    assert_eq!(tail, whole[3..5].to_vec());
}

pub async fn a_command_id_commits_once<S: EventStore>(store: &S) {
    let first = store.append(single("once", "s", ExpectedVersion::Any, 2)).await.unwrap();
    match store.append(single("once", "other", ExpectedVersion::Any, 1)).await {
        Err(AppendError::DuplicateCommand(receipt)) => assert_eq!(*receipt, first),
        other => panic!("expected the first commit back, got {other:?}"),
    }
    assert_eq!(store.head().await.unwrap(), Position(2));
    // Even when the retry's expectation no longer holds, it gets its first commit back.
    match store.append(single("once", "s", ExpectedVersion::NoStream, 1)).await {
        Err(AppendError::DuplicateCommand(receipt)) => assert_eq!(*receipt, first),
        other => panic!("expected the first commit back, got {other:?}"),
    }
    assert_eq!(store.find_commit(&CommandId::from("once")).await.unwrap(), Some(first));
    assert_eq!(store.find_commit(&CommandId::from("never")).await.unwrap(), None);
}

pub async fn a_batch_is_all_or_nothing_and_sees_itself<S: EventStore>(store: &S) {
    let batch = vec![
        single("b1", "s", ExpectedVersion::NoStream, 2),
        single("b2", "s", ExpectedVersion::Exact(StreamVersion(2)), 1),
        single("b3", "t", ExpectedVersion::NoStream, 1),
    ];
    let receipts = store.append_batch(batch).await.unwrap();
    assert_eq!(receipts.iter().map(|r| r.last_position().0).collect::<Vec<_>>(), vec![2, 3, 4]);

    let failing = vec![
        single("b4", "u", ExpectedVersion::NoStream, 1),
        single("b5", "s", ExpectedVersion::Exact(StreamVersion(1)), 1),
    ];
    assert!(matches!(store.append_batch(failing).await, Err(AppendError::WrongExpectedVersion(_))));
    let duplicate_inside = vec![single("b6", "v", ExpectedVersion::Any, 1), single("b6", "w", ExpectedVersion::Any, 1)];
    assert!(matches!(store.append_batch(duplicate_inside).await, Err(AppendError::DuplicateCommand(_))));
    assert_eq!(store.head().await.unwrap(), Position(4));
    assert_eq!(store.stream_version(&StreamId::from("u")).await.unwrap(), StreamVersion(0));
    assert!(store.find_commit(&CommandId::from("b6")).await.unwrap().is_none());
    assert!(store.append_batch(Vec::new()).await.unwrap().is_empty());
}

pub async fn malformed_commits_are_refused<S: EventStore>(store: &S) {
    let invalid = |result: Result<CommitReceipt, AppendError>| matches!(result, Err(AppendError::InvalidCommit(_)));
    assert!(invalid(store.append(commit("no-writes", vec![])).await));
    assert!(invalid(store.append(commit("no-events", vec![write("s", ExpectedVersion::Any, vec![])])).await));
    let twice = vec![
        write("s", ExpectedVersion::Any, vec![event(1, "{}")]),
        write("s", ExpectedVersion::Any, vec![event(2, "{}")]),
    ];
    assert!(invalid(store.append(commit("twice", twice)).await));
    assert!(invalid(store.append(single("", "s", ExpectedVersion::Any, 1)).await));
    assert_eq!(store.head().await.unwrap(), Position::ZERO);
}

pub async fn recorded_time_never_goes_backwards<S: EventStore>(store: &S) {
    let mut late = single("late", "s", ExpectedVersion::Any, 1);
    late.recorded_at = Timestamp(2_000_000_000_000);
    store.append(late).await.unwrap();
    let mut early = single("early", "s", ExpectedVersion::Any, 1);
    early.recorded_at = Timestamp(1_000_000_000_000);
    let receipt = store.append(early).await.unwrap();
    assert_eq!(receipt.events[0].meta.recorded_at, Timestamp(2_000_000_000_000));
}

pub async fn events_come_back_exactly_as_written<S: EventStore>(store: &S) {
    let payload = r#"{"text":"naïve café 日本 \"quoted\" \\ back","n":-1.5e3,"nested":{"a":[1,null,true]}}"#;
    let mut odd = event(9, payload);
    odd.event_type = "Ünïcode.Type".into();
    odd.schema_version = 65535;
    let receipt =
        store.append(commit("exact", vec![write("s-ü", ExpectedVersion::Any, vec![odd.clone()])])).await.unwrap();
    let back = &all(store).await[0];
    assert_eq!(back, &receipt.events[0]);
    assert_eq!(
        (&*back.payload, &*back.event_type, back.schema_version, back.meta.event_id),
        (payload, "Ünïcode.Type", 65535, odd.event_id)
    );
    assert_eq!(back.meta.stream.as_str(), "s-ü");
}

pub async fn snapshots_keep_the_newest<S: EventStore + SnapshotStore>(store: &S) {
    let stream = StreamId::from("account-x");
    assert_eq!(store.load_snapshot(&stream).await.unwrap(), None);
    let at = |version, state: &str| Snapshot {
        stream: stream.clone(),
        version: StreamVersion(version),
        state_version: 1,
        state: state.into(),
    };
    store.save_snapshot(at(10, r#"{"v":10}"#)).await.unwrap();
    store.save_snapshot(at(5, r#"{"v":5}"#)).await.unwrap();
    assert_eq!(store.load_snapshot(&stream).await.unwrap(), Some(at(10, r#"{"v":10}"#)));
    store.save_snapshot(at(20, r#"{"v":20}"#)).await.unwrap();
    assert_eq!(store.load_snapshot(&stream).await.unwrap().unwrap().version, StreamVersion(20));
}

pub async fn personal_values_read_back_until_their_subject_is_forgotten<S: EventStore + SnapshotStore>(store: &S) {
    let ada = r#"{"holder":{"$personal":"p-ada","value":{"name":"Ada Lovelace","email":"ada@example.org"}},"n":1}"#;
    let bob = r#"{"address":{"$personal":"p-bob","value":"1 Main Street"}}"#;
    let both = format!(r#"{{"a":{ada},"b":{bob}}}"#);
    store.append(commit("w-ada", vec![write("s-ada", ExpectedVersion::Any, vec![event(1, ada)])])).await.unwrap();
    store.append(commit("w-both", vec![write("s-both", ExpectedVersion::Any, vec![event(2, &both)])])).await.unwrap();
    store
        .save_snapshot(Snapshot {
            stream: "s-ada".into(),
            version: StreamVersion(1),
            state_version: 1,
            state: ada.into(),
        })
        .await
        .unwrap();
    assert_eq!(store.subject("p-ada").await.unwrap(), SubjectStatus::Known);
    assert_eq!(store.subject("p-bob").await.unwrap(), SubjectStatus::Known);
    assert_eq!(store.subject("p-nobody").await.unwrap(), SubjectStatus::Unknown);
    let log = all(store).await;
    assert_eq!((&*log[0].payload, &*log[1].payload), (ada, both.as_str()), "read back exactly as written");

    let mut forget = event(3, r#"{"subject":"p-ada"}"#);
    forget.event_type = SUBJECT_FORGOTTEN.into();
    store
        .append(commit("forget-ada", vec![write("subject-p-ada", ExpectedVersion::NoStream, vec![forget])]))
        .await
        .unwrap();
    assert_eq!(store.subject("p-ada").await.unwrap(), SubjectStatus::Forgotten);
    assert_eq!(store.subject("p-bob").await.unwrap(), SubjectStatus::Known);

    // Every way back shows Ada's values as redacted, the rest of each event untouched.
    let marker = r#"{"$personal":"p-ada","redacted":"forgotten"}"#;
    let redacted = format!(r#"{{"holder":{marker},"n":1}}"#);
    let log = all(store).await;
    assert_eq!(&*log[0].payload, redacted);
    assert_eq!(&*log[1].payload, format!(r#"{{"a":{redacted},"b":{bob}}}"#));
    let stream = store.read_stream(&StreamId::from("s-ada"), StreamVersion::NONE, 10).await.unwrap();
    assert_eq!(&*stream[0].payload, redacted);
    let receipt = store.find_commit(&CommandId::from("w-ada")).await.unwrap().unwrap();
    assert_eq!(&*receipt.events[0].payload, redacted);
    let snapshot = store.load_snapshot(&StreamId::from("s-ada")).await.unwrap().unwrap();
    assert_eq!(&*snapshot.state, redacted);
    assert_eq!((log.len(), log[2].meta.position), (3, Position(3)), "the log keeps its shape");

    // A forgotten subject stays forgotten; nothing of a refused commit is written.
    let again =
        store.append(commit("w-ada-again", vec![write("s-new", ExpectedVersion::Any, vec![event(4, ada)])])).await;
    assert!(
        matches!(again, Err(AppendError::Store(eventline_core::StoreError::SubjectForgotten { ref subject })) if subject == "p-ada"),
        "{again:?}"
    );
    assert_eq!(store.head().await.unwrap(), Position(3));
    // Redaction markers carry nothing personal: they may be written, by an import say.
    let marked = format!(r#"{{"holder":{marker}}}"#);
    store
        .append(commit("w-marker", vec![write("s-new", ExpectedVersion::Any, vec![event(5, &marked)])]))
        .await
        .unwrap();
    assert_eq!(&*all(store).await[3].payload, marked);
}

/// A store keeps each command id's digest (what the command asked) with its commit, and gives it
/// back with the first commit, so a reused id can be told from a retry.
pub async fn a_command_id_remembers_what_it_was_for<S: EventStore>(store: &S) {
    let (deposit_100, deposit_250) = (CommandDigest::of("deposit 100"), CommandDigest::of("deposit 250"));
    let first = Commit { digest: Some(deposit_100), ..single("dep-1", "s", ExpectedVersion::Any, 1) };
    let receipt = store.append(first).await.unwrap();
    assert_eq!(receipt.digest, Some(deposit_100));
    let reused = Commit { digest: Some(deposit_250), ..single("dep-1", "s", ExpectedVersion::Any, 1) };
    match store.append(reused).await {
        Err(AppendError::DuplicateCommand(first)) => {
            assert_eq!(first.digest, Some(deposit_100), "the first commit comes back with what it asked");
            assert!(!CommandDigest::same_request(first.digest, Some(deposit_250)));
        }
        other => panic!("expected the first commit back, got {other:?}"),
    }
    assert_eq!(store.head().await.unwrap(), Position(1), "nothing appended");
    let found = store.find_commit(&CommandId::from("dep-1")).await.unwrap().unwrap();
    assert_eq!(found.digest, Some(deposit_100));
    // Within one batch too, and a commit made without a digest keeps none.
    let batch = vec![
        Commit { digest: Some(deposit_100), ..single("dep-2", "s", ExpectedVersion::Any, 1) },
        Commit { digest: Some(deposit_250), ..single("dep-2", "s", ExpectedVersion::Any, 1) },
    ];
    match store.append_batch(batch).await {
        Err(AppendError::DuplicateCommand(first)) => assert_eq!(first.digest, Some(deposit_100)),
        other => panic!("expected the first commit back, got {other:?}"),
    }
    store.append(single("plain", "s", ExpectedVersion::Any, 1)).await.unwrap();
    assert_eq!(store.find_commit(&CommandId::from("plain")).await.unwrap().unwrap().digest, None);
    assert_eq!(store.head().await.unwrap(), Position(2));
}

/// A personal value is about a subject whose id follows the id rule: never a store's own record
/// (the vault's `#generation`), never free text. Whatever else a commit says is refused whole.
pub async fn personal_data_is_only_about_valid_subjects<S: EventStore>(store: &S) {
    for subject in ["#generation", "Dana Example", "", "javascript:alert(1)()"] {
        let payload = format!(r#"{{"holder":{{"$personal":{subject:?},"value":"x"}}}}"#);
        let result =
            store.append(commit("bad", vec![write("s-a", ExpectedVersion::Any, vec![event(1, &payload)])])).await;
        assert!(matches!(result, Err(AppendError::Store(_))), "{subject:?}: {result:?}");
        let mut forget = event(2, &format!(r#"{{"subject":{subject:?}}}"#));
        forget.event_type = SUBJECT_FORGOTTEN.into();
        let result =
            store.append(commit("bad-forget", vec![write("subject-x", ExpectedVersion::Any, vec![forget])])).await;
        assert!(matches!(result, Err(AppendError::Store(_))), "{subject:?}: {result:?}");
    }
    assert_eq!(store.head().await.unwrap(), Position::ZERO, "nothing appended");
    // The store still works, and the vault's own record is nobody.
    let ok = r#"{"holder":{"$personal":"c-1","value":"x"}}"#;
    store.append(commit("ok", vec![write("s-a", ExpectedVersion::Any, vec![event(3, ok)])])).await.unwrap();
    assert_eq!(store.subject("c-1").await.unwrap(), SubjectStatus::Known);
    assert_eq!(&*all(store).await[0].payload, ok);
}
