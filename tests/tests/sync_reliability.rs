//! Sync under disorder, through the real nats-server `scripts/test.sh` starts (log `demo`; see
//! `sync_runtime.rs`): three devices (databases of their own in this page) write concurrently to
//! the same and to different accounts, atomic transfers included, while their connections are cut
//! and restored at random; then one device stays offline for 1,000 commits on an account another
//! device writes meanwhile, and comes back; and a page closed between putting another device's
//! commit before its pending one and deciding that one again loses nothing.
//!
//! Afterwards, what a user would check: every device holds the same log in the same order;
//! every command a device accepted is in it exactly once, or was reported to that device as
//! rejected after sync (and then is not in it); and no money was made or lost: the balances add
//! up to what the accepted commands moved. The counts are printed (docs/RELIABILITY.md).

#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use eventline_demo::web::DemoRuntime as Runtime;
use eventline_web::idb;
use eventline_web::runtime::{EventFilter, Notice, SyncOptions};
use eventline_web::tabs::sleep;
use serde_json::{Value, json};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn options() -> SyncOptions {
    let url = option_env!("EVENTLINE_SYNC_WS").unwrap_or_else(|| {
        panic!("EVENTLINE_SYNC_WS (at build time): a sync server with log demo; scripts/test.sh starts one")
    });
    SyncOptions { url: url.into(), log: "demo".into(), user: "demo".into(), password: "demo-dev".into() }
}

fn random(below: u64) -> u64 {
    (js_sys::Math::random() * below as f64) as u64
}

fn tag() -> String {
    (0..8).map(|_| char::from(b'a' + random(26) as u8)).collect()
}

async fn device(name: &str) -> Runtime {
    idb::delete(name).await.expect("an old test database can be deleted");
    let rt = Runtime::open(name).await.expect("the runtime opens");
    rt.start_sync(options()).await.expect("sync starts");
    rt
}

async fn eventually(what: &str, ms: u32, mut check: impl AsyncFnMut() -> bool) {
    let start = js_sys::Date::now();
    while !check().await {
        assert!(js_sys::Date::now() - start < f64::from(ms), "timed out waiting for {what}");
        sleep(50).await;
    }
}

async fn synced(rt: &Runtime) -> bool {
    rt.sync_status().state == "online" && rt.pending_commits().await.is_ok_and(|p| p.is_empty())
}

async fn balance(rt: &Runtime, account: &str) -> Option<u64> {
    rt.query("balances", &json!({ "account": account }).to_string()).await.ok()?.value()["balance"].as_u64()
}

/// The commits of a device's log, in order: command id and event count.
async fn commits(rt: &Runtime) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut from = 1;
    loop {
        let filter = EventFilter { from: Some(from), limit: Some(10_000), ..EventFilter::default() };
        let page = rt.events(&filter).await.unwrap();
        let Some(last) = page.last() else { return out };
        from = last.meta.position.0 + 1;
        for event in &page {
            match out.last_mut() {
                Some((id, count)) if *id == event.meta.command_id.as_str() => *count += 1,
                _ => out.push((event.meta.command_id.to_string(), 1)),
            }
        }
    }
}

/// A command one device accepted: its id, the device, and the money it moves into the run's
/// accounts (a transfer moves none).
struct Accepted {
    id: String,
    device: usize,
    inflow: i64,
}

/// Waits until every device is online with nothing pending and all hold the same commits.
async fn converged(devices: &[Runtime], ms: u32) -> Vec<(String, usize)> {
    eventually("every device online with nothing pending", ms, async || {
        for rt in devices {
            if !synced(rt).await {
                return false;
            }
        }
        true
    })
    .await;
    let start = js_sys::Date::now();
    loop {
        let mut logs = Vec::new();
        for rt in devices {
            logs.push(commits(rt).await);
        }
        if logs.windows(2).all(|w| w[0] == w[1]) {
            return logs.swap_remove(0);
        }
        if js_sys::Date::now() - start > f64::from(ms) {
            let statuses: Vec<_> = devices.iter().map(|rt| rt.sync_status()).collect();
            let differ = (0..logs[0].len().max(logs[1].len()).max(logs[2 % logs.len()].len()))
                .find(|&i| logs.iter().any(|l| l.get(i) != logs[0].get(i)))
                .unwrap_or(0);
            let around: Vec<_> =
                logs.iter().map(|l| l[differ.saturating_sub(1)..(differ + 3).min(l.len())].to_vec()).collect();
            let mut dead = Vec::new();
            for rt in devices {
                dead.push(rt.sync_dead_letters().await.unwrap().into_iter().take(3).collect::<Vec<_>>());
            }
            panic!("the logs differ at commit {differ}: {around:?}; statuses {statuses:?}; dead letters {dead:?}");
        }
        sleep(50).await;
    }
}

