//! The part of the NATS protocol sync needs, over the browser's WebSocket (feature `sync`):
//! connect as a user, publish with headers, request and reply on the user's own inbox prefix,
//! and subscriptions whose messages queue until taken. Written here rather than bound from the
//! official JavaScript client: about a third of its size (docs/SYNC.md), and commits are made and
//! read in Rust without a JavaScript object per message.
//!
//! What the server sends is parsed without trusting it: a malformed line ends the connection
//! with `Protocol`, never a panic.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::failure::Failure;

/// How long connecting or a request waits before it is a typed failure, not a hang.
pub const TIMEOUT_MS: u32 = 5_000;
/// The longest line or message the client takes (the server's `max_payload` is 1 MiB).
const MAX_MESSAGE: usize = 2 << 20;

/// A message as received: its subject, reply subject, status (for JetStream's control messages,
/// 0 for none), headers and body.
#[derive(Debug, Default)]
pub struct Msg {
    pub subject: String,
    pub reply: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub data: Vec<u8>,
}

impl Msg {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

struct Inner {
    socket: WebSocket,
    /// Bytes received and not yet parsed.
    buffer: Vec<u8>,
    inbox: String,
    next: u64,
    /// Requests waiting for their reply, by the reply subject's last token.
    requests: HashMap<String, oneshot::Sender<Result<Msg, Failure>>>,
    /// Subscriptions by sid.
    subscriptions: HashMap<u64, mpsc::UnboundedSender<Msg>>,
    /// Whether CONNECT went out: once the server said hello (INFO).
    introduced: bool,
    /// Waiting for the server's answer to CONNECT (its PONG, or an error).
    ready: Option<oneshot::Sender<Result<(), Failure>>>,
    /// Why the connection ended, once it has.
    closed: Option<Failure>,
}

/// A connection to one server.
pub struct Connection {
    inner: Rc<RefCell<Inner>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(JsValue)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The socket outlives this connection (its close and any frame in flight still arrive):
        // its handlers go first, or it would call closures already dropped.
        let inner = self.inner.borrow();
        inner.socket.set_onmessage(None);
        inner.socket.set_onclose(None);
        let _ = inner.socket.close();
    }
}

fn failure(code: &str, message: impl Into<String>) -> Failure {
    Failure::new(code, message.into())
}

/// Waits for `future` at most `ms`, else `Timeout`.
pub async fn within<T>(ms: u32, what: &str, future: impl std::future::Future<Output = T>) -> Result<T, Failure> {
    let timer = gloo_timers::future::TimeoutFuture::new(ms);
    futures::pin_mut!(future);
    match futures::future::select(future, timer).await {
        futures::future::Either::Left((value, _)) => Ok(value),
        futures::future::Either::Right(_) => Err(failure("Timeout", format!("{what}: no answer within {ms} ms"))),
    }
}

