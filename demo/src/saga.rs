//! The transfer saga: moves money between two accounts in steps, each its own commit, and undoes
//! the debit when the target refuses the credit.
//!
//! ```text
//! TransferRequested ─▶ debit source ─▶ TransferDebited ─▶ credit target ─▶ TransferReceived
//!        │ refused: TransferFailed          refused: │                          │
//!        ▼                         TransferCreditRejected                 settle source
//!                                            │                                 ▼
//!                                   refund source ─▶ TransferRefunded    TransferSettled
//!                                                           ▼                  ▼
//!                                                  TransferCompensated   TransferCompleted
//! ```
//!
//! Command ids are `"{transfer}:{step}"`, so a step re-issued after a crash is answered by its
//! first outcome. Its progress (`in_flight`) follows from the log alone: rejections are recorded as
//! events on the transfer stream before the saga acts on them.

use serde::{Deserialize, Serialize};

use eventline_core::envelope::Envelope;
use eventline_core::handler::CommandMeta;
use eventline_core::saga::{Issued, ProcessManager, Rejection};
use eventline_core::sorted_map::SortedMap;
use eventline_core::version::ExpectedVersion;

use crate::bank::{AccountCommand, AccountEvent, TransferCommand, TransferEvent};
use crate::money::{Amount, EntityId};
use crate::{DemoEvent, DomainCommand};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SagaStep {
    Debiting,
    Failing,
    Crediting,
    RecordingRejection,
    Settling,
    Completing,
    Refunding,
    Compensating,
}
// Read by name through one shared decoder (`by_name`), not a derived one per enum.
eventline_core::deserialize_by_name!(SagaStep {
    Debiting = "debiting",
    Failing = "failing",
    Crediting = "crediting",
    RecordingRejection = "recordingRejection",
    Settling = "settling",
    Completing = "completing",
    Refunding = "refunding",
    Compensating = "compensating",
});

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaTransfer {
    pub from: EntityId,
    pub to: EntityId,
    pub amount: Amount,
    pub step: SagaStep,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferSaga {
    /// Transfers between request and their final event.
    pub in_flight: SortedMap<EntityId, SagaTransfer>,
}

fn issue(
    transfer_id: &EntityId,
    step: &str,
    cause: &Envelope<DemoEvent>,
    command: DomainCommand,
) -> Vec<Issued<DomainCommand>> {
    vec![Issued { meta: CommandMeta::caused_by(format!("{transfer_id}:{step}"), &cause.meta), command }]
}

impl TransferSaga {
    fn advance(&mut self, transfer_id: &EntityId, from: SagaStep, to: SagaStep) -> Option<&SagaTransfer> {
        let transfer = self.in_flight.get_mut(transfer_id).filter(|t| t.step == from)?;
        transfer.step = to;
        Some(transfer)
    }
}

impl ProcessManager for TransferSaga {
    const NAME: &'static str = "transfer-saga";
    type Event = DemoEvent;
    type Command = DomainCommand;

    fn react(&mut self, envelope: &Envelope<DemoEvent>) -> Vec<Issued<DomainCommand>> {
        use SagaStep::*;
        match &envelope.event {
            DemoEvent::Transfer(TransferEvent::Requested(request)) => {
                let Ok(transfer_id) = EntityId::parse(envelope.meta.stream.aggregate_id()) else { return vec![] };
                self.in_flight.insert(
                    transfer_id.clone(),
                    SagaTransfer {
                        from: request.from.clone(),
                        to: request.to.clone(),
                        amount: request.amount,
                        step: Debiting,
                    },
                );
                let debit = AccountCommand::DebitForTransfer {
                    account: request.from.clone(),
                    transfer_id: transfer_id.clone(),
                    to: request.to.clone(),
                    amount: request.amount,
                };
                issue(&transfer_id, "debit", envelope, DomainCommand::Account(debit))
            }
            DemoEvent::Account(AccountEvent::Debited(debited)) => {
                let id = &debited.transfer_id;
                let Some(t) = self.advance(id, Debiting, Crediting) else { return vec![] };
                let credit = AccountCommand::ReceiveTransfer {
                    account: t.to.clone(),
                    transfer_id: id.clone(),
                    from: t.from.clone(),
                    amount: t.amount,
                    currency: debited.currency.clone(),
                };
                issue(id, "credit", envelope, DomainCommand::Account(credit))
            }
            DemoEvent::Account(AccountEvent::Received(received)) => {
                let id = &received.transfer_id;
                let Some(t) = self.advance(id, Crediting, Settling) else { return vec![] };
                let settle = AccountCommand::SettleTransfer { account: t.from.clone(), transfer_id: id.clone() };
                issue(id, "settle", envelope, DomainCommand::Account(settle))
            }
            DemoEvent::Account(AccountEvent::Settled(settled)) => {
                let id = &settled.transfer_id;
                if self.advance(id, Settling, Completing).is_none() {
                    return vec![];
                }
                issue(
                    id,
                    "complete",
                    envelope,
                    DomainCommand::Transfer(TransferCommand::Complete { transfer_id: id.clone() }),
                )
            }
            DemoEvent::Transfer(TransferEvent::CreditRejected(_)) => {
                let Ok(id) = EntityId::parse(envelope.meta.stream.aggregate_id()) else { return vec![] };
                let Some(t) = self.advance(&id, RecordingRejection, Refunding) else { return vec![] };
                let refund = AccountCommand::RefundTransfer { account: t.from.clone(), transfer_id: id.clone() };
                issue(&id, "refund", envelope, DomainCommand::Account(refund))
            }
            DemoEvent::Account(AccountEvent::Refunded(refunded)) => {
                let id = &refunded.transfer_id;
                if self.advance(id, Refunding, Compensating).is_none() {
                    return vec![];
                }
                issue(
                    id,
                    "compensate",
                    envelope,
                    DomainCommand::Transfer(TransferCommand::Compensate { transfer_id: id.clone() }),
                )
            }
            DemoEvent::Transfer(
                TransferEvent::Completed(_) | TransferEvent::Compensated(_) | TransferEvent::Failed(_),
            ) => {
                if let Ok(id) = EntityId::parse(envelope.meta.stream.aggregate_id()) {
                    self.in_flight.remove(&id);
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn on_rejected(&mut self, issued: &Issued<DomainCommand>, rejection: &Rejection) -> Vec<Issued<DomainCommand>> {
        let (transfer_id, next_step, step_name) = match &issued.command {
            DomainCommand::Account(AccountCommand::DebitForTransfer { transfer_id, .. }) => {
                (transfer_id, SagaStep::Failing, "fail")
            }
            DomainCommand::Account(AccountCommand::ReceiveTransfer { transfer_id, .. }) => {
                (transfer_id, SagaStep::RecordingRejection, "credit-rejected")
            }
            // Settling, refunding and recording cannot be refused by a consistent log; the
            // transfer stays at its step, visible as stuck, rather than guessing.
            _ => return vec![],
        };
        let Some(transfer) = self.in_flight.get_mut(transfer_id) else { return vec![] };
        transfer.step = next_step;
        let (code, reason) = (rejection.code.clone(), rejection.message.clone());
        let command = match next_step {
            SagaStep::Failing => TransferCommand::Fail { transfer_id: transfer_id.clone(), code, reason },
            _ => TransferCommand::RejectCredit { transfer_id: transfer_id.clone(), code, reason },
        };
        let meta = CommandMeta {
            command_id: format!("{transfer_id}:{step_name}").into(),
            correlation_id: issued.meta.correlation_id.clone(),
            causation_id: issued.meta.command_id.as_str().into(),
            expected_version: ExpectedVersion::Any,
            digest: None,
        };
        vec![Issued { meta, command: DomainCommand::Transfer(command) }]
    }
}
