//! Hostile components and hostile clients: each fails its own request with a clear JSON
//! error (or is denied what it reaches for), and the next request succeeds.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, MISBEHAVE, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

fn start(builder: HostBuilder) -> Host {
    let host = builder.start();
    host.wait_ready();
    host
}

/// misbehave as `name`, with the manifest `manifest`.
fn hostile(name: &str, manifest: &str) -> HostBuilder {
    HostBuilder::new(BIN)
        .model(name, Path::new(MISBEHAVE))
        .models_file(&format!("{name}.toml"), manifest.as_bytes())
}

fn act(host: &Host, model: &str, data: Value) -> Reply {
    host.post_json(
        &format!("/models/{model}/predict"),
        &json!({"tasks": [{"data": data}]}),
    )
}

fn assert_error(reply: &Reply, status: u16, kind: &str) {
    assert_eq!(reply.status, status, "{}", reply.raw);
    assert_eq!(reply.body["error"], kind, "{}", reply.raw);
    assert!(!reply.raw.contains("wasm backtrace"), "{}", reply.raw);
    assert!(!reply.raw.contains("0x"), "no wasm offsets: {}", reply.raw);
}

fn still_serving(host: &Host, model: &str) {
    let reply = act(host, model, json!({"action": "ok"}));
    assert_eq!(
        reply.status, 200,
        "the next request succeeds: {}",
        reply.raw
    );
}

#[test]
fn an_infinite_loop_times_out_and_the_model_keeps_serving() {
    let host = start(hostile("m", "[limits]\npredict_timeout_secs = 1\n"));
    assert_error(&act(&host, "m", json!({"action": "spin"})), 504, "timeout");
    still_serving(&host, "m");
}

#[test]
fn a_fuel_budget_stops_a_loop_long_before_the_clock_would() {
    // A wall-clock budget far away: only fuel can stop the loop within the test's patience.
    let manifest = "[limits]\npredict_fuel = 200_000_000\npredict_timeout_secs = 3600\n";
    let host = start(hostile("m", manifest));
    let reply = act(&host, "m", json!({"action": "spin"}));
    assert_error(&reply, 500, "fuel exhausted");
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("200000000")),
        "{}",
        reply.raw
    );
    // The budget is per call: ordinary requests fit in it, before and after.
    still_serving(&host, "m");
    let models = host.get("/models");
    let limits = &models.body["models"][0]["limits"];
    assert_eq!(limits["predict_fuel"], 200_000_000, "{}", models.raw);
    assert_eq!(limits["fit_fuel"], Value::Null, "{}", models.raw);
    assert_eq!(limits["predict_timeout_secs"], 3600.0, "{}", models.raw);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let host = start(hostile("m", "[limits]\nmemory_mib = 64\n"));
    let reply = act(&host, "m", json!({"action": "memory-bomb"}));
    assert_error(&reply, 500, "memory limit");
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&(64u64 << 20).to_string()))
    );
    still_serving(&host, "m");
}

#[test]
fn a_stdout_flood_is_capped_and_logged_not_returned() {
    let host = start(hostile("m", "[limits]\noutput_kib = 16\n"));
    let reply = act(&host, "m", json!({"action": "flood"}));
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert!(!reply.raw.contains("flood"));
    // The host logs from its own thread; the reply can reach us before the line does.
    host.wait_for_log(&["guest output over the cap was dropped"]);
    let logs = host.logs();
    assert!(logs.len() < 1 << 20, "the log holds the cap, not 8 MiB");
    still_serving(&host, "m");
}

#[test]
fn a_log_import_flood_is_capped_and_counted_like_output() {
    let host = start(hostile("m", "[limits]\noutput_kib = 16\n"));
    let reply = act(&host, "m", json!({"action": "log-flood"}));
    assert_eq!(reply.status, 200, "{}", reply.raw);
    host.wait_for_log(&["guest log messages over the cap were dropped"]);
    let logs = host.logs();
    let kept = logs.lines().filter(|l| l.contains("log flood")).count();
    // 16 KiB of ~1 KiB messages: about 15 kept, the other ~8000 dropped and counted.
    assert!((1..=16).contains(&kept), "{kept} messages reached the log");
    assert!(logs.len() < 1 << 20, "the log holds the cap, not 8 MiB");
    still_serving(&host, "m");
}

