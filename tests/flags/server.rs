//! A small HTTP/1.1 server on 127.0.0.1 for the flag client's tests: it serves one bundle
//! at `/flags.json` with a strong ETag and `304 Not Modified`, its checksum at
//! `/flags.json.sha256`, and can misbehave on request. Every request is logged.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How `/flags.json` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// ETag `"<sha256>"`, 304 when `If-None-Match` matches.
    Normal,
    /// The ETag of the bundle, but one byte of the body changed.
    Corrupt,
    /// A `Content-Length` for the whole body, then half of it and a closed connection.
    Truncated,
    /// No ETag and never 304, like a plain static server.
    NoEtag,
    /// This status and no body.
    Status(u16),
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub if_none_match: Option<String>,
    pub status: u16,
    /// Body bytes sent.
    pub body_bytes: usize,
}

#[derive(Debug)]
struct State {
    body: Vec<u8>,
    sha256: String,
    mode: Mode,
    log: Vec<Logged>,
}

pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `body` (with its sha256) on a free port of 127.0.0.1.
    pub fn start(body: &[u8]) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            body: body.to_vec(),
            sha256: glassroom::flags::sha256_hex(body),
            mode: Mode::Normal,
            log: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let _ = handle(stream, &state);
                    }
                }
            })
        };
        Server {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/flags.json", self.addr)
    }

    /// Serves another bundle from now on.
    pub fn set_body(&self, body: &[u8]) {
        let mut state = self.state.lock().expect("state");
        state.body = body.to_vec();
        state.sha256 = glassroom::flags::sha256_hex(body);
    }

    /// Serves `body` under the ETag of `claimed` (a body that does not match its ETag).
    pub fn set_body_claiming(&self, body: &[u8], claimed: &[u8]) {
        let mut state = self.state.lock().expect("state");
        state.body = body.to_vec();
        state.sha256 = glassroom::flags::sha256_hex(claimed);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().expect("state").mode = mode;
    }

    /// The requests so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().expect("state").log.clone()
    }

    /// Stops accepting connections: later requests are refused.
    pub fn shut_down(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let mut if_none_match = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("if-none-match")
        {
            if_none_match = Some(value.trim().to_owned());
        }
    }
    let mut state = state.lock().expect("state");
    let etag = format!("\"{}\"", state.sha256);
    let (status, headers, body, declared): (u16, Vec<String>, Vec<u8>, usize) =
        match (path.as_str(), state.mode) {
            ("/flags.json", Mode::Status(code)) => (code, vec![], vec![], 0),
            ("/flags.json", Mode::NoEtag) => {
                let body = state.body.clone();
                let n = body.len();
                (200, vec![], body, n)
            }
            ("/flags.json", _) if if_none_match.as_deref() == Some(etag.as_str()) => {
                (304, vec![format!("ETag: {etag}")], vec![], 0)
            }
            ("/flags.json", mode) => {
                let mut body = state.body.clone();
                let n = body.len();
                match mode {
                    Mode::Corrupt => {
                        if let Some(byte) = body.get_mut(n / 2) {
                            *byte ^= 0x20;
                        }
                    }
                    Mode::Truncated => body.truncate(n / 2),
                    _ => {}
                }
                (200, vec![format!("ETag: {etag}")], body, n)
            }
            ("/flags.json.sha256", _) => {
                let body = format!("{}\n", state.sha256).into_bytes();
                let n = body.len();
                (200, vec![], body, n)
            }
            _ => (404, vec![], vec![], 0),
        };
    state.log.push(Logged {
        path,
        if_none_match,
        status,
        body_bytes: body.len(),
    });
    drop(state);
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        _ => "Error",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
    for header in headers {
        head.push_str(&header);
        head.push_str("\r\n");
    }
    if status != 304 {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {declared}\r\n"
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    stream.flush()
}
