//! The inventory as an application: commands routed to their aggregates, fulfilment's steps
//! dispatched, errors with stable codes, and the registry the runtime reads.

use std::collections::HashMap;

use eventline_core::aggregate::{Aggregate, ErrorCode};
use eventline_core::app::{Application, ApplicationError, Process};
use eventline_core::command::{CommandRequest, InvalidCommand};
use eventline_core::envelope::RecordedEvent;
use eventline_core::event::Event;
use eventline_core::forget::{ForgetError, forget};
use eventline_core::handler::{CommandHandler, CommandMeta, Environment, ExecuteError, Executed, LoadError, Loaded};
use eventline_core::ids::{CommandId, StreamId};
use eventline_core::import::{GenericChecker, LogChecker, Refused};
use eventline_core::personal::SUBJECT_CATEGORY;
use eventline_core::saga::{Dispatch, DispatchError, Issued, Rejection, SagaProgress};
use eventline_core::slot::Slot;
use eventline_core::snapshot::{SnapshotPolicy, SnapshotStore};
use eventline_core::store::{EventStore, StoreError};
use eventline_core::temporal::{AsOf, aggregate_at};

use crate::command::{COMMAND_TYPES, InventoryCommand};
use crate::fulfilment::{Fulfilment, Step};
use crate::item::{Item, ItemCommand, ItemError};
use crate::reservation::{Contact, Reservation, ReservationCommand, ReservationError};
use crate::{EVENT_TYPES, Id, InventoryEvent};

/// Why an inventory command appended nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    InvalidCommand(#[from] InvalidCommand),
    #[error(transparent)]
    Item(ExecuteError<ItemError>),
    #[error(transparent)]
    Reservation(ExecuteError<ReservationError>),
    #[error(transparent)]
    Forget(#[from] ForgetError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("unknown stream category {0:?}: streams are item-, reservation- or subject-")]
    UnknownStream(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for InventoryError {
    fn code(&self) -> &'static str {
        match self {
            InventoryError::InvalidCommand(e) => e.code(),
            InventoryError::Item(e) => e.code(),
            InventoryError::Reservation(e) => e.code(),
            InventoryError::Forget(e) => e.code(),
            InventoryError::Load(e) => e.code(),
            InventoryError::UnknownStream(_) => "UnknownStream",
            InventoryError::Store(e) => e.code(),
        }
    }
}

/// Every code an [`InventoryError`] can carry.
pub const ERROR_CODES: [&str; 24] = [
    "InvalidCommand",
    "UnknownItem",
    "ItemAlreadyRegistered",
    "InsufficientStock",
    "StockLimitExceeded",
    "NotReserved",
    "SameItem",
    "ReservationAlreadyExists",
    "ReservationNotFound",
    "InvalidReservationState",
    "InvalidQuantity",
    "WrongExpectedVersion",
    "DuplicateCommand",
    "UnknownStream",
    "UnknownSubject",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "InvalidEventPayload",
    "QuotaExceeded",
    "SchemaTooNew",
    "CorruptData",
    "StoreClosed",
    "StorageError",
    "SubjectForgotten",
];

impl ApplicationError for InventoryError {
    fn details(&self) -> Option<String> {
        match self {
            InventoryError::Item(e) => e.details(),
            InventoryError::Reservation(e) => e.details(),
            InventoryError::Forget(ForgetError::Duplicate(e)) => e.details(),
            _ => None,
        }
    }

    fn is_conflict(&self) -> bool {
        matches!(
            self,
            InventoryError::Item(ExecuteError::Conflict { .. })
                | InventoryError::Reservation(ExecuteError::Conflict { .. })
        )
    }

    fn is_rejection(&self) -> bool {
        matches!(
            self,
            InventoryError::Item(ExecuteError::Rejected(_)) | InventoryError::Reservation(ExecuteError::Rejected(_))
        )
    }
}

/// The inventory's command side over any store.
pub struct InventoryApp<S, X> {
    items: CommandHandler<Item, S, X>,
    reservations: CommandHandler<Reservation, S, X>,
}

impl<S, X> InventoryApp<S, X>
where
    S: EventStore + SnapshotStore + Clone,
    X: Environment + Clone,
{
    pub async fn item(&self, sku: &str) -> Result<Loaded<Item>, InventoryError> {
        Ok(self.items.load(sku).await?)
    }

    pub async fn reservation(&self, id: &str) -> Result<Loaded<Reservation>, InventoryError> {
        Ok(self.reservations.load(id).await?)
    }

    async fn step(&self, meta: CommandMeta, step: &Step) -> Result<Executed, InventoryError> {
        match step {
            Step::Item(c) => self.items.execute(meta, c.sku().as_str(), c).await.map_err(InventoryError::Item),
            Step::Reservation(c) => {
                self.reservations.execute(meta, c.reservation().as_str(), c).await.map_err(InventoryError::Reservation)
            }
        }
    }
}

impl<S, X> Dispatch<Step> for InventoryApp<S, X>
where
    S: EventStore + SnapshotStore + Clone,
    X: Environment + Clone,
{
    async fn dispatch(&self, issued: &Issued<Step>) -> Result<(), DispatchError> {
        match self.step(issued.meta.clone(), &issued.command).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_rejection() => {
                Err(DispatchError::Rejected(Rejection { code: e.code().to_string(), message: e.to_string() }))
            }
            Err(e) => Err(DispatchError::Unavailable { code: e.code().to_string(), message: e.to_string() }),
        }
    }
}

