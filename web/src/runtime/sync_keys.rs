//! Subjects' keys between devices, through the log's key bucket (feature `sync`; docs/SYNC.md,
//! "Personal data"). Events travel with personal values sealed; the keys that open them travel
//! apart, so that forgetting someone can erase the server's copy without touching the log.
//!
//! - Invariant: before a batch leaves, the server holds a key for every subject whose sealed
//!   values it carries (this device's keys, merged with any another device shared first), so a
//!   device that pulls the batch can fetch what opens it.
//! - Invariant: a subject forgotten here is erased on the server before the commit that forgets
//!   them is pushed, and a tombstone left there; a key is never shared for a subject the server
//!   or this device has forgotten.
//! - A pulled value that no key here opens has its subject's keys fetched and merged before the
//!   commit is put in the log; keys are never replaced, only added beside this device's own (two
//!   devices that each made a key for someone before seeing the other's both keep opening).

use std::collections::HashSet;

use eventline_core::personal::{self, SUBJECT_FORGOTTEN};
use eventline_core::store::CommitReceipt;

use super::*;
use crate::sync::{LogClient, ServerKey};
use crate::vault::{HeldKey, merged};

/// Attempts at a subject's key before giving up for this round (other devices writing it).
const ATTEMPTS: usize = 5;

impl<A> Runtime<A>
where
    A: Application<Store = AppStore, Env = BrowserEnv>,
{
    /// Makes sure the server holds the keys of every subject `batch` names and has erased every
    /// subject it forgets, before the batch is pushed.
    pub(super) async fn share_keys(&self, client: &LogClient, batch: &[CommitReceipt]) -> Result<(), Failure> {
        let events = || batch.iter().flat_map(|c| &c.events);
        let forgotten: HashSet<String> = events()
            .filter(|e| &*e.event_type == SUBJECT_FORGOTTEN)
            .filter_map(|e| personal::forgotten_subject(&e.payload))
            .collect();
        for subject in &forgotten {
            client.forget_key(subject).await?;
        }
        let mut named: Vec<String> = events()
            .flat_map(|e| personal::named_subjects(&e.payload))
            .filter(|s| !forgotten.contains(s) && !self.0.sync.shared.borrow().contains(s))
            .collect();
        named.sort();
        named.dedup();
        for (subject, held) in self.0.store.held_keys(&named).await? {
            if let HeldKey::Keys(mine) = held {
                self.share_key(client, &subject, &mine).await?;
            }
        }
        self.0.sync.shared.borrow_mut().extend(named);
        Ok(())
    }

    /// Puts this device's keys of `subject` in the key bucket beside any another device put
    /// there, and takes theirs in here.
    async fn share_key(&self, client: &LogClient, subject: &str, mine: &[u8]) -> Result<(), Failure> {
        for _ in 0..ATTEMPTS {
            let stored = match client.key(subject).await? {
                ServerKey::Forgotten => return Ok(()),
                ServerKey::Absent => client.put_key(subject, mine, 0).await?,
                ServerKey::Held { seq, keys } => {
                    self.0.store.merge_keys(&[(subject.to_string(), keys.clone())]).await?;
                    let Some(all) = merged(&keys, mine) else { return Ok(()) };
                    // The older message is erased first: replaced by a newer one it would be
                    // deleted but not overwritten, and a forgetting later could not reach it.
                    client.erase_key_message(seq).await?;
                    client.put_key(subject, &all, 0).await?
                }
            };
            if stored {
                return Ok(());
            }
        }
        Err(Failure::new("Timeout", format!("sharing {subject}'s key: other devices kept writing it")))
    }

    /// Fetches and takes in the keys of the subjects whose sealed values in `commits` no key here
    /// opens. A subject the server has no key for (or forgot) stays unreadable here.
    pub(super) async fn fetch_keys(&self, client: &LogClient, commits: &[Commit]) -> Result<(), Failure> {
        let texts: Vec<&str> =
            commits.iter().flat_map(|c| &c.writes).flat_map(|w| &w.events).map(|e| &*e.payload).collect();
        let wanted = self.0.store.unopened_subjects(&texts).await?;
        let mut found: Vec<(String, Vec<u8>)> = Vec::new();
        for subject in wanted {
            if let ServerKey::Held { keys, .. } = client.key(&subject).await? {
                found.push((subject, keys));
            }
        }
        self.0.store.merge_keys(&found).await?;
        Ok(())
    }
}