impl Connection {
    /// Connects to `url` (`ws://…`) as `user`; replies come to `_INBOX_<user>.<random>`: under
    /// the only inbox its permissions let it read, and apart from every other connection of the
    /// same user (every device of a log is that log's user: with one inbox for all, each would
    /// hear the others' replies, and take an answer meant for another when their request
    /// counters met). `Unreachable`, `Unauthorized` or `Timeout` otherwise.
    pub async fn open(url: &str, user: &str, password: &str) -> Result<Connection, Failure> {
        let socket = WebSocket::new(url).map_err(|e| failure("Unreachable", format!("cannot open {url}: {e:?}")))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let (ready, answer) = oneshot::channel();
        let mut nonce = [0u8; 12];
        crate::env::random_bytes(&mut nonce);
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let inbox = format!("_INBOX_{user}.{nonce}");
        let inner = Rc::new(RefCell::new(Inner {
            socket: socket.clone(),
            buffer: Vec::new(),
            inbox: inbox.clone(),
            next: 1,
            requests: HashMap::new(),
            subscriptions: HashMap::new(),
            introduced: false,
            ready: Some(ready),
            closed: None,
        }));
        let connect = serde_json::json!({
            "verbose": false, "pedantic": false, "headers": true, "no_responders": true, "protocol": 1,
            "lang": "eventline", "version": env!("CARGO_PKG_VERSION"), "user": user, "pass": password,
        });
        let (receiving, closing) = (Rc::downgrade(&inner), Rc::downgrade(&inner));
        let connect_line = format!("CONNECT {connect}\r\nSUB {inbox}.* 1\r\nPING\r\n");
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(inner) = receiving.upgrade() else { return };
            let bytes = match event.data().dyn_into::<js_sys::ArrayBuffer>() {
                Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
                Err(data) => data.as_string().unwrap_or_default().into_bytes(),
            };
            let mut inner = inner.borrow_mut();
            inner.buffer.extend_from_slice(&bytes);
            // The server speaks first (INFO): CONNECT goes out once it has.
            if !inner.introduced && inner.buffer.starts_with(b"INFO ") {
                inner.introduced = true;
                let _ = inner.socket.send_with_str(&connect_line);
            }
            if let Err(error) = inner.pump() {
                inner.end(error);
            }
        });
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            if let Some(inner) = closing.upgrade() {
                inner.borrow_mut().end(failure("Unreachable", "the connection to the sync server closed"));
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let connection = Connection { inner, _on_message: on_message, _on_close: on_close };
        // No answer at all is a server that cannot be reached (WebKit, for one, may never close a
        // socket whose server is not there), not a slow one.
        let answered = within(TIMEOUT_MS, &format!("connecting to {url}"), answer)
            .await
            .map_err(|e| failure("Unreachable", e.message))?;
        answered.unwrap_or_else(|_| Err(failure("Unreachable", format!("cannot reach {url}"))))?;
        Ok(connection)
    }

    fn send(&self, bytes: &[u8]) -> Result<(), Failure> {
        let inner = self.inner.borrow();
        if let Some(closed) = &inner.closed {
            return Err(closed.clone());
        }
        inner.socket.send_with_u8_array(bytes).map_err(|e| failure("Unreachable", format!("{e:?}")))
    }

    /// Publishes a message, with no reply.
    pub fn publish(&self, subject: &str, headers: &[(&str, String)], body: &[u8]) -> Result<(), Failure> {
        self.send(&frame(subject, "", headers, body))
    }

    /// Publishes a message whose answers go to `reply` (a subject of [`Connection::subscribe`]).
    pub fn publish_with_reply(&self, subject: &str, reply: &str, body: &[u8]) -> Result<(), Failure> {
        self.send(&frame(subject, reply, &[], body))
    }

    /// Sends a request and waits for its reply (at most [`TIMEOUT_MS`]). A subject nobody
    /// answers is `NoResponders`.
    pub async fn request(&self, subject: &str, headers: &[(&str, String)], body: &[u8]) -> Result<Msg, Failure> {
        let (token, reply) = {
            let mut inner = self.inner.borrow_mut();
            inner.next += 1;
            let token = format!("r{}", inner.next);
            let reply = format!("{}.{token}", inner.inbox);
            (token, reply)
        };
        let (sender, receiver) = oneshot::channel();
        self.inner.borrow_mut().requests.insert(token.clone(), sender);
        if let Err(error) = self.send(&frame(subject, &reply, headers, body)) {
            self.inner.borrow_mut().requests.remove(&token);
            return Err(error);
        }
        let answered = within(TIMEOUT_MS, subject, receiver).await;
        self.inner.borrow_mut().requests.remove(&token);
        let message = answered?.unwrap_or_else(|_| Err(failure("Unreachable", "the connection closed")))?;
        if message.status == 503 {
            return Err(failure("NoResponders", format!("nobody answers {subject}")));
        }
        Ok(message)
    }

    /// Subscribes to a subject of this connection's inbox; its messages queue until taken.
    pub fn subscribe(&self, token: &str) -> Result<(String, u64, mpsc::UnboundedReceiver<Msg>), Failure> {
        let (sender, receiver) = mpsc::unbounded();
        let (subject, sid) = {
            let mut inner = self.inner.borrow_mut();
            inner.next += 1;
            let sid = inner.next;
            inner.subscriptions.insert(sid, sender);
            (format!("{}.{token}", inner.inbox), sid)
        };
        self.send(format!("SUB {subject} {sid}\r\n").as_bytes())?;
        Ok((subject, sid, receiver))
    }

    pub fn unsubscribe(&self, sid: u64) {
        self.inner.borrow_mut().subscriptions.remove(&sid);
        let _ = self.send(format!("UNSUB {sid}\r\n").as_bytes());
    }

    /// Why the connection ended, if it has.
    pub fn closed(&self) -> Option<Failure> {
        self.inner.borrow().closed.clone()
    }
}

/// `PUB`, or `HPUB` with headers, as bytes.
fn frame(subject: &str, reply: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + subject.len() + body.len());
    let space = if reply.is_empty() { "" } else { " " };
    if headers.is_empty() {
        out.extend_from_slice(format!("PUB {subject}{space}{reply} {}\r\n", body.len()).as_bytes());
    } else {
        let mut block = String::from("NATS/1.0\r\n");
        for (name, value) in headers {
            block.push_str(&format!("{name}: {value}\r\n"));
        }
        block.push_str("\r\n");
        let total = block.len() + body.len();
        out.extend_from_slice(format!("HPUB {subject}{space}{reply} {} {total}\r\n", block.len()).as_bytes());
        out.extend_from_slice(block.as_bytes());
    }
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
    out
}

