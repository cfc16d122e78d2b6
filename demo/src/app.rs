//! The demo's command side: routes commands to their aggregates' handlers, and is where the
//! transfer saga sends its commands.

use eventline_core::aggregate::{Aggregate, ErrorCode};
use eventline_core::app::{Application, Process};
use eventline_core::forget::ForgetError;
use eventline_core::handler::{CommandHandler, CommandMeta, Environment, ExecuteError, Executed, LoadError, Loaded};
use eventline_core::ids::CommandId;
use eventline_core::ids::StreamId;
use eventline_core::import::LogChecker;
use eventline_core::personal::SUBJECT_CATEGORY;
use eventline_core::saga::{self, Dispatch, DispatchError, Issued, Rejection, RunReport, SagaError, SagaProgress};
use eventline_core::slot::Slot;
use eventline_core::snapshot::{SnapshotPolicy, SnapshotStore};
use eventline_core::store::{EventStore, StoreError};
use eventline_core::temporal::{AsOf, aggregate_at};

use crate::DomainCommand;
use crate::bank::{Account, AccountError, Transfer, TransferError, decide_atomic_transfer};
use crate::command::{CommandRequest, DemoCommand, InvalidCommand, Plan};
use crate::money::EntityId;
use crate::orders::{Order, OrderError};
use crate::saga::TransferSaga;

/// Why a demo command appended nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    InvalidCommand(#[from] InvalidCommand),
    #[error(transparent)]
    Account(ExecuteError<AccountError>),
    #[error(transparent)]
    Transfer(ExecuteError<TransferError>),
    #[error(transparent)]
    Order(ExecuteError<OrderError>),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("unknown stream category {0:?}: streams are account-, transfer-, order- or subject-")]
    UnknownStream(String),
    #[error("nothing personal is recorded about {0}: there is no one to forget")]
    UnknownSubject(String),
    /// Forgetting failed otherwise (a command id already used for another command).
    #[error(transparent)]
    Forget(ForgetError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for AppError {
    fn code(&self) -> &'static str {
        match self {
            AppError::InvalidCommand(e) => e.code(),
            AppError::Account(e) => e.code(),
            AppError::Transfer(e) => e.code(),
            AppError::Order(e) => e.code(),
            AppError::Load(e) => e.code(),
            AppError::UnknownStream(_) => "UnknownStream",
            AppError::UnknownSubject(_) => "UnknownSubject",
            AppError::Forget(e) => e.code(),
            AppError::Store(e) => e.code(),
        }
    }
}

/// Every code an [`AppError`] can carry (`ErrorCode::code`): what a caller of [`DemoApp`] must be
/// ready for. A new error variant's code goes here; the fuzz suite and the TypeScript
/// declarations' check both read this list.
pub const ERROR_CODES: [&str; 34] = [
    "InvalidCommand",
    // Accounts.
    "AccountNotFound",
    "AccountAlreadyExists",
    "AccountClosed",
    "InsufficientFunds",
    "AccountNotEmpty",
    "TransferInProgress",
    "SameAccount",
    "CurrencyMismatch",
    "BalanceLimitExceeded",
    "UnknownTransfer",
    // Transfers.
    "TransferAlreadyExists",
    "TransferNotFound",
    "InvalidTransferState",
    // Orders.
    "OrderNotFound",
    "OrderAlreadyExists",
    "InvalidOrderState",
    "EmptyOrder",
    "PaymentMismatch",
    "InvalidQuantity",
    "OrderTotalTooLarge",
    // Concurrency, idempotency, streams and subjects.
    "WrongExpectedVersion",
    "DuplicateCommand",
    "UnknownStream",
    "UnknownSubject",
    // Reading the log.
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "InvalidEventPayload",
    // The store.
    "QuotaExceeded",
    "SchemaTooNew",
    "CorruptData",
    "StoreClosed",
    "StorageError",
    "SubjectForgotten",
];

impl AppError {
    /// Whether the domain refused the command (as opposed to storage or concurrency failing).
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            AppError::Account(ExecuteError::Rejected(_))
                | AppError::Transfer(ExecuteError::Rejected(_))
                | AppError::Order(ExecuteError::Rejected(_))
        )
    }

    /// Whether other writers kept winning: trying again later may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            AppError::Account(ExecuteError::Conflict { .. })
                | AppError::Transfer(ExecuteError::Conflict { .. })
                | AppError::Order(ExecuteError::Conflict { .. })
        )
    }

    /// The domain error's fields as JSON text, for callers that show more than the message
    /// (`ExecuteError::details`).
    pub fn details(&self) -> Option<String> {
        match self {
            AppError::Account(e) => e.details(),
            AppError::Transfer(e) => e.details(),
            AppError::Order(e) => e.details(),
            AppError::Forget(e) => e.details(),
            _ => None,
        }
    }
}

