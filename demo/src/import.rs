//! The demo's rules for a log from elsewhere, on top of the generic ones (`eventline_core::import`):
//!
//! - each event is on a stream of its own aggregate (a deposit on an `account-` stream) and
//!   continues that stream: from what this store holds of it, which must be the same log's;
//! - each event is admitted by its aggregate's state ([`Aggregate::admits`]), so a log cannot
//!   overdraw, pay a wrong total, or touch a closed account;
//! - money moves only as decisions move it: an atomic transfer's two legs in one commit, a saga's
//!   debit for a requested transfer, its credit (once) for a debit held by the source, its
//!   settlement after that credit, its refund for a rejected credit. So no log makes or loses
//!   money.
//!
//! Pure: the caller says how many events this store holds of each stream. An export is a whole
//! log from position 1, so every state the check needs is folded from the log itself.

use std::collections::{HashMap, HashSet};

use eventline_core::aggregate::Aggregate;
use eventline_core::envelope::RecordedEvent;
use eventline_core::ids::StreamId;
use eventline_core::import::{LogCheck, LogChecker, Refused, decode_exact};
use eventline_core::personal::SUBJECT_CATEGORY;

use crate::DemoEvent;
use crate::bank::{Account, AccountEvent, Transfer, TransferEvent, TransferRequested, TransferStatus};
use crate::money::EntityId;
use crate::orders::Order;

/// Checks `events`, the rest of a log whose start `already` this store holds (an earlier import
/// of it landed that far), against every rule an event a command writes meets. `stored(stream)`
/// is how many events of `stream` this store holds: a stream the log continues must hold exactly
/// the log's own. `Ok` means appending `events` commit by commit can only fail for reasons of
/// storage or of another writer meanwhile.
#[inline(never)]
pub fn check_log(
    already: &[RecordedEvent],
    events: &[RecordedEvent],
    stored: impl Fn(&StreamId) -> u64,
) -> Result<(), Refused> {
    let mut checker = Checker::default();
    checker.fold(already)?;
    checker.check(events, &stored)
}

impl LogChecker for Checker {
    fn fold(&mut self, already: &[RecordedEvent]) -> Result<(), Refused> {
        for event in already {
            self.generic.event(event)?;
            // Checked when it landed; folded here for the states the rest continues from.
            let decoded = decode_exact::<DemoEvent>(event).map_err(|m| self.generic.refuse(event, m))?;
            self.apply(event, &decoded).map_err(|m| self.generic.refuse(event, m))?;
            self.credit(&decoded);
        }
        Ok(())
    }

    fn check(&mut self, events: &[RecordedEvent], stored: &dyn Fn(&StreamId) -> u64) -> Result<(), Refused> {
        for commit in events.chunk_by(|a, b| a.meta.command_id == b.meta.command_id) {
            let first = self.generic.checked() + 1;
            let mut decoded = Vec::with_capacity(commit.len());
            for event in commit {
                self.generic.event(event)?;
                let refuse = |m: String| self.generic.refuse(event, m);
                let stream = &event.meta.stream;
                if !self.streams.contains_key(stream) && stored(stream) != 0 {
                    return Err(refuse(format!(
                        "{stream} already holds {} event(s) here that are not this log's",
                        stored(stream)
                    )));
                }
                let this = decode_exact::<DemoEvent>(event).map_err(refuse)?;
                self.apply(event, &this).map_err(|m| self.generic.refuse(event, m))?;
                decoded.push(this);
            }
            for (index, (event, this)) in commit.iter().zip(&decoded).enumerate() {
                if let Err(message) = self.moves_money(commit, &decoded, event, this) {
                    return Err(Refused { event: first + index, position: event.meta.position.0, message });
                }
            }
            decoded.iter().for_each(|this| self.credit(this));
        }
        Ok(())
    }
}

/// An aggregate's state while a log is checked, with its stream's version.
#[derive(Clone, Debug)]
enum State {
    Account(Account),
    Transfer(Transfer),
    Order(Order),
    Subject,
}

/// The demo's checker of logs from elsewhere (`DemoApp::log_checker`), kept between a sync's
/// pulls.
#[derive(Default)]
pub struct Checker {
    generic: LogCheck,
    streams: HashMap<StreamId, (State, u64)>,
    /// Transfers whose target was credited in the log so far.
    credited: HashSet<String>,
}

impl Checker {
    /// A credit of a transfer's target counts once.
    fn credit(&mut self, decoded: &DemoEvent) {
        if let DemoEvent::Account(AccountEvent::Received(received)) = decoded {
            self.credited.insert(received.transfer_id.to_string());
        }
    }

