//! A small static file server for www-dist/ on 127.0.0.1 (std only: the site
//! is static files, and the end-to-end test needs a server it can start itself).
//!
//! It makes the page cross-origin isolated (COOP + COEP), which is what lets
//! the worker load the threaded wasm build: SharedArrayBuffer exists only
//! there. `Isolation::Off` serves the same files without those headers, as a
//! host that does not send them would (the single-threaded build runs).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use crate::{Result, root, setup, site};

pub fn command(args: &[String]) -> Result {
    let port = match args {
        [] => 8080,
        [flag, n] if flag == "--port" => n.parse().map_err(|_| format!("--port needs a number, got {n}"))?,
        _ => return Err("usage: cargo xtask serve [--port N]".into()),
    };
    // Bind first: a second serve on a taken port must fail before it rebuilds
    // (and deletes) the files the first one is serving.
    let listener = bind(port)?;
    setup::run(setup::Scope::Site)?;
    site::build()?;
    println!("nnlab playground: http://{}/  (Ctrl-C to stop)", listener.local_addr().map_err(|e| e.to_string())?);
    serve_forever(listener, root().join("www-dist"), Isolation::On);
    Ok(())
}

pub fn bind(port: u16) -> Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    On,
    Off,
}

/// Serves `dir` on a free port from a background thread; returns its address.
pub fn in_background(dir: PathBuf, isolation: Isolation) -> Result<String> {
    let listener = bind(0)?;
    let url = format!("http://{}/", listener.local_addr().map_err(|e| e.to_string())?);
    std::thread::spawn(move || serve_forever(listener, dir, isolation));
    Ok(url)
}

pub fn serve_forever(listener: TcpListener, dir: PathBuf, isolation: Isolation) {
    for stream in listener.incoming().flatten() {
        let dir = dir.clone();
        std::thread::spawn(move || {
            let _ = handle(stream, &dir, isolation);
        });
    }
}

/// COOP and COEP isolate the page; CORP lets an isolated host page (a
/// tutorial that embeds the lab) load these files from another origin.
const ISOLATION_HEADERS: &str =
    "Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\nCross-Origin-Resource-Policy: cross-origin\r\n";

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs" | "ts") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn handle(mut stream: TcpStream, dir: &Path, isolation: Isolation) -> std::io::Result<()> {
    let mut request = String::new();
    let mut reader = BufReader::new(stream.try_clone()?);
    reader.read_line(&mut request)?;
    // Read the headers (bodies are not expected): only Accept-Encoding matters.
    let mut line = String::new();
    let mut gzip = false;
    while reader.read_line(&mut line)? > 2 {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("accept-encoding:") && lower.contains("gzip") {
            gzip = true;
        }
        line.clear();
    }
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let rel = Path::new(path.trim_start_matches('/'));
    let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
    let mut file = dir.join(rel);
    if file.is_dir() {
        file = file.join("index.html");
    }
    // The build writes a gzip copy beside each text and wasm file.
    let mut compressed = file.clone().into_os_string();
    compressed.push(".gz");
    let (body, encoding) = match std::fs::read(&compressed) {
        Ok(body) if gzip => (Ok(body), "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"),
        _ => (std::fs::read(&file), ""),
    };
    let isolate = if isolation == Isolation::On { ISOLATION_HEADERS } else { "" };
    match body {
        Ok(body) if safe => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n{encoding}{isolate}Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
                content_type(&file),
                body.len()
            )?;
            stream.write_all(&body)
        }
        _ => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"),
    }
}