/// Checks `accepted` against the converged log: each in it once, or rejected on its device
/// and absent; and the run's balances, the same on every device, add up.
async fn check(devices: &[Runtime], log: &[(String, usize)], accepted: &[Accepted], accounts: &[String], start: i64) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (id, _) in log {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    assert!(seen.values().all(|&n| n == 1), "a command id commits once");
    let mut rejected: Vec<Vec<String>> = Vec::new();
    for rt in devices {
        rejected.push(rt.rejected_commands().await.unwrap().into_iter().map(|r| r.command_id).collect());
    }
    let mut money = start;
    for command in accepted {
        let refused = rejected[command.device].contains(&command.id);
        let stored = seen.contains_key(command.id.as_str());
        assert!(
            stored != refused,
            "{}: stored {stored}, rejected after sync {refused}; its device's sync: {:?}",
            command.id,
            devices[command.device].sync_status()
        );
        if stored {
            money += command.inflow;
        }
    }
    for rt in devices {
        let mut total = 0i64;
        for account in accounts {
            total += balance(rt, account).await.unwrap_or(0) as i64;
        }
        assert_eq!(total, money, "no money made or lost, on every device");
    }
}

#[wasm_bindgen_test]
async fn devices_cut_off_and_restored_converge_with_every_command_once_or_rejected() {
    let t = tag();
    let devices = vec![
        device(&format!("rel-a-{t}")).await,
        device(&format!("rel-b-{t}")).await,
        device(&format!("rel-c-{t}")).await,
    ];
    let accounts: Vec<String> = (0..4).map(|i| format!("{t}-{i}")).collect();
    for account in &accounts {
        let open = json!({"type": "OpenAccount", "account": account}).to_string();
        devices[0].execute_text(&open).await.unwrap();
        let deposit = json!({"type": "Deposit", "account": account, "amount": 500}).to_string();
        devices[0].execute_text(&deposit).await.unwrap();
    }
    // A new device first reads the whole log the earlier runs left (each browser's run adds to it),
    // and checks it: in WebKit's debug build that takes a while.
    eventually("the accounts on every device", 180_000, async || {
        for rt in &devices {
            if balance(rt, &accounts[3]).await != Some(500) {
                return false;
            }
        }
        true
    })
    .await;

    let (mut accepted, mut refused_here, mut cuts) = (Vec::new(), 0, 0);
    let mut online = [true; 3];
    for step in 0..150 {
        let d = step % 3;
        if random(100) < 12 {
            cuts += 1;
            if online[d] {
                devices[d].stop_sync();
            } else {
                devices[d].start_sync(options()).await.unwrap();
            }
            online[d] = !online[d];
        }
        let id = format!("{t}-c{step}");
        let account = &accounts[random(4) as usize];
        let amount = 1 + random(200) as i64;
        let (command, inflow) = match random(3) {
            0 => (json!({"type": "Deposit", "account": account, "amount": amount, "commandId": id}), amount),
            1 => (json!({"type": "Withdraw", "account": account, "amount": amount, "commandId": id}), -amount),
            _ => {
                let to = &accounts[random(4) as usize];
                if to == account {
                    continue;
                }
                (json!({"type": "Transfer", "from": account, "to": to, "amount": amount, "commandId": id}), 0)
            }
        };
        match devices[d].execute_text(&command.to_string()).await {
            Ok(_) => accepted.push(Accepted { id, device: d, inflow }),
            Err(e) if e.code == "InsufficientFunds" => refused_here += 1,
            Err(e) => panic!("{command}: {e}"),
        }
        sleep(random(15) as u32).await;
    }
    for (d, rt) in devices.iter().enumerate() {
        if !online[d] {
            rt.start_sync(options()).await.unwrap();
        }
    }
    let log = converged(&devices, 90_000).await;
    check(&devices, &log, &accepted, &accounts, 2_000).await;
    let rejected: usize = {
        let mut n = 0;
        for rt in &devices {
            n += rt.rejected_commands().await.unwrap().len();
        }
        n
    };
    let redecided: u64 = devices.iter().map(|rt| rt.sync_status().redecided).sum();
    web_sys::console::log_1(
        &format!(
            "sync reliability: 3 devices, {} commands accepted locally ({refused_here} refused at once), \
             {cuts} connections cut or restored; {redecided} decided again after sync, {rejected} rejected after \
             sync; every device holds the same {} commits",
            accepted.len(),
            log.len()
        )
        .into(),
    );
    for rt in &devices {
        rt.close();
    }
}

