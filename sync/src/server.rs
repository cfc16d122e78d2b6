//! `nats-server` started from the repository's configs (`sync/nats/`), on ports of its own and
//! in a directory of its own: one node, or a three-node cluster. Stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::SyncError;

/// The development passwords of `sync/nats/users.conf`'s users (loopback only): each log's
/// server tool user (`<log>_admin`, [`admin`]) and its devices' user.
pub const ADMIN_PASSWORD: &str = "admin-dev";
pub const DEMO: (&str, &str) = ("demo", "demo-dev");
pub const ALPHA: (&str, &str) = ("alpha", "alpha-dev");
pub const BETA: (&str, &str) = ("beta", "beta-dev");

/// The server tool's user of log `log`.
pub fn admin(log: &str) -> String {
    format!("{log}_admin")
}

/// The server binary: `NATS_SERVER`, or where `scripts/setup.sh` installs it, or the `PATH`'s.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return path.into();
    }
    let home = std::env::var_os("EVENTLINE_NATS_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/eventline/nats")));
    match home.map(|home| home.join("bin/nats-server")) {
        Some(path) if path.exists() => path,
        _ => "nats-server".into(),
    }
}

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("nats")
}

/// A port nobody listens on now, below Linux's ephemeral range (32768 and up), where the
/// system's own choice for a client's connection could take it between this check and the
/// server's bind; each process starts at its own offset and never hands out a port twice.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = 20_000 + (std::process::id() % 400) * 30;
    loop {
        let port = start + NEXT.fetch_add(1, Ordering::Relaxed) % 12_000;
        let port = if port >= 32_000 { port - 12_000 } else { port } as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// One node's ports and files.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub port: u16,
    pub websocket: u16,
    pub monitor: u16,
    pub cluster: Option<u16>,
    pub store: PathBuf,
}

impl Node {
    fn new(name: &str, dir: &Path, cluster: bool) -> Node {
        Node {
            name: name.to_string(),
            port: free_port(),
            websocket: free_port(),
            monitor: free_port(),
            cluster: cluster.then(free_port),
            store: dir.join(name),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn websocket_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.websocket)
    }
}

/// A running server, or cluster: stopped (killed) when dropped.
pub struct Servers {
    pub nodes: Vec<Node>,
    children: Vec<Option<Child>>,
    dir: PathBuf,
}

impl Servers {
    /// One node with `server.conf`, in a fresh directory under the system's temporary one.
    pub fn single(name: &str) -> Result<Servers, SyncError> {
        let dir = fresh_dir(name);
        let mut servers = Servers { nodes: vec![Node::new("n1", &dir, false)], children: vec![None], dir };
        servers.start(0)?;
        Ok(servers)
    }

    /// Three nodes with `cluster.conf`, routed to each other.
    pub fn cluster(name: &str) -> Result<Servers, SyncError> {
        let dir = fresh_dir(name);
        let nodes: Vec<Node> = ["n1", "n2", "n3"].iter().map(|n| Node::new(n, &dir, true)).collect();
        let mut servers = Servers { nodes, children: vec![None, None, None], dir };
        for i in 0..3 {
            servers.spawn(i)?;
        }
        for i in 0..3 {
            servers.wait_ready(i)?;
        }
        Ok(servers)
    }

    /// A client URL of every node, for a client to fail over between.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::url).collect()
    }

    fn spawn(&mut self, i: usize) -> Result<(), SyncError> {
        let node = &self.nodes[i];
        let config = configs().join(if node.cluster.is_some() { "cluster.conf" } else { "server.conf" });
        let mut command = Command::new(binary());
        command
            .arg("-c")
            .arg(&config)
            .env("EL_NATS_NAME", &node.name)
            .env("EL_NATS_PORT", node.port.to_string())
            .env("EL_NATS_WS_PORT", node.websocket.to_string())
            .env("EL_NATS_MONITOR_PORT", node.monitor.to_string())
            .env("EL_NATS_STORE", &node.store)
            .env("EL_NATS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("EL_NATS_DEMO_PASSWORD", DEMO.1)
            .env("EL_NATS_ALPHA_PASSWORD", ALPHA.1)
            .env("EL_NATS_BETA_PASSWORD", BETA.1)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join(format!("{}.log", node.name))).map_err(io)?);
        if let Some(port) = node.cluster {
            command.env("EL_NATS_CLUSTER_PORT", port.to_string());
            for (j, other) in self.nodes.iter().enumerate() {
                let route = format!("nats-route://127.0.0.1:{}", other.cluster.expect("a cluster node"));
                command.env(format!("EL_NATS_ROUTE_{}", j + 1), route);
            }
        }
        let child = command.spawn().map_err(|e| {
            SyncError::new(
                "NoServer",
                format!("cannot start {} (scripts/setup.sh installs it): {e}", binary().display()),
            )
        })?;
        self.children[i] = Some(child);
        Ok(())
    }

    /// Waits until node `i` answers its health check (JetStream included).
    fn wait_ready(&mut self, i: usize) -> Result<(), SyncError> {
        let started = Instant::now();
        let monitor = self.nodes[i].monitor;
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(child) = self.children[i].as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log =
                    std::fs::read_to_string(self.dir.join(format!("{}.log", self.nodes[i].name))).unwrap_or_default();
                return Err(SyncError::new("NoServer", format!("nats-server exited ({status}): {log}")));
            }
            if healthy(monitor) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(SyncError::new("NoServer", format!("node {} not ready within 30 s", self.nodes[i].name)))
    }

    /// Starts node `i` (again, after [`Servers::kill`]) and waits until it is ready.
    pub fn start(&mut self, i: usize) -> Result<(), SyncError> {
        self.spawn(i)?;
        self.wait_ready(i)
    }

    /// Kills node `i` at once (SIGKILL: no goodbye to the cluster).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a node's monitor says it is healthy, JetStream included (`/healthz`).
fn healthy(monitor: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", monitor)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

fn fresh_dir(name: &str) -> PathBuf {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("eventline-nats-{name}-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

fn io(error: std::io::Error) -> SyncError {
    SyncError::new("NoServer", error.to_string())
}