#[test]
fn files_environment_and_network_are_denied_by_default() {
    let host = start(HostBuilder::new(BIN).model("m", Path::new(MISBEHAVE)));
    let addr = host.addr.to_string();
    for (data, what) in [
        (
            json!({"action": "open-file", "path": "/etc/passwd"}),
            "a host file",
        ),
        (
            json!({"action": "open-file", "path": "."}),
            "the working folder",
        ),
        (
            json!({"action": "read-env", "name": "PATH"}),
            "the environment",
        ),
        (
            json!({"action": "connect", "addr": addr}),
            "a socket to the host itself",
        ),
    ] {
        let reply = act(&host, "m", data);
        assert_eq!(reply.status, 200, "{what}: {}", reply.raw);
        let got = reply.body["results"][0]["got"].as_str().unwrap_or_default();
        assert!(got.starts_with("denied"), "{what}: {got}");
    }
    still_serving(&host, "m");
}

#[test]
fn a_manifest_grants_one_read_only_folder_and_nothing_else() {
    let manifest = "[capabilities]\nread_only_dir = { host = \"weights\", guest = \"/weights\" }\n";
    let host = start(hostile("m", manifest).models_file("weights/w.bin", &[7; 1234]));
    let read = act(
        &host,
        "m",
        json!({"action": "open-file", "path": "/weights/w.bin"}),
    );
    assert_eq!(
        read.body["results"][0]["got"], "read 1234 bytes",
        "{}",
        read.raw
    );
    for path in ["/weights/../m.toml", "/etc/passwd", "/weights/missing"] {
        let denied = act(&host, "m", json!({"action": "open-file", "path": path}));
        let got = denied.body["results"][0]["got"]
            .as_str()
            .unwrap_or_default();
        assert!(got.starts_with("denied"), "{path}: {got}");
    }
}