impl<S, X> Application for InventoryApp<S, X>
where
    S: EventStore + SnapshotStore + Clone + 'static,
    X: Environment + Clone + 'static,
{
    type Event = InventoryEvent;
    type Command = InventoryCommand;
    type Error = InventoryError;
    type Store = S;
    type Env = X;

    const EVENT_TYPES: &'static [&'static str] = &EVENT_TYPES;
    const COMMAND_TYPES: &'static [&'static str] = &COMMAND_TYPES;
    const ERROR_CODES: &'static [&'static str] = &ERROR_CODES;

    fn new(store: S, env: X, snapshots: SnapshotPolicy) -> Self {
        InventoryApp {
            items: CommandHandler::new(store.clone(), env.clone()).with_snapshots(snapshots),
            reservations: CommandHandler::new(store, env).with_snapshots(snapshots),
        }
    }

    fn store(&self) -> &S {
        self.items.store()
    }

    fn parse_command(json: &str) -> Result<CommandRequest<InventoryCommand>, InvalidCommand> {
        let request = eventline_core::command::parse(json, &COMMAND_TYPES, crate::command::parse)?;
        if request.expected_version != eventline_core::version::ExpectedVersion::Any
            && matches!(request.command, InventoryCommand::AssembleKit { .. })
        {
            return Err(InvalidCommand::new("`expectedVersion` applies to one stream; a kit's assembly changes two"));
        }
        Ok(request)
    }

    fn streams(command: &InventoryCommand, _: &CommandId) -> Vec<StreamId> {
        use InventoryCommand as C;
        match command {
            C::RegisterItem { sku, .. } | C::ReceiveStock { sku, .. } => vec![Item::stream_id(sku.as_str())],
            C::AssembleKit { kit, component, .. } => {
                vec![Item::stream_id(kit.as_str()), Item::stream_id(component.as_str())]
            }
            C::PlaceReservation { reservation, .. }
            | C::ShipReservation { reservation }
            | C::CancelReservation { reservation, .. } => vec![Reservation::stream_id(reservation.as_str())],
            C::ForgetCustomer { customer } => vec![eventline_core::forget::subject_stream(customer.as_str())],
        }
    }

    async fn execute(&self, meta: CommandMeta, command: &InventoryCommand) -> Result<Executed, InventoryError> {
        use InventoryCommand as C;
        let item = |c: ItemCommand| Step::Item(c);
        let reservation = |c: ReservationCommand| Step::Reservation(c);
        let step = match command.clone() {
            C::RegisterItem { sku, name } => item(ItemCommand::Register { sku, name }),
            C::ReceiveStock { sku, quantity, location } => item(ItemCommand::Receive {
                sku,
                quantity,
                location: location.unwrap_or_else(|| Id::parse("main").expect("a valid id")),
            }),
            C::AssembleKit { kit, component, quantity } => {
                // Two streams, one commit: the kit's units and the components they use.
                return self
                    .items
                    .execute_on(meta, &[kit.as_str(), component.as_str()], &|states| {
                        Item::assemble(states[0], states[1], &kit, &component, quantity)
                    })
                    .await
                    .map_err(|e| match e {
                        ExecuteError::InvalidCommand(_) if kit == component => {
                            InventoryError::Item(ExecuteError::Rejected(ItemError::SameItem { sku: kit.clone() }))
                        }
                        e => InventoryError::Item(e),
                    });
            }
            C::PlaceReservation { reservation: id, sku, quantity, customer, name, email } => {
                reservation(ReservationCommand::Place {
                    reservation: id,
                    sku,
                    quantity,
                    customer,
                    contact: Contact { name, email },
                })
            }
            C::ShipReservation { reservation: id } => reservation(ReservationCommand::Ship { reservation: id }),
            C::CancelReservation { reservation: id, reason } => reservation(ReservationCommand::Cancel {
                reservation: id,
                reason: reason.unwrap_or_else(|| "cancelled by the customer".into()),
            }),
            C::ForgetCustomer { customer } => {
                return Ok(forget(self.store(), self.items.env(), meta, customer.as_str()).await?);
            }
        };
        self.step(meta, &step).await
    }

    fn read_models() -> Vec<Box<dyn Slot<InventoryEvent>>> {
        crate::read_models::all()
    }

    fn process_managers() -> Vec<Box<dyn Process<Self>>> {
        vec![Box::new(SagaProgress::<Fulfilment>::default())]
    }

    async fn state_at(&self, stream: &StreamId, as_of: AsOf) -> Result<(String, u64), InventoryError> {
        fn text<A: Aggregate>(loaded: Loaded<A>) -> (String, u64) {
            (serde_json::to_string(&loaded.state).unwrap_or_else(|_| "null".into()), loaded.version.0)
        }
        let id = stream.aggregate_id();
        match (stream.category(), as_of) {
            (Item::CATEGORY, AsOf::Head) => Ok(text(self.item(id).await?)),
            (Reservation::CATEGORY, AsOf::Head) => Ok(text(self.reservation(id).await?)),
            (Item::CATEGORY, _) => Ok(text(aggregate_at::<Item, S>(self.store(), id, as_of).await?)),
            (Reservation::CATEGORY, _) => Ok(text(aggregate_at::<Reservation, S>(self.store(), id, as_of).await?)),
            (SUBJECT_CATEGORY, _) => {
                let status = self.store().subject(id).await?;
                let version = self.store().stream_version(stream).await?;
                Ok((format!(r#"{{"status":{}}}"#, serde_json::to_string(&status).expect("a name")), version.0))
            }
            (other, _) => Err(InventoryError::UnknownStream(other.to_string())),
        }
    }

    fn log_checker() -> Box<dyn LogChecker> {
        Box::new(Checker::default())
    }

    fn clear_caches(&self) {
        self.items.clear_cache();
        self.reservations.clear_cache();
    }
}

/// The inventory's checker of logs from elsewhere: the generic checks, then each stream folded
/// by its own aggregate, which admits every event or refuses the log: no import can make stock
/// that nobody received.
#[derive(Default)]
struct Checker {
    generic: Option<GenericChecker>,
    items: HashMap<StreamId, Item>,
    reservations: HashMap<StreamId, Reservation>,
}

impl Checker {
    fn next(&mut self, event: &RecordedEvent, stored: Option<&dyn Fn(&StreamId) -> u64>) -> Result<(), Refused> {
        let generic = self.generic.get_or_insert_with(GenericChecker::new::<InventoryEvent>);
        generic.next(event, stored)?;
        let stream = &event.meta.stream;
        let folded = match stream.category() {
            Item::CATEGORY => advance(self.items.entry(stream.clone()).or_insert_with(Item::initial), event),
            Reservation::CATEGORY => {
                advance(self.reservations.entry(stream.clone()).or_insert_with(Reservation::initial), event)
            }
            SUBJECT_CATEGORY => Ok(()),
            other => Err(format!("no aggregate keeps {other}- streams")),
        };
        folded.map_err(|message| Refused { event: generic.checked(), position: event.meta.position.0, message })
    }
}

impl LogChecker for Checker {
    fn fold(&mut self, already: &[RecordedEvent]) -> Result<(), Refused> {
        already.iter().try_for_each(|event| self.next(event, None))
    }

    fn check(&mut self, events: &[RecordedEvent], stored: &dyn Fn(&StreamId) -> u64) -> Result<(), Refused> {
        events.iter().try_for_each(|event| self.next(event, Some(stored)))
    }
}

/// Moves `state` on by `event`, if its aggregate admits it.
fn advance<A: Aggregate>(state: &mut A, event: &RecordedEvent) -> Result<(), String> {
    let decoded =
        A::Event::decode(&event.event_type, event.schema_version, &event.payload).map_err(|e| e.to_string())?;
    state.admits(&decoded)?;
    *state = state.clone().evolve(&decoded);
    Ok(())
}
