//! The server tool: creates a log on a sync server (its JetStream stream and key bucket), as the
//! log's server tool user (`<log>_admin`, in the log's own account). `scripts/sync-server.sh` runs it for the demo's log.
//!
//!   eventline-sync create-log <log> [--replicas N] [--server URL]
//!
//! The password comes from `EL_NATS_ADMIN_PASSWORD`.

#[cfg(not(target_arch = "wasm32"))]
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some("create-log"), Some(log)) = (args.first().map(String::as_str), args.get(1)) else {
        eprintln!("usage: eventline-sync create-log <log> [--replicas N] [--server URL]");
        return std::process::ExitCode::from(2);
    };
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let replicas = match option("--replicas").map(|n| n.parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if (1..=5).contains(&n) => n,
        Some(_) => {
            eprintln!("eventline-sync: --replicas is 1 to 5");
            return std::process::ExitCode::from(2);
        }
    };
    let server = option("--server").unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let password = std::env::var("EL_NATS_ADMIN_PASSWORD").unwrap_or_default();
    let admin = eventline_sync::server::admin(log);
    let created = async {
        let client =
            eventline_sync::client::LogClient::connect(std::slice::from_ref(&server), log, &admin, &password).await?;
        eventline_sync::log::create(&client.js, log, replicas).await
    };
    match created.await {
        Ok(()) => {
            println!("log {log} is on {server} ({replicas} replica(s))");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("eventline-sync: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
