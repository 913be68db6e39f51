//! A minimal static file server for trying the flag client until `glassroom serve` exists:
//! every file's strong ETag is `"<sha256 of its bytes>"` (for `flags.json` that is the
//! bundle's checksum) and `If-None-Match` gets `304 Not Modified`. One request per
//! connection, GET only, 127.0.0.1 only. Not for production.
//!
//! ```sh
//! cargo run --example flags_server -- content-example/public --port 8080
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut root, mut port) = (None, 8080u16);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            match args.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => {
                    eprintln!("--port needs a number");
                    return ExitCode::from(2);
                }
            }
        } else {
            root = Some(PathBuf::from(arg));
        }
    }
    let Some(root) = root else {
        eprintln!("usage: flags_server DIR [--port PORT]");
        return ExitCode::from(2);
    };
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {err}");
            return ExitCode::from(2);
        }
    };
    eprintln!("serving {} on http://127.0.0.1:{port}/", root.display());
    for stream in listener.incoming().flatten() {
        if let Err(err) = answer(stream, &root) {
            eprintln!("error: {err}");
        }
    }
    ExitCode::SUCCESS
}

fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
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
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let relative = Path::new(path.trim_start_matches('/'));
    let safe = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let mut file = root.join(relative);
    if file.is_dir() {
        file = file.join("index.html");
    }
    let (status, headers, body) = match (method, safe, std::fs::read(&file)) {
        ("GET", true, Ok(bytes)) => {
            let etag = format!("\"{}\"", glassroom::flags::sha256_hex(&bytes));
            if if_none_match.as_deref() == Some(etag.as_str()) {
                ("304 Not Modified", format!("ETag: {etag}\r\n"), Vec::new())
            } else {
                let kind = match file.extension().and_then(|e| e.to_str()) {
                    Some("json") => "application/json",
                    Some("html") => "text/html; charset=utf-8",
                    Some("css") => "text/css",
                    _ => "application/octet-stream",
                };
                let headers = format!(
                    "ETag: {etag}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n",
                    bytes.len()
                );
                ("200 OK", headers, bytes)
            }
        }
        ("GET", _, _) => (
            "404 Not Found",
            "Content-Length: 0\r\n".to_owned(),
            Vec::new(),
        ),
        _ => (
            "405 Method Not Allowed",
            "Content-Length: 0\r\n".to_owned(),
            Vec::new(),
        ),
    };
    eprintln!("{method} {target} → {status}");
    write!(
        stream,
        "HTTP/1.1 {status}\r\nConnection: close\r\n{headers}\r\n"
    )?;
    stream.write_all(&body)?;
    stream.flush()
}
