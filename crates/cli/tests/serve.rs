//! `restless serve` end to end through the real binary on a 127.0.0.1 socket: the probes, CDS
//! Hooks discovery, `/v1/assess`, the OpenAPI document, a clean exit on SIGTERM with the
//! database left in the data folder, and fail-closed CDS services when no token issuer is
//! trusted.
//!
//! The HTTP client is a few lines over `std::net::TcpStream` (HTTP/1.1, `Connection: close`,
//! read to the end), so the test needs no HTTP crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The database file the server keeps in its data folder.
const DB_FILE: &str = "restless.sqlite3";

/// How long the server may take to answer its first `/healthz`.
const STARTUP: Duration = Duration::from_secs(10);

/// How long the server may take to exit after SIGTERM.
const SHUTDOWN: Duration = Duration::from_secs(5);

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

/// A port nobody listens on right now (the OS picks it; released before the server binds it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `restless serve`; killed on drop if the test ends before it exits.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary on a free loopback port with a fresh data folder and `extra` flags,
    /// and waits until `/healthz` answers 200.
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_restless"))
            .arg("serve")
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // To a file: a pipe nobody reads could fill up and block the server.
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the binary starts");
        let mut server = Server { child, addr, dir };
        server.wait_healthy();
        server
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn wait_healthy(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server exited before answering ({status}):\n{}", self.log());
            }
            if let Ok(r) = request(self.addr, "GET", "/healthz", None)
                && r.status == 200
            {
                let h = r.json();
                assert_eq!(h["status"], "ok", "{h}");
                return;
            }
            assert!(
                started.elapsed() < STARTUP,
                "no answer from /healthz within {STARTUP:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, None).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    fn post(&self, path: &str, body: &[u8]) -> Reply {
        request(self.addr, "POST", path, Some(body)).unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(&mut self) -> ExitStatus {
        let kill = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("`kill` runs");
        assert!(kill.success(), "kill -TERM failed");
        let asked = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                asked.elapsed() < SHUTDOWN,
                "still running {SHUTDOWN:?} after SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response.
struct Reply {
    status: u16,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> std::io::Result<Reply> {
    request_with(addr, method, path, body, &[])
}

/// [`request`] with extra header lines.
fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some(b) = body {
        stream.write_all(b)?;
    }
    stream.flush()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {raw:?}")))
}

fn parse_response(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status: u16 = parts.next()?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked { dechunk(rest)? } else { rest.to_vec() };
    if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length")
        && len.parse::<usize>().ok()? != body.len()
    {
        return None;
    }
    Some(Reply { status, headers, body })
}

/// Decodes a chunked body (extensions and trailers ignored).
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

fn assert_db_in(dir: &Path) {
    let db = dir.join(DB_FILE);
    let meta =
        std::fs::metadata(&db).unwrap_or_else(|e| panic!("no database at {}: {e}", db.display()));
    assert!(meta.len() > 0, "{} is empty", db.display());
    let mut magic = [0u8; 16];
    File::open(&db).unwrap().read_exact(&mut magic).unwrap();
    assert_eq!(&magic, b"SQLite format 3\0", "{} is not an SQLite database", db.display());
}

#[test]
fn serves_the_api_and_stops_cleanly_on_sigterm() {
    let mut server = Server::start(&["--insecure-no-auth"]);

    // CDS Hooks discovery: the three services, each with its prefetch templates.
    let r = server.get("/cds-services");
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    let services = d["services"].as_array().expect("services");
    let ids: Vec<&str> = services.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["restless-patient-view", "restless-order-select", "restless-order-sign"],
        "{d}"
    );
    let hooks: Vec<&str> = services.iter().map(|s| s["hook"].as_str().unwrap()).collect();
    assert_eq!(hooks, ["patient-view", "order-select", "order-sign"]);
    assert!(services.iter().all(|s| s["prefetch"]["patient"].is_string()), "{d}");

    // One person's questionnaire in, report v1 out.
    let body = std::fs::read(example("iron-deficiency.json")).unwrap();
    let r = server.post("/v1/assess?as_of=2026-11-27", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    let report = r.json();
    assert_eq!(report["report_version"], 1, "{report}");
    let iron = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "iron-deficiency")
        .expect("a finding for iron-deficiency");
    assert_eq!(iron["status"], "present", "{iron}");

    // The OpenAPI 3 document describes the routes.
    let r = server.get("/openapi.json");
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    for path in ["/v1/assess", "/cds-services", "/cds-services/{id}", "/healthz"] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI document lacks {path}");
    }

    // An unknown route is a problem document, not a hang or a crash.
    assert_eq!(server.get("/no/such/route").status, 404);

    // Each request's access line is written once its worker has nothing left to do, not only
    // when a batch fills up or the server stops.
    let logged = Instant::now();
    while !server.log().contains("route=/openapi.json") {
        assert!(
            logged.elapsed() < STARTUP,
            "no access line for /openapi.json while the server is idle:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // SIGTERM: exit code 0 within a few seconds, the database left in the data folder.
    let status = server.terminate();
    assert!(status.success(), "exit status {status} after SIGTERM:\n{}", server.log());
    assert_db_in(&server.data_dir());
    let log = server.log();
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(request(server.addr, "GET", "/healthz", None).is_err(), "still answering");
}

#[test]
fn without_a_trusted_issuer_cds_calls_are_refused_with_401() {
    // Neither --insecure-no-auth nor --jwt-issuer: the server starts, warns, and fails closed.
    let mut server = Server::start(&[]);
    let hook = br#"{"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"patientId": "pat-1"},
        "prefetch": {"patient": {"resourceType": "Patient", "id": "pat-1"}}}"#;
    for service in ["restless-patient-view", "restless-order-select", "restless-order-sign"] {
        let r = server.post(&format!("/cds-services/{service}"), hook);
        assert_eq!(r.status, 401, "{service}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.json()["status"], 401);
    }
    let feedback = br#"{"feedback": [{"card": "c", "outcome": "accepted",
        "outcomeTimestamp": "2026-11-27T10:00:00Z"}]}"#;
    let r = server.post("/cds-services/restless-patient-view/feedback", feedback);
    assert_eq!(r.status, 401, "{}", r.text());
    // A forged token changes nothing.
    let forged = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJ4In0.";
    let bearer = format!("Bearer {forged}");
    let r = request_with(
        server.addr,
        "POST",
        "/cds-services/restless-patient-view",
        Some(hook),
        &[("Authorization", &bearer)],
    )
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    // The rest of the server works: probes, discovery, REST.
    assert_eq!(server.get("/readyz").status, 200);
    assert_eq!(server.get("/cds-services").status, 200);
    assert_eq!(server.get("/v1/causes").status, 200);
    assert!(server.log().contains("no --jwt-issuer configured"), "{}", server.log());

    let status = server.terminate();
    assert!(status.success(), "exit status {status} after SIGTERM:\n{}", server.log());
    assert_db_in(&server.data_dir());
}
