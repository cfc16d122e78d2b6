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
        let mut todo: Vec<(String, Vec<u8>)> = Vec::new();
        for (subject, held) in self.0.store.held_keys(&named).await? {
            if let HeldKey::Keys(mine) = held {
                todo.push((subject, mine));
            }
        }
        for _ in 0..ATTEMPTS {
            if todo.is_empty() {
                break;
            }
            todo = self.share_round(client, todo).await?;
        }
        if let Some((subject, _)) = todo.first() {
            return Err(Failure::new("Timeout", format!("sharing {subject}'s key: other devices kept writing it")));
        }
        self.0.sync.shared.borrow_mut().extend(named);
        Ok(())
    }

    /// Puts this device's keys (`mine`: subjects and their keys) in the key bucket where it holds
    /// nothing for the subject, all in one round trip; where another device's are there, takes
    /// them in here and puts both. What is still to put (another device wrote it meanwhile).
    async fn share_round(
        &self,
        client: &LogClient,
        mine: Vec<(String, Vec<u8>)>,
    ) -> Result<Vec<(String, Vec<u8>)>, Failure> {
        let created = client.create_keys(&mine).await?;
        let taken: Vec<(String, Vec<u8>)> =
            mine.into_iter().zip(created).filter(|(_, stored)| !stored).map(|(key, _)| key).collect();
        if taken.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = taken.iter().map(|(subject, _)| subject.clone()).collect();
        let theirs = client.keys(&names).await?;
        let (mut merge, mut again) = (Vec::new(), Vec::new());
        for ((subject, keys), server) in taken.into_iter().zip(theirs) {
            match server {
                ServerKey::Forgotten => {}
                // Gone meanwhile (erased for a merge): put again.
                ServerKey::Absent => again.push((subject, keys)),
                ServerKey::Held { seq, keys: held } => {
                    merge.push((subject.clone(), held.clone()));
                    if let Some(all) = merged(&held, &keys) {
                        // The older message is erased first: replaced by a newer one it would be
                        // deleted but not overwritten, and a forgetting later could not reach it.
                        client.erase_key_message(seq).await?;
                        again.push((subject, all));
                    }
                }
            }
        }
        self.0.store.merge_keys(&merge).await?;
        Ok(again)
    }

    /// Fetches and takes in the keys of the subjects whose sealed values in `commits` no key here
    /// opens. A subject the server has no key for (or forgot) stays unreadable here.
    pub(super) async fn fetch_keys(&self, client: &LogClient, commits: &[Commit]) -> Result<(), Failure> {
        let texts: Vec<&str> =
            commits.iter().flat_map(|c| &c.writes).flat_map(|w| &w.events).map(|e| &*e.payload).collect();
        let wanted = self.0.store.unopened_subjects(&texts).await?;
        let fetched = client.keys(&wanted).await?;
        let found: Vec<(String, Vec<u8>)> = wanted
            .into_iter()
            .zip(fetched)
            .filter_map(|(subject, key)| match key {
                ServerKey::Held { keys, .. } => Some((subject, keys)),
                ServerKey::Absent | ServerKey::Forgotten => None,
            })
            .collect();
        self.0.store.merge_keys(&found).await?;
        Ok(())
    }
}