#[wasm_bindgen_test]
async fn a_device_offline_for_a_thousand_commits_comes_back() {
    let t = tag();
    let devices = vec![device(&format!("off-a-{t}")).await, device(&format!("off-b-{t}")).await];
    let account = format!("{t}-0");
    devices[0].execute_text(&json!({"type": "OpenAccount", "account": account}).to_string()).await.unwrap();
    eventually("the account on device b", 180_000, async || balance(&devices[1], &account).await == Some(0)).await;
    eventually("device b in step", 60_000, async || synced(&devices[1]).await).await;

    devices[1].stop_sync();
    let mut accepted = Vec::new();
    for i in 0..1_000 {
        let id = format!("{t}-off{i}");
        let command: Value = json!({"type": "Deposit", "account": account, "amount": 1, "commandId": id});
        devices[1].execute_text(&command.to_string()).await.unwrap();
        accepted.push(Accepted { id, device: 1, inflow: 1 });
    }
    // Meanwhile the other device writes the same account: every pending commit is decided again.
    let id = format!("{t}-online");
    let command = json!({"type": "Deposit", "account": account, "amount": 5, "commandId": id});
    devices[0].execute_text(&command.to_string()).await.unwrap();
    accepted.push(Accepted { id, device: 0, inflow: 5 });
    eventually("device a confirmed", 60_000, async || synced(&devices[0]).await).await;
    assert_eq!(devices[1].pending_commits().await.unwrap().len(), 1_000);

    devices[1].start_sync(options()).await.unwrap();
    let log = converged(&devices, 120_000).await;
    check(&devices, &log, &accepted, std::slice::from_ref(&account), 0).await;
    assert!(devices[1].rejected_commands().await.unwrap().is_empty(), "deposits are never refused");
    assert_eq!(balance(&devices[0], &account).await, Some(1_005));
    web_sys::console::log_1(
        &format!(
            "sync reliability: 1,000 commits made offline came back, {} decided again",
            devices[1].sync_status().redecided
        )
        .into(),
    );
    for rt in &devices {
        rt.close();
    }
}

#[wasm_bindgen_test]
async fn a_page_closed_before_its_cut_command_is_decided_again_loses_nothing() {
    let t = tag();
    let (a, b) = (device(&format!("cut-a-{t}")).await, device(&format!("cut-b-{t}")).await);
    let account = format!("{t}-0");
    let open = json!({"type": "OpenAccount", "account": account});
    a.execute_text(&open.to_string()).await.unwrap();
    let deposit = json!({"type": "Deposit", "account": account, "amount": 100});
    a.execute_text(&deposit.to_string()).await.unwrap();
    eventually("the deposit on device b", 180_000, async || balance(&b, &account).await == Some(100)).await;
    eventually("device b in step", 60_000, async || synced(&b).await).await;

    // Offline, b withdraws 50 on what it knows (100) while a withdraws 30.
    b.stop_sync();
    let withdraw = json!({"type": "Withdraw", "account": account, "amount": 30});
    a.execute_text(&withdraw.to_string()).await.unwrap();
    eventually("device a confirmed", 60_000, async || synced(&a).await).await;
    let fifty = format!("{t}-w50");
    let command = json!({"type": "Withdraw", "account": account, "amount": 50, "commandId": fifty});
    b.execute_text(&command.to_string()).await.unwrap();

    // b's page closes the moment a's withdrawal is put before b's: b's is cut, not yet decided.
    let closed = Rc::new(Cell::new(false));
    let (closing, told) = (b.clone(), closed.clone());
    b.subscribe(move |notice| {
        if matches!(notice, Notice::Rewound { .. }) {
            closing.close();
            told.set(true);
        }
    });
    b.start_sync(options()).await.unwrap();
    eventually("b's page closed after the cut", 60_000, async || closed.get()).await;
    drop(b);
    let b = Runtime::open(&format!("cut-b-{t}")).await.expect("the runtime opens again");
    let stream = EventFilter { stream: Some(format!("account-{account}")), ..EventFilter::default() };
    assert_eq!(b.events(&stream).await.unwrap().len(), 3, "opened, deposited, a's withdrawal: b's was cut");
    assert!(b.pending_commits().await.unwrap().is_empty());
    // Cut: neither in the log nor rejected yet; the next page decides it.
    assert!(b.rejected_commands().await.unwrap().is_empty());
    b.start_sync(options()).await.unwrap();
    eventually("b's withdrawal decided again and confirmed", 60_000, async || {
        synced(&b).await && balance(&a, &account).await == Some(20) && balance(&b, &account).await == Some(20)
    })
    .await;
    let log = converged(&[a.clone(), b.clone()], 60_000).await;
    let accepted = [Accepted { id: fifty, device: 1, inflow: -50 }];
    check(&[a.clone(), b.clone()], &log, &accepted, std::slice::from_ref(&account), 70).await;
    a.close();
    b.close();
}