/// The command side of the demo over any store.
pub struct DemoApp<S, X> {
    accounts: CommandHandler<Account, S, X>,
    transfers: CommandHandler<Transfer, S, X>,
    orders: CommandHandler<Order, S, X>,
}

impl<S, X> DemoApp<S, X>
where
    S: EventStore + SnapshotStore + Clone,
    X: Environment + Clone,
{
    pub fn new(store: S, env: X, snapshots: SnapshotPolicy) -> Self {
        DemoApp {
            accounts: CommandHandler::new(store.clone(), env.clone()).with_snapshots(snapshots),
            transfers: CommandHandler::new(store.clone(), env.clone()).with_snapshots(snapshots),
            orders: CommandHandler::new(store, env).with_snapshots(snapshots),
        }
    }

    pub fn store(&self) -> &S {
        self.accounts.store()
    }

    /// Forgets cached aggregate states, e.g. after the log was replaced by an import.
    pub fn clear_caches(&self) {
        self.accounts.clear_cache();
        self.transfers.clear_cache();
        self.orders.clear_cache();
    }

    /// Decides and appends `command`. `meta.digest` (from `parse_command`) makes a reuse of its
    /// command id for another command a `DuplicateCommand`; without one, any reuse is a retry.
    pub async fn execute(&self, meta: CommandMeta, command: &DemoCommand) -> Result<Executed, AppError> {
        match command.plan(&meta.command_id) {
            Plan::Domain(domain) => self.execute_domain(meta, &domain).await,
            Plan::AtomicTransfer { transfer_id, from, to, amount } => self
                .accounts
                .execute_on(meta, &[&from, &to], &|states| {
                    decide_atomic_transfer(states[0], states[1], &transfer_id, &from, &to, amount)
                })
                .await
                .map_err(|e| match e {
                    // Both legs name the same account: say so rather than "addresses each once".
                    ExecuteError::InvalidCommand(_) if from == to => {
                        AppError::Account(ExecuteError::Rejected(AccountError::SameAccount { account: from.clone() }))
                    }
                    e => AppError::Account(e),
                }),
            Plan::Forget { subject } => self.forget(meta, &subject).await,
        }
    }

    /// Forgets a subject (`eventline_core::forget`): records `SubjectForgotten` on
    /// `subject-{id}`, and the store shreds their key in the same atomic step. Idempotent.
    pub async fn forget(&self, meta: CommandMeta, subject: &EntityId) -> Result<Executed, AppError> {
        let forgotten = eventline_core::forget::forget(self.store(), self.accounts.env(), meta, subject.as_str()).await;
        forgotten.map_err(|e| match e {
            ForgetError::UnknownSubject(subject) => AppError::UnknownSubject(subject),
            ForgetError::Store(e) => AppError::Store(e),
            ForgetError::InvalidCommand(message) => AppError::InvalidCommand(InvalidCommand { message }),
            e => AppError::Forget(e),
        })
    }

    pub async fn execute_domain(&self, meta: CommandMeta, command: &DomainCommand) -> Result<Executed, AppError> {
        match command {
            DomainCommand::Account(c) => self.accounts.execute(meta, c.account(), c).await.map_err(AppError::Account),
            DomainCommand::Transfer(c) => {
                self.transfers.execute(meta, c.transfer_id(), c).await.map_err(AppError::Transfer)
            }
            DomainCommand::Order(c) => self.orders.execute(meta, c.order(), c).await.map_err(AppError::Order),
        }
    }

    pub async fn account(&self, id: &str) -> Result<Loaded<Account>, AppError> {
        Ok(self.accounts.load(id).await?)
    }

    pub async fn order(&self, id: &str) -> Result<Loaded<Order>, AppError> {
        Ok(self.orders.load(id).await?)
    }

    pub async fn transfer(&self, id: &str) -> Result<Loaded<Transfer>, AppError> {
        Ok(self.transfers.load(id).await?)
    }

    /// The state of any demo stream as of a point in history, as JSON text with its version.
    /// Now is the handler's load (cache or snapshot plus tail); the past is a fold from the start.
    pub async fn state_at(&self, stream: &StreamId, as_of: AsOf) -> Result<(String, u64), AppError> {
        fn text<A: Aggregate>(loaded: Loaded<A>) -> (String, u64) {
            (serde_json::to_string(&loaded.state).unwrap_or_else(|_| "null".into()), loaded.version.0)
        }
        async fn of<A: Aggregate, S: EventStore>(store: &S, id: &str, as_of: AsOf) -> Result<(String, u64), AppError> {
            Ok(text(aggregate_at::<A, S>(store, id, as_of).await?))
        }
        let id = stream.aggregate_id();
        match (stream.category(), as_of) {
            (Account::CATEGORY, AsOf::Head) => Ok(text(self.account(id).await?)),
            (Transfer::CATEGORY, AsOf::Head) => Ok(text(self.transfer(id).await?)),
            (Order::CATEGORY, AsOf::Head) => Ok(text(self.order(id).await?)),
            (Account::CATEGORY, _) => of::<Account, S>(self.store(), id, as_of).await,
            (Transfer::CATEGORY, _) => of::<Transfer, S>(self.store(), id, as_of).await,
            (Order::CATEGORY, _) => of::<Order, S>(self.store(), id, as_of).await,
            // Forgetting is not a history: a subject is known, forgotten or unknown now.
            (SUBJECT_CATEGORY, _) => {
                let status = self.store().subject(id).await?;
                let version = self.store().stream_version(stream).await?;
                Ok((format!(r#"{{"status":{}}}"#, serde_json::to_string(&status).expect("a name")), version.0))
            }
            (other, _) => Err(AppError::UnknownStream(other.to_string())),
        }
    }

    /// Lets the transfer saga react to everything after its checkpoint.
    pub async fn run_saga(&self, progress: &mut SagaProgress<TransferSaga>) -> Result<RunReport, SagaError> {
        saga::run(self.store(), self, progress, 512).await
    }

    /// Lets the transfer saga react until it has dispatched `dispatches` commands or seen the
    /// log's end (`saga::run_for`): a runner interleaves it with the projections.
    pub async fn run_saga_for(
        &self,
        progress: &mut SagaProgress<TransferSaga>,
        dispatches: usize,
    ) -> Result<RunReport, SagaError> {
        saga::run_for(self.store(), self, progress, 512, dispatches).await
    }
}

impl<S, X> Dispatch<DomainCommand> for DemoApp<S, X>
where
    S: EventStore + SnapshotStore + Clone,
    X: Environment + Clone,
{
    async fn dispatch(&self, issued: &Issued<DomainCommand>) -> Result<(), DispatchError> {
        match self.execute_domain(issued.meta.clone(), &issued.command).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_rejection() => {
                Err(DispatchError::Rejected(Rejection { code: e.code().to_string(), message: e.to_string() }))
            }
            Err(e) => Err(DispatchError::Unavailable { code: e.code().to_string(), message: e.to_string() }),
        }
    }
}

impl eventline_core::app::ApplicationError for AppError {
    fn details(&self) -> Option<String> {
        AppError::details(self)
    }

    fn is_conflict(&self) -> bool {
        AppError::is_conflict(self)
    }

    fn is_rejection(&self) -> bool {
        AppError::is_rejection(self)
    }
}

/// The demo, declared once for any runtime: its events, commands, errors, read models (as a
/// list), its saga, and the rules an imported log must meet.
impl<S, X> Application for DemoApp<S, X>
where
    S: EventStore + SnapshotStore + Clone + 'static,
    X: Environment + Clone + 'static,
{
    type Event = crate::DemoEvent;
    type Command = DemoCommand;
    type Error = AppError;
    type Store = S;
    type Env = X;

    const EVENT_TYPES: &'static [&'static str] = &crate::EVENT_TYPES;
    const COMMAND_TYPES: &'static [&'static str] = &crate::command::COMMAND_TYPES;
    const ERROR_CODES: &'static [&'static str] = &ERROR_CODES;

    fn new(store: S, env: X, snapshots: SnapshotPolicy) -> Self {
        DemoApp::new(store, env, snapshots)
    }

    fn store(&self) -> &S {
        DemoApp::store(self)
    }

    fn parse_command(json: &str) -> Result<CommandRequest, InvalidCommand> {
        crate::command::parse_command(json)
    }

    fn streams(command: &DemoCommand, command_id: &CommandId) -> Vec<StreamId> {
        command.streams(command_id)
    }

    async fn execute(&self, meta: CommandMeta, command: &DemoCommand) -> Result<Executed, AppError> {
        DemoApp::execute(self, meta, command).await
    }

    fn read_models() -> Vec<Box<dyn Slot<crate::DemoEvent>>> {
        crate::read_models::all()
    }

    fn process_managers() -> Vec<Box<dyn Process<Self>>> {
        vec![Box::new(SagaProgress::<TransferSaga>::default())]
    }

    async fn state_at(&self, stream: &StreamId, as_of: AsOf) -> Result<(String, u64), AppError> {
        DemoApp::state_at(self, stream, as_of).await
    }

    fn log_checker() -> Box<dyn LogChecker> {
        Box::new(crate::import::Checker::default())
    }

    fn clear_caches(&self) {
        DemoApp::clear_caches(self)
    }
}
