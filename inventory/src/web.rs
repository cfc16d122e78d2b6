//! The inventory on the browser runtime (feature `web`).

use eventline_web::Runtime;
use eventline_web::app_store::AppStore;
use eventline_web::env::BrowserEnv;

use crate::app::InventoryApp;

/// The inventory's application as the browser runs it.
pub type BrowserInventory = InventoryApp<AppStore, BrowserEnv>;

/// One database of the inventory, run in this tab.
pub type InventoryRuntime = Runtime<BrowserInventory>;