#[test]
fn excess_concurrent_calls_get_503_with_retry_after() {
    let host = start(hostile(
        "m",
        "[limits]\nmax_instances = 1\npredict_timeout_secs = 5\n",
    ));
    std::thread::scope(|scope| {
        let busy = scope.spawn(|| act(&host, "m", json!({"action": "spin"})));
        // Wait until the spinning call holds the only slot.
        let deadline = Instant::now() + Duration::from_secs(30);
        while host.model_entry("m").expect("m")["calls_running"] != 1 {
            assert!(Instant::now() < deadline, "the spinning call never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        let refused = act(&host, "m", json!({"action": "ok"}));
        assert_error(&refused, 503, "busy");
        assert_eq!(refused.header("retry-after"), Some("1"));
        assert_error(&busy.join().expect("client"), 504, "timeout");
    });
    still_serving(&host, "m");
}

#[test]
fn a_changed_manifest_reloads_the_model_and_a_broken_one_keeps_it() {
    let host = start(hostile("m", "[limits]\npredict_timeout_secs = 30\n"));
    let manifest = host.models_dir.path().join("m.toml");
    std::fs::write(&manifest, "[limits]\npredict_timeout_secs = 1\n").expect("write");
    let deadline = Instant::now() + Duration::from_secs(30);
    while host.get("/models").body["models"][0]["installs"] != 2 {
        assert!(Instant::now() < deadline, "manifest change never applied");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_error(&act(&host, "m", json!({"action": "spin"})), 504, "timeout");
    std::fs::write(&manifest, "[limits]\nmemory_megabytes = 1\n").expect("write");
    while host.get("/models").body["models"][0]["last_error"].is_null() {
        assert!(Instant::now() < deadline, "bad manifest never reported");
        std::thread::sleep(Duration::from_millis(20));
    }
    let models = host.get("/models").body;
    assert_eq!(models["models"][0]["state"], "ready", "{models}");
    assert!(
        models["models"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("memory_megabytes"))
    );
    still_serving(&host, "m");
}

#[test]
fn webhooks_authenticate_with_a_token_when_basic_auth_is_on() {
    let host = start(
        HostBuilder::new(BIN)
            .example("dummy")
            .env("BASIC_AUTH_USER", "u")
            .env("BASIC_AUTH_PASS", "p")
            .args(&["--webhook-token", "hook-secret"]),
    );
    let body = r#"{"action": "START_TRAINING", "project": {"id": 1}}"#;
    let json_type = ("Content-Type", "application/json");
    let refused = host.post_with("/models/dummy/webhook", body, &[json_type]);
    assert_eq!(refused.status, 401, "{}", refused.raw);
    let wrong = host.post_with(
        "/models/dummy/webhook",
        body,
        &[json_type, ("X-Wasml-Webhook-Token", "nope")],
    );
    assert_eq!(wrong.status, 401);
    for header in [
        ("X-Wasml-Webhook-Token", "hook-secret"),
        ("Authorization", "Bearer hook-secret"),
    ] {
        let ok = host.post_with("/models/dummy/webhook", body, &[json_type, header]);
        assert_eq!(ok.status, 201, "{header:?}: {}", ok.raw);
    }
    let not_for_predict = host.post_with(
        "/models/dummy/predict",
        r#"{"tasks": []}"#,
        &[json_type, ("X-Wasml-Webhook-Token", "hook-secret")],
    );
    assert_eq!(not_for_predict.status, 401, "the token opens webhooks only");
}

#[test]
fn deeply_nested_and_huge_json_are_refused_cleanly() {
    let host = start(HostBuilder::new(BIN).example("dummy"));
    let nested = format!(
        "{{\"tasks\": [{{\"data\": {}1{}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let reply = host.post("/models/dummy/predict", &nested);
    assert_eq!(reply.status, 400, "{}", reply.raw);
    assert_eq!(reply.body["error"], "bad request");
    let tasks: Vec<Value> = (0..20_000).map(|i| json!({"id": i, "data": {}})).collect();
    let reply = host.post_json("/models/dummy/predict", &json!({"tasks": tasks}));
    assert_eq!(
        reply.status, 422,
        "no Choices in an empty config: {}",
        reply.raw
    );
}

#[test]
fn slow_clients_are_cut_off_and_many_connections_do_not_stop_the_host() {
    let host = start(HostBuilder::new(BIN).example("dummy"));
    // Hundreds of idle connections...
    let idle: Vec<std::net::TcpStream> = (0..300)
        .filter_map(|_| std::net::TcpStream::connect(host.addr).ok())
        .collect();
    assert!(idle.len() > 250);
    // ...and one slowloris: headers started, never finished.
    let mut slow = std::net::TcpStream::connect(host.addr).expect("connect");
    slow.write_all(b"POST /models/dummy/predict HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    assert_eq!(
        host.get("/models/dummy/health").status,
        200,
        "others are served"
    );
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let read = slow.read(&mut buf);
    assert!(
        matches!(read, Ok(0) | Err(_)) || String::from_utf8_lossy(&buf).contains("408"),
        "the slow client is disconnected: {read:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(29),
        "cut off by the header timeout"
    );
    // The idle connections never sent a byte; they were opened first, so their time is up
    // too and the host has closed them.
    for mut conn in idle {
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        match conn.read(&mut buf) {
            Ok(0) => {}
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("a silent connection is still open: {other:?}"),
        }
    }
    assert_eq!(host.get("/models/dummy/health").status, 200);
}

/// Sends a GET on a raw connection and waits at most `wait` for the start of the answer.
fn raw_get(conn: &mut std::net::TcpStream, path: &str, wait: Duration) -> Option<String> {
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .expect("write");
    conn.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 4096];
    match conn.read(&mut buf) {
        Ok(n) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        _ => None,
    }
}

#[test]
fn connections_past_the_cap_wait_for_a_free_slot() {
    let mut host = start(
        HostBuilder::new(BIN)
            .example("dummy")
            .args(&["--max-connections", "2"]),
    );
    let limits = host.get("/models").body["connections"].clone();
    assert_eq!(limits["limit"], 2, "{limits}");
    // This request's own connection, and perhaps one the test client pooled earlier.
    let open = limits["open"].as_u64().unwrap_or_default();
    assert!((1..=2).contains(&open), "{limits}");
    // Two keep-alive connections take both slots once the test client has let go of its.
    host.close_pooled_connections();
    let mut held: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut conn = std::net::TcpStream::connect(host.addr).expect("connect");
            let answer = raw_get(&mut conn, "/health", Duration::from_secs(60));
            assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")));
            conn
        })
        .collect();
    // A third client connects (the kernel queues it) but is not served while they stay.
    let mut waiting = std::net::TcpStream::connect(host.addr).expect("connect");
    let early = raw_get(&mut waiting, "/health", Duration::from_secs(1));
    assert!(early.is_none(), "served past the cap: {early:?}");
    // One leaves: the waiting client is accepted and answered.
    held.pop();
    waiting
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let n = waiting
        .read(&mut buf)
        .expect("answered once a slot is free");
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
}

/// The frame types of the HTTP/2 frames in `bytes` (9-byte headers, then payloads).
fn h2_frame_types(bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 9 {
        let length = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        types.push(rest[3]);
        rest = &rest[(9 + length).min(rest.len())..];
    }
    types
}

#[test]
fn idle_http2_connections_are_closed_and_give_their_slots_back() {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const EMPTY_SETTINGS: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];
    const GOAWAY: u8 = 7;
    let mut host = start(
        HostBuilder::new(BIN)
            .example("dummy")
            .args(&["--max-connections", "3"]),
    );
    host.close_pooled_connections();
    // Three HTTP/2 clients (prior knowledge) send the preface and SETTINGS, then go quiet.
    let idle: Vec<std::net::TcpStream> = (0..3)
        .map(|_| {
            let mut conn = std::net::TcpStream::connect(host.addr).expect("connect");
            conn.write_all(PREFACE).expect("preface");
            conn.write_all(&EMPTY_SETTINGS).expect("settings");
            conn
        })
        .collect();
    // A fourth client waits in the backlog until their idle time is up, then is served.
    std::thread::sleep(Duration::from_millis(500));
    let mut fourth = std::net::TcpStream::connect(host.addr).expect("connect");
    let answer = raw_get(&mut fourth, "/health", Duration::from_secs(40));
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 200")),
        "the fourth client was never served: {answer:?}"
    );
    // Each idle client was told to go away (GOAWAY), then its connection closed.
    for mut conn in idle {
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(err) => panic!("an idle HTTP/2 connection is still open: {err}"),
            }
        }
        let types = h2_frame_types(&received);
        assert!(types.contains(&GOAWAY), "frames received: {types:?}");
    }
}

