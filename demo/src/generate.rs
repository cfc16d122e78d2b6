//! Plausible demo traffic: a seeded generator of commands for the bank and the shop.
//!
//! The generator keeps a rough picture of what it has made (accounts and what they hold, orders
//! and where they are) to propose commands that are likely to be accepted; the domain still
//! decides, and the caller drops refusals and tells the generator what was accepted. It has no
//! randomness of its own: the seed is an argument, so a run is reproducible.

use crate::command::{DemoCommand, HolderDetails};
use crate::money::{Amount, Currency, EntityId};
use crate::read_models::TransferMode;

/// SplitMix64: small, fast, and good enough to pick demo traffic.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

#[derive(Clone, Debug)]
struct AccountSeen {
    id: EntityId,
    balance: u64,
    closed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Draft,
    Confirmed,
    Paid,
    Shipped,
    Done,
}

#[derive(Clone, Debug)]
struct OrderSeen {
    id: EntityId,
    stage: Stage,
    total: u64,
}

const SKUS: [&str; 8] = ["book", "lamp", "mug", "pen", "plant", "chair", "kettle", "poster"];
/// Customers (made up): id, name, shipping address.
const CUSTOMERS: [(&str, &str, &str); 6] = [
    ("alice", "Alice Martin", "12 rue des Lilas, 69003 Lyon"),
    ("bob", "Bob Okafor", "4 Harbour Road, Cork T12 X2P4"),
    ("carol", "Carol Nguyen", "88 Elm Street, Springfield, IL 62704"),
    ("dave", "Dave Lindqvist", "Storgatan 7, 114 51 Stockholm"),
    ("erin", "Erin Kowalski", "ul. Długa 3, 00-238 Warszawa"),
    ("frank", "Frank Moreau", "21 avenue Foch, 75116 Paris"),
];

/// Proposes demo commands; call [`Generator::accepted`] with each one the domain accepted.
#[derive(Clone, Debug)]
pub struct Generator {
    rng: Rng,
    prefix: String,
    accounts: Vec<AccountSeen>,
    orders: Vec<OrderSeen>,
    made: u64,
}

impl Generator {
    /// Ids start with `prefix` (say `g1-`), so generated data does not collide with existing data.
    pub fn new(seed: u64, prefix: &str) -> Generator {
        Generator { rng: Rng(seed), prefix: prefix.to_string(), accounts: Vec::new(), orders: Vec::new(), made: 0 }
    }

    fn id(&mut self, kind: &str) -> EntityId {
        self.made += 1;
        EntityId::parse(&format!("{}{kind}-{}", self.prefix, self.made))
            .unwrap_or_else(|_| EntityId::parse(&format!("{kind}-{}", self.made)).expect("a short id is valid"))
    }

    fn amount(&mut self, at_most: u64) -> Option<Amount> {
        Amount::new(1 + self.rng.below(at_most.max(1))).ok()
    }

    /// A customer, as a subject id of this generator's own (so that generated personal data
    /// never names a subject forgotten earlier), with their name and address.
    fn customer(&mut self) -> (EntityId, &'static str, &'static str) {
        let (id, name, address) = *self.rng.pick(&CUSTOMERS).expect("customers");
        let subject = EntityId::parse(&format!("{}{id}", self.prefix))
            .unwrap_or_else(|_| EntityId::parse(id).expect("a short id is valid"));
        (subject, name, address)
    }

    fn open_account(&mut self) -> DemoCommand {
        let id = self.id("acc");
        // Half the accounts have a holder on record: personal data about a customer.
        let holder = (self.rng.below(2) == 0).then(|| {
            let (customer, name, _) = self.customer();
            let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
            HolderDetails { customer, name: name.to_string(), email }
        });
        DemoCommand::OpenAccount { account: id, currency: Currency::eur(), holder }
    }

    /// The next command to try.
    pub fn next_command(&mut self) -> DemoCommand {
        let open: Vec<usize> = (0..self.accounts.len()).filter(|&i| !self.accounts[i].closed).collect();
        if open.len() < 4 {
            return self.open_account();
        }
        let roll = self.rng.below(100);
        let account = |g: &mut Generator| g.rng.pick(&open).copied().map(|i| g.accounts[i].clone());
        match roll {
            0..=29 => {
                let a = account(self).expect("there are open accounts");
                let amount = self.amount(50_000).expect("a positive amount");
                DemoCommand::Deposit { account: a.id, amount }
            }
            30..=41 => {
                let a = account(self).expect("there are open accounts");
                match self.amount(a.balance.min(20_000)) {
                    Some(amount) if a.balance > 0 => DemoCommand::Withdraw { account: a.id, amount },
                    _ => DemoCommand::Deposit { account: a.id, amount: Amount::new(1_000).expect("valid") },
                }
            }
            42..=55 => {
                let (from, to) = (account(self).expect("open"), account(self).expect("open"));
                let mode = if self.rng.below(4) == 0 { TransferMode::Saga } else { TransferMode::Atomic };
                let amount = self.amount(from.balance.clamp(1, 10_000)).expect("a positive amount");
                DemoCommand::Transfer { from: from.id, to: to.id, amount, mode, transfer_id: None }
            }
            56..=58 => self.open_account(),
            59 => {
                let a = account(self).expect("open");
                if a.balance == 0 {
                    DemoCommand::CloseAccount { account: a.id }
                } else {
                    DemoCommand::Withdraw {
                        account: a.id,
                        amount: Amount::new(a.balance).unwrap_or(Amount::new(1).expect("1")),
                    }
                }
            }
            _ => self.order_command(),
        }
    }

