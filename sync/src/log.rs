//! A log on the server: the JetStream stream that holds its commits and the key bucket that holds
//! its subjects' keys. Created by the log's server tool user, never by a device (docs/SYNC.md,
//! "Only who may").

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use eventline_core::sync::{MAX_MESSAGE, check_log, key_bucket, stream_name, subjects};

use crate::SyncError;

/// How long the server remembers a commit's id: a push retried within it is refused as already
/// stored; after it, the expectation on its subjects refuses it instead (docs/SYNC.md).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// The stream configuration of log `log` with `replicas` copies (1, or 3 on a cluster).
pub fn stream_config(log: &str, replicas: usize) -> stream::Config {
    stream::Config {
        name: stream_name(log),
        subjects: vec![subjects(log)],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        retention: stream::RetentionPolicy::Limits,
        // Full is full: a commit refused is a commit that waits in its outbox, never an old one
        // dropped to make room.
        discard: stream::DiscardPolicy::New,
        max_message_size: MAX_MESSAGE as i32,
        duplicate_window: DUPLICATE_WINDOW,
        allow_atomic_publish: true,
        allow_direct: true,
        // A log is append-only for everyone, the server tool's user included.
        deny_delete: true,
        deny_purge: true,
        ..Default::default()
    }
}

/// Creates log `log` (its stream and its key bucket) with `replicas` copies, or updates them to
/// this configuration. Idempotent.
pub async fn create(js: &jetstream::Context, log: &str, replicas: usize) -> Result<(), SyncError> {
    check_log(log)?;
    // Created, or brought to this configuration if it is there (an older one, say, without
    // atomic batches, would refuse every push).
    js.create_or_update_stream(stream_config(log, replicas))
        .await
        .map_err(|e| SyncError::new("ServerRefused", format!("creating the stream of log {log}: {e}")))?;
    // The key bucket's stream, as a key-value bucket's is made (async-nats `create_key_value`),
    // but deletes allowed: forgetting someone erases their key's message (its bytes
    // overwritten), which a key-value delete or purge alone leaves in the server's files. One
    // value per subject: a key is put once.
    let keys = stream::Config {
        name: format!("KV_{}", key_bucket(log)),
        subjects: vec![format!("$KV.{}.>", key_bucket(log))],
        max_messages_per_subject: 1,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: false,
        deny_purge: false,
        allow_direct: true,
        ..Default::default()
    };
    js.create_or_update_stream(keys)
        .await
        .map_err(|e| SyncError::new("ServerRefused", format!("the key bucket of log {log}: {e}")))?;
    Ok(())
}