#[test]
fn bodies_held_at_once_are_capped_across_connections() {
    const MIB: usize = 1 << 20;
    let host = start(HostBuilder::new(BIN).example("dummy").args(&[
        "--max-body-bytes",
        &MIB.to_string(),
        "--max-buffered-bytes",
        &(2 * MIB).to_string(),
    ]));
    let held_bytes = || host.get("/models").body["request_bodies"]["held_bytes"].as_u64();
    // Two clients each send all but the last byte of a 1 MiB body, then stall.
    let stalled: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut conn = std::net::TcpStream::connect(host.addr).expect("connect");
            let head = format!(
                "POST /models/dummy/predict HTTP/1.1\r\nHost: x\r\nContent-Type: \
                 application/json\r\nContent-Length: {MIB}\r\n\r\n"
            );
            conn.write_all(head.as_bytes()).expect("head");
            conn.write_all(&vec![b' '; MIB - 1]).expect("body");
            conn
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while held_bytes() != Some(2 * MIB as u64 - 2) {
        assert!(Instant::now() < deadline, "held: {:?}", held_bytes());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The budget is spent: a third body is refused at once, with a reason and a retry hint.
    let task = json!({"tasks": [{"data": {"text": "hi"}}]});
    let refused = host.post_json("/models/dummy/predict", &task);
    assert_eq!(refused.status, 503, "{}", refused.raw);
    assert_eq!(refused.body["error"], "busy", "{}", refused.raw);
    assert!(refused.header("retry-after").is_some(), "{}", refused.raw);
    // A stalled client leaving gives its bytes back.
    drop(stalled);
    while held_bytes() != Some(0) {
        assert!(Instant::now() < deadline, "held: {:?}", held_bytes());
        std::thread::sleep(Duration::from_millis(20));
    }
    let served = host.post_json("/models/dummy/predict", &task);
    assert_ne!(served.status, 503, "{}", served.raw);
}