    /// Moves `event`'s stream on: the next version, on its own aggregate, admitted by its state.
    fn apply(&mut self, event: &RecordedEvent, decoded: &DemoEvent) -> Result<(), String> {
        let stream = &event.meta.stream;
        if !self.streams.contains_key(stream) {
            let state = match stream.category() {
                Account::CATEGORY => State::Account(Account::initial()),
                Transfer::CATEGORY => State::Transfer(Transfer::initial()),
                Order::CATEGORY => State::Order(Order::initial()),
                SUBJECT_CATEGORY => State::Subject,
                other => return Err(format!("no aggregate lives in {other}- streams")),
            };
            self.streams.insert(stream.clone(), (state, 0));
        }
        let (state, version) = self.streams.get_mut(stream).expect("inserted above");
        if event.meta.version.0 != *version + 1 {
            return Err(format!(
                "{stream} is at version {version}, so its next event is version {}, not {}",
                *version + 1,
                event.meta.version.0
            ));
        }
        match (state, decoded) {
            (State::Account(state), DemoEvent::Account(e)) => admit(state, e),
            (State::Transfer(state), DemoEvent::Transfer(e)) => admit(state, e),
            (State::Order(state), DemoEvent::Order(e)) => admit(state, e),
            // The generic check took the forgetting's own rules.
            (State::Subject, DemoEvent::Forgotten(_)) => Ok(()),
            _ => Err(format!("a {} does not belong on {stream}", event.event_type)),
        }?;
        *version += 1;
        Ok(())
    }

    /// Transfer `id`'s status and request, as the log has made them so far.
    fn request(&self, id: &EntityId) -> Option<(TransferStatus, &TransferRequested)> {
        match self.streams.get(&Transfer::stream_id(id)) {
            Some((State::Transfer(t), _)) => t.request.as_ref().map(|r| (t.status, r)),
            _ => None,
        }
    }

    /// What account `account` holds for transfer `id`, as the log has made it so far.
    fn held(&self, account: &EntityId, id: &EntityId) -> Option<u64> {
        match self.streams.get(&Account::stream_id(account)) {
            Some((State::Account(state), _)) => state.pending.get(id).copied(),
            _ => None,
        }
    }

    /// Whether `this`, one of `commit`'s events (`decoded`), moves money as a decision would.
    /// The states are those after the commit, whose events touch only their own streams.
    fn moves_money(
        &self,
        commit: &[RecordedEvent],
        decoded: &[DemoEvent],
        event: &RecordedEvent,
        this: &DemoEvent,
    ) -> Result<(), String> {
        let account = event.meta.stream.aggregate_id();
        let legs = || commit.iter().zip(decoded).map(|(e, d)| (e.meta.stream.aggregate_id(), d));
        let fails = |ok: bool, message: String| if ok { Ok(()) } else { Err(message) };
        match this {
            // An atomic transfer: both legs in this commit.
            DemoEvent::Account(AccountEvent::Sent(sent)) => fails(
                legs().any(|(other, d)| {
                    matches!(d, DemoEvent::Account(AccountEvent::Received(r))
                        if r.transfer_id == sent.transfer_id && r.amount == sent.amount
                        && *r.from == *account && other == sent.to.as_str())
                }),
                format!("transfer {} is sent without being received", sent.transfer_id),
            ),
            DemoEvent::Account(AccountEvent::Received(received)) => {
                let atomic = legs().any(|(other, d)| {
                    matches!(d, DemoEvent::Account(AccountEvent::Sent(s))
                        if s.transfer_id == received.transfer_id && s.amount == received.amount
                        && *s.to == *account && other == received.from.as_str())
                });
                if atomic {
                    return Ok(());
                }
                // A saga's credit: requested so, held by its source, and only once.
                let id = &received.transfer_id;
                if self.credited.contains(id.as_str()) {
                    return Err(format!("transfer {id} is credited twice"));
                }
                let requested = self.request(id).is_some_and(|(status, r)| {
                    status == TransferStatus::Requested
                        && r.from == received.from
                        && *r.to == *account
                        && r.amount == received.amount
                });
                fails(
                    requested && self.held(&received.from, id) == Some(received.amount.minor_units()),
                    format!(
                        "transfer {id} is received with no matching send, nor a debit held for it by {}",
                        received.from
                    ),
                )
            }
            DemoEvent::Account(AccountEvent::Debited(debited)) => fails(
                matches!(self.request(&debited.transfer_id),
                    Some((TransferStatus::Requested, r)) if *r.from == *account && r.to == debited.to && r.amount == debited.amount),
                format!("transfer {} is debited without being requested so", debited.transfer_id),
            ),
            // A saga settles what its target received: the hold goes, the money is there.
            DemoEvent::Account(AccountEvent::Settled(settled)) => fails(
                matches!(self.request(&settled.transfer_id),
                    Some((TransferStatus::Requested, r)) if *r.from == *account)
                    && self.credited.contains(settled.transfer_id.as_str()),
                format!("transfer {} is settled though its target was not credited", settled.transfer_id),
            ),
            DemoEvent::Account(AccountEvent::Refunded(refunded)) => fails(
                matches!(self.request(&refunded.transfer_id),
                    Some((TransferStatus::CreditRejected, r)) if *r.from == *account),
                format!("transfer {} is refunded though its credit was not refused", refunded.transfer_id),
            ),
            DemoEvent::Transfer(TransferEvent::Completed(_) | TransferEvent::Compensated(_)) => {
                let id = EntityId::parse(account)?;
                let source = self.request(&id).map(|(_, r)| r.from.clone());
                fails(
                    source.is_some_and(|from| self.held(&from, &id).is_none()),
                    format!("transfer {id} ends while its source still holds the money"),
                )
            }
            _ => Ok(()),
        }
    }
}

/// Admits `event` on `state`, then moves it.
fn admit<A: Aggregate>(state: &mut A, event: &A::Event) -> Result<(), String> {
    state.admits(event)?;
    *state = std::mem::replace(state, A::initial()).evolve(event);
    Ok(())
}