impl Inner {
    fn end(&mut self, why: Failure) {
        if self.closed.is_none() {
            self.closed = Some(why.clone());
        }
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(why.clone()));
        }
        for (_, request) in self.requests.drain() {
            let _ = request.send(Err(why.clone()));
        }
        self.subscriptions.clear();
        let _ = self.socket.close();
    }

    /// Acts on every whole operation the buffer holds, then drops them from it at once (a page
    /// of a thousand messages arrives in one frame: dropping each as it is read would move the
    /// rest of the frame a thousand times).
    fn pump(&mut self) -> Result<(), Failure> {
        let mut offset = 0;
        let result = loop {
            let (op, used) = match next_op(&self.buffer[offset..]) {
                Ok(Some(next)) => next,
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            };
            offset += used;
            match op {
                Op::Msg(sid, message) => self.deliver(sid, message),
                Op::Ping => {
                    let _ = self.socket.send_with_str("PONG\r\n");
                }
                Op::Pong => {
                    if let Some(ready) = self.ready.take() {
                        let _ = ready.send(Ok(()));
                    }
                }
                Op::Err(line) => {
                    let lower = line.to_ascii_lowercase();
                    if lower.contains("authorization") || lower.contains("authentication") {
                        let why = format!("the sync server refused the credentials: {line}");
                        break Err(failure("Unauthorized", why));
                    }
                    if !lower.contains("permissions violation") {
                        break Err(failure("ServerRefused", line));
                    }
                    // The server keeps the connection; what was refused gets no answer, so every
                    // request waiting now is told (a log's user reaching another log).
                    for (_, request) in self.requests.drain() {
                        let _ = request.send(Err(failure("Forbidden", line.clone())));
                    }
                }
                Op::Other => {}
            }
        };
        self.buffer.drain(..offset);
        result
    }

    fn deliver(&mut self, sid: u64, message: Msg) {
        if sid == 1 {
            let token = message.subject.rsplit('.').next().unwrap_or_default().to_string();
            if let Some(request) = self.requests.remove(&token) {
                let _ = request.send(Ok(message));
            }
        } else if let Some(subscription) = self.subscriptions.get(&sid) {
            let _ = subscription.unbounded_send(message);
        }
    }
}

/// One operation from the server.
#[derive(Debug)]
enum Op {
    Msg(u64, Msg),
    Ping,
    Pong,
    Err(String),
    /// `INFO`, `+OK`: nothing to do.
    Other,
}

/// The first whole operation in `buffer` and how many bytes it took, `None` if it is not all
/// there yet. What is not the protocol is `Protocol`, never a panic.
fn next_op(buffer: &[u8]) -> Result<Option<(Op, usize)>, Failure> {
    let protocol = |what: &str| failure("Protocol", format!("the sync server sent {what}"));
    let Some(eol) = buffer.windows(2).position(|w| w == b"\r\n") else {
        return if buffer.len() > MAX_MESSAGE { Err(protocol("a line too long")) } else { Ok(None) };
    };
    let line = String::from_utf8_lossy(&buffer[..eol]).into_owned();
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let (op, args) = fields.split_first().map_or(("", &[][..]), |(op, args)| (*op, args));
    let after_line = eol + 2;
    let op = match op.to_ascii_uppercase().as_str() {
        "MSG" | "HMSG" => {
            let with_headers = op.eq_ignore_ascii_case("HMSG");
            let numbers = if with_headers { 2 } else { 1 };
            if args.len() < 2 + numbers || args.len() > 3 + numbers {
                return Err(protocol(&format!("a malformed {op}")));
            }
            let number = |s: &str| s.parse::<usize>().map_err(|_| protocol(&format!("a malformed {op}")));
            let total = number(args[args.len() - 1])?;
            let header_len = if with_headers { number(args[args.len() - 2])? } else { 0 };
            if total > MAX_MESSAGE || header_len > total {
                return Err(protocol(&format!("a malformed {op}")));
            }
            if buffer.len() < after_line + total + 2 {
                return Ok(None);
            }
            let body = &buffer[after_line..after_line + total];
            let sid = args[1].parse::<u64>().map_err(|_| protocol("a malformed sid"))?;
            let reply = if args.len() == 3 + numbers { args[2].to_string() } else { String::new() };
            let (status, headers) = parse_headers(&body[..header_len]);
            let message =
                Msg { subject: args[0].to_string(), reply, status, headers, data: body[header_len..].to_vec() };
            return Ok(Some((Op::Msg(sid, message), after_line + total + 2)));
        }
        "PING" => Op::Ping,
        "PONG" => Op::Pong,
        "-ERR" => Op::Err(line.clone()),
        "INFO" | "+OK" => Op::Other,
        _ => return Err(protocol(&format!("an unknown operation {}", eventline_core::ids::quote(op)))),
    };
    Ok(Some((op, after_line)))
}