    fn order_command(&mut self) -> DemoCommand {
        let active: Vec<OrderSeen> = self.orders.iter().filter(|o| o.stage != Stage::Done).cloned().collect();
        if active.len() < 3 || self.rng.below(5) == 0 {
            let order = self.id("order");
            let (customer, _, address) = self.customer();
            return DemoCommand::CreateOrder { order, customer, shipping_address: Some(address.to_string()) };
        }
        let o = self.rng.pick(&active).expect("active orders").clone();
        match o.stage {
            Stage::Draft if o.total == 0 || self.rng.below(3) > 0 && o.total < 200_000 => {
                let sku = EntityId::parse(self.rng.pick(&SKUS).expect("skus")).expect("valid");
                let quantity = 1 + self.rng.below(4) as u32;
                let unit_price = self.amount(5_000).expect("a positive price");
                DemoCommand::AddItem { order: o.id, sku, quantity, unit_price }
            }
            Stage::Draft => DemoCommand::ConfirmOrder { order: o.id },
            Stage::Confirmed if self.rng.below(10) == 0 => {
                DemoCommand::CancelOrder { order: o.id, reason: "changed their mind".into() }
            }
            Stage::Confirmed => DemoCommand::PayOrder {
                order: o.id,
                amount: Amount::new(o.total).unwrap_or(Amount::new(1).expect("1")),
            },
            Stage::Paid => DemoCommand::ShipOrder { order: o.id },
            Stage::Shipped | Stage::Done => DemoCommand::DeliverOrder { order: o.id },
        }
    }

    /// Updates the picture with a command the domain accepted.
    pub fn accepted(&mut self, command: &DemoCommand) {
        match command {
            DemoCommand::OpenAccount { account, .. } => {
                self.accounts.push(AccountSeen { id: account.clone(), balance: 0, closed: false })
            }
            DemoCommand::Deposit { account, amount } => self.adjust(account, amount.minor_units() as i128),
            DemoCommand::Withdraw { account, amount } => self.adjust(account, -(amount.minor_units() as i128)),
            DemoCommand::CloseAccount { account } => {
                if let Some(a) = self.accounts.iter_mut().find(|a| &a.id == account) {
                    a.closed = true;
                }
            }
            DemoCommand::Transfer { from, to, amount, .. } => {
                self.adjust(from, -(amount.minor_units() as i128));
                self.adjust(to, amount.minor_units() as i128);
            }
            DemoCommand::CreateOrder { order, .. } => {
                self.orders.push(OrderSeen { id: order.clone(), stage: Stage::Draft, total: 0 })
            }
            DemoCommand::AddItem { order, quantity, unit_price, .. } => {
                self.order(order, |o| o.total += u64::from(*quantity) * unit_price.minor_units())
            }
            DemoCommand::ConfirmOrder { order } => self.order(order, |o| o.stage = Stage::Confirmed),
            DemoCommand::PayOrder { order, .. } => self.order(order, |o| o.stage = Stage::Paid),
            DemoCommand::ShipOrder { order } => self.order(order, |o| o.stage = Stage::Shipped),
            DemoCommand::DeliverOrder { order } | DemoCommand::CancelOrder { order, .. } => {
                self.order(order, |o| o.stage = Stage::Done)
            }
            DemoCommand::ForgetSubject { .. } => {}
        }
    }

    fn adjust(&mut self, account: &EntityId, delta: i128) {
        if let Some(a) = self.accounts.iter_mut().find(|a| &a.id == account) {
            a.balance = u64::try_from(i128::from(a.balance) + delta).unwrap_or(0);
        }
    }

    fn order(&mut self, order: &EntityId, change: impl FnOnce(&mut OrderSeen)) {
        if let Some(o) = self.orders.iter_mut().find(|o| &o.id == order) {
            change(o);
        }
    }
}