/// A header block: its status (`NATS/1.0 404 No Messages`) and its headers.
fn parse_headers(block: &[u8]) -> (u16, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(block);
    let mut lines = text.split("\r\n");
    let status = lines.next().and_then(|first| first.split(' ').nth(1)).and_then(|code| code.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    (status, headers)
}

/// Takes the next message of a subscription, waiting at most `ms`.
pub async fn next(receiver: &mut mpsc::UnboundedReceiver<Msg>, ms: u32, what: &str) -> Result<Msg, Failure> {
    within(ms, what, receiver.next())
        .await?
        .ok_or_else(|| failure("Unreachable", "the connection to the sync server closed"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every operation in `chunks` fed one after the other, as frames arrive: what `pump` acts
    /// on, or the failure that ends the connection.
    fn read(chunks: &[Vec<u8>]) -> Result<Vec<String>, String> {
        let (mut buffer, mut ops) = (Vec::new(), Vec::new());
        for chunk in chunks {
            buffer.extend_from_slice(chunk);
            let mut offset = 0;
            while let Some((op, used)) = next_op(&buffer[offset..]).map_err(|e| e.code.clone())? {
                ops.push(format!("{op:?}"));
                offset += used;
            }
            buffer.drain(..offset);
        }
        Ok(ops)
    }

    fn wire() -> Vec<u8> {
        let mut bytes = b"INFO {\"server_id\":\"x\"}\r\nPING\r\n".to_vec();
        bytes.extend(frame("el.demo.s.account.a", "$JS.ACK.EL_demo.c.1.7.1.1700000000.0", &[], b"hello").replace_op());
        bytes.extend(
            frame("_INBOX_demo.r2", "", &[("Nats-Batch-Id", "b".into()), ("Nats-Msg-Id", "c1".into())], b"{\"seq\":3}")
                .replace_op(),
        );
        bytes.extend(b"HMSG _INBOX_demo.pull1 9 19 19\r\nNATS/1.0 404 No\r\n\r\n\r\n-ERR 'Permissions Violation for Publish to \"x\"'\r\nPONG\r\n");
        bytes
    }

    /// What the client sends (PUB/HPUB) as the server delivers it (MSG/HMSG with a sid).
    trait AsDelivered {
        fn replace_op(self) -> Vec<u8>;
    }
    impl AsDelivered for Vec<u8> {
        fn replace_op(self) -> Vec<u8> {
            let text = String::from_utf8(self).unwrap();
            let (line, rest) = text.split_once("\r\n").unwrap();
            let mut fields: Vec<&str> = line.split(' ').collect();
            let op = if fields[0] == "HPUB" { "HMSG" } else { "MSG" };
            fields[0] = op;
            fields.insert(2, "5");
            format!("{}\r\n{rest}", fields.join(" ")).into_bytes()
        }
    }

    #[test]
    fn operations_are_read_whole_however_the_frames_cut_them() {
        let whole = read(&[wire()]).unwrap();
        assert_eq!(whole.len(), 7, "{whole:#?}");
        assert!(whole[2].contains("subject: \"el.demo.s.account.a\"") && whole[2].contains("data: [104, 101"));
        assert!(whole[3].contains("(\"Nats-Msg-Id\", \"c1\")"), "{}", whole[3]);
        assert!(whole[4].contains("status: 404"), "{}", whole[4]);
        let bytes = wire();
        for cut in 0..bytes.len() {
            assert_eq!(read(&[bytes[..cut].to_vec(), bytes[cut..].to_vec()]).unwrap(), whole, "cut at {cut}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever a server (or something pretending to be one) sends is operations or
        /// `Protocol`, never a panic, in any framing.
        #[test]
        fn anything_sent_is_operations_or_a_protocol_failure(
            chunks in prop::collection::vec(
                prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..64),
                    (0..wire().len(), 0..wire().len()).prop_map(|(a, b)| wire()[a.min(b)..a.max(b)].to_vec()),
                    "(MSG|HMSG|PING|PONG|INFO|-ERR|\\+OK)( [a-z0-9._$]{0,12}){0,6}\r\n".prop_map(String::into_bytes),
                ],
                1..8,
            )
        ) {
            if let Err(code) = read(&chunks) {
                prop_assert_eq!(code, "Protocol");
            }
        }
    }
}
