//! Task data: a model fetches the bytes its tasks point to through the `task-data` import,
//! against real HTTP servers standing in for Label Studio and for storage. Each test checks
//! what those servers saw: the exact paths and queries, the `Authorization` headers, and no
//! connection at all where the model's policy refuses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wasml_tests::fake_http::{Answer, FakeServer, Seen};
use wasml_tests::{Host, HostBuilder, MISBEHAVE, SHARED_COMPILE_CACHE};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const LEGACY: &str = "legacy-token-1234";

/// base64url without padding, for presign paths and JWTs.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// base64url with padding, as Python's `base64.urlsafe_b64encode` (Label Studio's SDK) writes
/// a presigned URI.
fn base64url_padded(bytes: &[u8]) -> String {
    let mut out = base64url(bytes);
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.signature",
        base64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        base64url(claims.to_string().as_bytes())
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A host serving `misbehave` as `m` with `manifest`.
fn host(manifest: &str, args: &[&str]) -> Host {
    let host = HostBuilder::new(BIN)
        .model("m", std::path::Path::new(MISBEHAVE))
        .models_file("m.toml", manifest.as_bytes())
        .args(args)
        .start();
    host.wait_ready();
    host
}

/// What the model got for each of `urls` in project 3, task `task_id`.
fn fetch(host: &Host, task_id: Option<u64>, urls: &[&str]) -> Vec<Value> {
    let mut task = json!({"data": {"action": "fetch", "url": urls.join(" ")}});
    if let Some(id) = task_id {
        task = json!({"id": id, "data": task["data"]});
    }
    let reply = host.post_json(
        "/models/m/predict",
        &json!({"project": "3.1700000000", "tasks": [task]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
    reply.body["results"][0]["fetched"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn error_of(outcome: &Value) -> &str {
    outcome["error"].as_str().unwrap_or("(no error)")
}

fn setup(host: &Host, label_studio: &str, token: &str) {
    let reply = host.post_json(
        "/models/m/setup",
        &json!({"project": "3.1700000000", "schema": "<View/>",
                "hostname": label_studio, "access_token": token}),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
}

/// A stand-in for Label Studio 1.23.2 with local file storage and a legacy token: the storage
/// proxy refuses uploads (400, as the real one does), the media path serves them, the presign
/// endpoint redirects to `storage`.
fn label_studio(storage: &str) -> FakeServer {
    let storage = storage.to_owned();
    let presign = format!(
        "/tasks/7/presign/?fileuri={}",
        base64url_padded(b"s3://bucket/a.wav")
    );
    FakeServer::start(move |seen: &Seen| {
        let authorized = seen.authorization.as_deref() == Some(&format!("Token {LEGACY}"));
        if seen.target.starts_with("/storage-data/uploaded/") {
            return Answer::new(400, "text/plain", "NGINX mode for uploads is not supported");
        }
        if !authorized {
            return Answer::new(401, "application/json", r#"{"detail": "no token"}"#);
        }
        match seen.target.as_str() {
            "/data/upload/3/cat.png" => Answer::new(200, "image/png", "cat-bytes"),
            "/data/upload/3/big.bin" => {
                Answer::new(200, "application/octet-stream", vec![1; 2 << 20])
            }
            "/data/upload/3/slow.bin" => {
                Answer::new(200, "application/octet-stream", "late").after(Duration::from_secs(4))
            }
            "/data/upload/3/broken.png" => Answer::new(500, "text/html", "<h1>Server Error</h1>"),
            "/data/local-files/?d=docs%2Fa.txt" => Answer::new(200, "text/plain", "local text"),
            target if target == presign => Answer::redirect(
                303,
                &format!("{storage}/bucket/a.wav?X-Amz-Signature=abc&X-Amz-Credential=k"),
            ),
            _ => Answer::new(404, "application/json", r#"{"detail": "Not found."}"#),
        }
    })
}

#[test]
fn every_url_form_resolves_like_label_studios_sdk_with_the_token_only_for_label_studio() {
    let storage = FakeServer::start(|seen: &Seen| match seen.target.split('?').next() {
        Some("/bucket/a.wav") => Answer::new(200, "audio/wav", "RIFF-wav-bytes"),
        _ => Answer::new(404, "text/plain", "no"),
    });
    let forbidden = FakeServer::start(|_: &Seen| Answer::new(200, "text/plain", "leaked"));
    let forbidden_url = forbidden.url("/x");
    let public = FakeServer::start(move |seen: &Seen| match seen.target.as_str() {
        "/img.png" => Answer::new(200, "image/png", "public-png"),
        "/to-forbidden" => Answer::redirect(302, &forbidden_url),
        _ => Answer::new(404, "text/plain", "no"),
    });
    let ls = label_studio(&storage.url(""));
    let manifest = format!(
        "[limits]\nfetch_mib = 1\nfetch_timeout_secs = 1\n[capabilities]\nfetch = [\"{}\"]\n",
        public.url("")
    );
    let host = host(&manifest, &[]);
    setup(&host, &ls.url(""), LEGACY);

    // An upload: the storage proxy first, then the media path, both with the token.
    let got = fetch(&host, Some(7), &["/data/upload/3/cat.png"]);
    assert_eq!(got[0]["text"], "cat-bytes", "{got:?}");
    assert_eq!(got[0]["type"], "image/png");
    assert_eq!(got[0]["size"], 9);
    let targets: Vec<(String, Option<String>)> = ls
        .seen()
        .into_iter()
        .map(|s| (s.target, s.authorization))
        .collect();
    let token = Some(format!("Token {LEGACY}"));
    assert_eq!(
        targets,
        [
            (
                "/storage-data/uploaded/?filepath=upload%2F3%2Fcat.png".to_owned(),
                token.clone()
            ),
            ("/data/upload/3/cat.png".to_owned(), token.clone()),
        ]
    );
    // The older spellings are the same file (and now a cache hit: Label Studio sees nothing).
    for older in ["upload/3/cat.png", "/upload/3/cat.png"] {
        assert_eq!(fetch(&host, None, &[older])[0]["text"], "cat-bytes");
    }
    let before = ls.seen().len();
    assert_eq!(
        fetch(&host, None, &["/data/upload/3/cat.png"])[0]["text"],
        "cat-bytes"
    );
    assert_eq!(
        ls.seen().len(),
        before,
        "a repeated retrieval is served from the cache"
    );

    // A cloud URI: presigned per task; the storage's presigned URL never sees the token.
    let got = fetch(&host, Some(7), &["s3://bucket/a.wav"]);
    assert_eq!(got[0]["text"], "RIFF-wav-bytes", "{got:?}");
    let presign = ls.seen().last().cloned().expect("presign request");
    assert_eq!(
        presign.target,
        format!(
            "/tasks/7/presign/?fileuri={}",
            base64url_padded(b"s3://bucket/a.wav")
        )
    );
    assert_eq!(presign.authorization, token);
    let fetched = storage.seen();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].authorization, None, "the token went to storage");
    assert!(fetched[0].target.contains("X-Amz-Signature=abc"));
    // Without a task id a cloud URI cannot be presigned.
    let got = fetch(&host, None, &["gs://bucket/b.wav"]);
    assert!(error_of(&got[0]).starts_with("invalid-url"), "{got:?}");

    // A local file, without a local root here: from Label Studio.
    let got = fetch(&host, None, &["/data/local-files/?d=docs/a.txt"]);
    assert_eq!(got[0]["text"], "local text", "{got:?}");

    // A granted origin: fetched without the token; a redirect to an origin the model may not
    // reach, and that origin itself, are refused before any connection.
    let got = fetch(
        &host,
        None,
        &[
            &public.url("/img.png"),
            &public.url("/to-forbidden"),
            &forbidden.url("/y"),
        ],
    );
    assert_eq!(got[0]["text"], "public-png", "{got:?}");
    assert!(public.seen().iter().all(|s| s.authorization.is_none()));
    assert!(error_of(&got[1]).starts_with("not-allowed"), "{got:?}");
    assert!(error_of(&got[2]).starts_with("not-allowed"), "{got:?}");
    assert!(
        error_of(&got[2]).contains("[capabilities] fetch"),
        "{got:?}"
    );
    assert_eq!(
        forbidden.connections(),
        0,
        "a refused origin was connected to"
    );

    // Too large for the budget, too slow, missing, failing: typed errors naming the URL.
    let got = fetch(
        &host,
        None,
        &[
            "/data/upload/3/big.bin",
            "/data/upload/3/slow.bin",
            "/data/upload/3/missing.png",
            "/data/upload/3/broken.png",
            "ftp://x/y",
        ],
    );
    let kinds: Vec<&str> = got
        .iter()
        .map(|o| error_of(o).split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "too-large",
            "timeout",
            "not-found",
            "unavailable",
            "invalid-url"
        ],
        "{got:?}"
    );
    assert!(
        error_of(&got[2]).contains("/data/upload/3/missing.png"),
        "{got:?}"
    );

    // The token is in no answer, no log line, no model listing.
    let listing = host.get("/models").raw;
    for text in [listing, host.logs(), format!("{got:?}")] {
        assert!(!text.contains(LEGACY), "the token leaked: {text}");
    }
}

#[test]
fn a_personal_access_token_is_exchanged_refreshed_on_401_and_setup_cannot_redirect_it() {
    let pat = jwt(&json!({"token_type": "refresh", "jti": "p"}));
    let issued: Arc<Mutex<Vec<String>>> = Arc::default();
    let first_uses = Arc::new(AtomicUsize::new(0));
    let (tokens, uses) = (issued.clone(), first_uses.clone());
    let expected_refresh = json!({ "refresh": pat });
    let ls = FakeServer::start(move |seen: &Seen| {
        let mut tokens = tokens.lock().expect("lock");
        if seen.target == "/api/token/refresh/" {
            let body: Value = serde_json::from_str(&seen.body).unwrap_or_default();
            if seen.method != "POST" || body != expected_refresh {
                return Answer::new(401, "application/json", r#"{"detail": "bad refresh"}"#);
            }
            let access =
                jwt(&json!({"token_type": "access", "exp": now() + 3600, "n": tokens.len()}));
            tokens.push(access.clone());
            return Answer::new(
                200,
                "application/json",
                json!({"access": access}).to_string(),
            );
        }
        let sent = seen
            .authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "));
        match tokens.iter().position(|t| Some(t.as_str()) == sent) {
            // Only the newest access token counts, and the first is revoked after one use.
            Some(i) if i + 1 == tokens.len() => {
                if i == 0 && uses.fetch_add(1, Ordering::SeqCst) >= 1 {
                    return Answer::new(401, "application/json", r#"{"detail": "expired"}"#);
                }
                Answer::new(200, "image/png", format!("image-{}", i + 1))
            }
            _ => Answer::new(401, "application/json", r#"{"detail": "invalid token"}"#),
        }
    });
    let decoy = FakeServer::start(|_: &Seen| Answer::new(200, "text/plain", "decoy"));
    let host = host(
        "",
        &[
            "--label-studio-url",
            &ls.url(""),
            "--label-studio-api-key",
            &pat,
            "--fetch-cache-mib",
            "0",
        ],
    );
    // A forged /setup naming another host changes nothing: the host's Label Studio is fixed.
    setup(&host, &decoy.url(""), "stolen");

    let got = fetch(&host, None, &["/data/upload/3/first.png"]);
    assert_eq!(got[0]["text"], "image-1", "{got:?}");
    // The access token is refused once: one refresh, then the request again.
    let got = fetch(&host, None, &["/data/upload/3/second.png"]);
    assert_eq!(got[0]["text"], "image-2", "{got:?}");
    assert_eq!(
        issued.lock().expect("lock").len(),
        2,
        "one exchange, one refresh"
    );
    let seen = ls.seen();
    assert!(
        seen.iter()
            .filter(|s| s.target != "/api/token/refresh/")
            .all(|s| s
                .authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Bearer "))),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() != Some(&format!("Bearer {pat}"))),
        "the refresh token itself was sent"
    );
    assert_eq!(decoy.connections(), 0, "a /setup redirected the host");
    assert!(!host.logs().contains(&pat));
}

#[test]
fn local_files_are_read_from_their_root_and_never_outside_it() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("docs")).expect("mkdir");
    std::fs::write(root.join("docs/a.txt"), "from the root").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "secret").expect("write");
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("docs/link.txt"))
        .expect("symlink");
    let ls = FakeServer::start(|_: &Seen| Answer::new(200, "text/plain", "from label studio"));
    let root_arg = root.display().to_string();
    let host = host("", &["--local-files-root", &root_arg]);
    setup(&host, &ls.url(""), LEGACY);
    let got = fetch(
        &host,
        None,
        &[
            "/data/local-files/?d=docs/a.txt",
            "/data/local-files/?d=docs%2Fa.txt",
            "/data/local-files/?d=../secret.txt",
            "/data/local-files/?d=docs/../../secret.txt",
            "/data/local-files/?d=/etc/passwd",
            "/data/local-files/?d=docs/link.txt",
        ],
    );
    assert_eq!(got[0]["text"], "from the root", "{got:?}");
    assert_eq!(
        got[0]["type"], "text/plain",
        "a type from the extension: {got:?}"
    );
    assert_eq!(got[1]["text"], "from the root", "{got:?}");
    for refused in &got[2..] {
        assert!(error_of(refused).starts_with("not-allowed"), "{got:?}");
        assert!(!format!("{refused}").contains("secret\""), "{got:?}");
    }
    assert_eq!(
        ls.connections(),
        0,
        "local files never went to Label Studio"
    );
}

/// A Label Studio serving uploaded text files (`/data/upload/3/<name>`) to the legacy token.
fn text_files(files: &[(&str, &str)]) -> FakeServer {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(n, t)| (format!("/data/upload/3/{n}"), (*t).to_owned()))
        .collect();
    FakeServer::start(move |seen: &Seen| {
        if seen.authorization.as_deref() != Some(&format!("Token {LEGACY}")) {
            return Answer::new(401, "application/json", "{}");
        }
        match files.iter().find(|(path, _)| *path == seen.target) {
            Some((_, text)) => Answer::new(200, "text/plain; charset=utf-8", text.as_bytes()),
            None => Answer::new(404, "application/json", "{}"),
        }
    })
}

#[test]
fn texts_behind_urls_reach_unchanged_models_in_every_language_as_text() {
    const NER: &str = r#"<View><Labels name="label" toName="text"><Label value="ORG"/></Labels><Text name="text" value="$text" valueType="url"/></View>"#;
    const INLINE: &str = r#"<View><Labels name="label" toName="text"><Label value="ORG"/></Labels><Text name="text" value="$text"/></View>"#;
    let text = "Apple bought Apple Inc. — 🍎 Apple";
    let ls = text_files(&[("doc.txt", text)]);
    let builds = ["", "-python", "-js", "-c"];
    // The large Python and JavaScript components compile once per test build, into a cache
    // shared with the other tests that serve them.
    let mut builder = HostBuilder::new(BIN).cache_dir(std::path::Path::new(SHARED_COMPILE_CACHE));
    for suffix in builds {
        builder = builder.example(&format!("substring-matching{suffix}"));
    }
    let host = builder.start();
    host.wait_ready_within(Duration::from_secs(900));
    let span = json!({"id": "s1", "from_name": "label", "to_name": "text", "type": "labels",
                      "value": {"start": 0, "end": 5, "text": "Apple", "labels": ["ORG"]}});
    let body = |config: &str, value: &str| {
        json!({"project": "3.1700000000", "label_config": config,
               "tasks": [{"id": 1, "data": {"text": value}}],
               "params": {"context": {"result": [span.clone()]}}})
    };
    let mut first_regions = None;
    for suffix in builds {
        let model = format!("substring-matching{suffix}");
        setup_model(&host, &model, &ls.url(""));
        let from_url = host.post_json(
            &format!("/models/{model}/predict"),
            &body(NER, "/data/upload/3/doc.txt"),
        );
        assert_eq!(from_url.status, 200, "{model}: {}", from_url.raw);
        let inline = host.post_json(&format!("/models/{model}/predict"), &body(INLINE, text));
        assert_eq!(
            from_url.body["results"], inline.body["results"],
            "{model}: a text behind a URL predicts as the text itself"
        );
        // Alike in every language (only the versions differ by build).
        let regions = numbers_as_f64(&from_url.body["results"][0]["result"]);
        assert_eq!(
            regions.as_array().map(Vec::len),
            Some(3),
            "{}",
            from_url.raw
        );
        assert_eq!(
            first_regions.get_or_insert_with(|| regions.clone()),
            &regions,
            "{model} differs from the Rust build"
        );
    }
    // A text that cannot be fetched: a clear error naming the task and the URL, not a guess.
    let missing = host.post_json(
        "/models/substring-matching/predict",
        &body(NER, "/data/upload/3/gone.txt"),
    );
    assert_eq!(missing.status, 422, "{}", missing.raw);
    assert_eq!(missing.body["error"], "task data");
    let detail = missing.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("task 1") && detail.contains("/data/upload/3/gone.txt"),
        "{detail}"
    );
    assert!(!missing.raw.contains(LEGACY));
}

/// `value` with every number a double: JavaScript answers `1` where Rust answers `1.0`, which
/// Label Studio reads alike.
fn numbers_as_f64(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn setup_model(host: &Host, model: &str, label_studio: &str) {
    let reply = host.post_json(
        &format!("/models/{model}/setup"),
        &json!({"project": "3.1700000000", "schema": "<View/>",
                "hostname": label_studio, "access_token": LEGACY}),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
}

#[test]
fn a_text_classifier_learns_from_and_predicts_texts_behind_urls() {
    const CONFIG: &str = r#"<View><Text name="text" value="$text" valueType="url"/><Choices name="label" toName="text" choice="single"><Choice value="Sports"/><Choice value="Food"/></Choices></View>"#;
    let ls = text_files(&[
        (
            "s1.txt",
            "the team won the football match in the final minute",
        ),
        (
            "s2.txt",
            "a great goal and the players celebrated the match",
        ),
        (
            "f1.txt",
            "the soup was delicious with fresh bread and butter",
        ),
        (
            "f2.txt",
            "we baked bread and cooked a tasty soup for dinner",
        ),
        ("q1.txt", "the players scored a goal in the match"),
        ("q2.txt", "fresh bread with a bowl of soup"),
        ("b1.txt", "the final whistle and the match was won"),
        ("b2.txt", "butter on warm bread"),
    ]);
    let host = HostBuilder::new(BIN).example("text-classifier").start();
    host.wait_ready();
    setup_model(&host, "text-classifier", &ls.url(""));
    for (id, (file, label)) in [
        ("s1.txt", "Sports"),
        ("f1.txt", "Food"),
        ("s2.txt", "Sports"),
        ("f2.txt", "Food"),
    ]
    .into_iter()
    .enumerate()
    {
        let event = json!({
            "action": "ANNOTATION_CREATED",
            "project": {"id": 3, "label_config": CONFIG},
            "annotation": {"id": id, "task": id, "result": [{"from_name": "label", "to_name": "text",
                "type": "choices", "value": {"choices": [label]}}]},
            "task": {"id": id, "project": 3, "data": {"text": format!("/data/upload/3/{file}")}},
        });
        let reply = host.post_json("/models/text-classifier/webhook", &event);
        assert!(matches!(reply.status, 201 | 202), "{}", reply.raw);
        let job = host.finished_job(reply.body["job_url"].as_str().expect("job_url"));
        assert_eq!(job["state"], "done", "{job}");
    }
    // A bulk event ("Create Annotations From Predictions"): its tasks come as a list.
    let choice = |label: &str| {
        json!([{"from_name": "label", "to_name": "text", "type": "choices",
                "value": {"choices": [label]}}])
    };
    let bulk = json!({
        "action": "ANNOTATIONS_CREATED",
        "project": {"id": 3, "label_config": CONFIG},
        "annotation": [{"id": 20, "task": 20, "result": choice("Sports")},
                       {"id": 21, "task": 21, "result": choice("Food")}],
        "task": [{"id": 20, "project": 3, "data": {"text": "/data/upload/3/b1.txt"}},
                 {"id": 21, "project": 3, "data": {"text": "/data/upload/3/b2.txt"}}],
    });
    let reply = host.post_json("/models/text-classifier/webhook", &bulk);
    assert!(matches!(reply.status, 201 | 202), "{}", reply.raw);
    let job = host.finished_job(reply.body["job_url"].as_str().expect("job_url"));
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["result"]["added"], 2, "{job}");
    assert!(
        ls.seen()
            .iter()
            .any(|s| s.target == "/data/upload/3/b2.txt"),
        "the bulk event's texts were fetched"
    );
    let reply = host.post_json(
        "/models/text-classifier/predict",
        &json!({"project": "3.1700000000", "label_config": CONFIG, "tasks": [
            {"id": 10, "data": {"text": "/data/upload/3/q1.txt"}},
            {"id": 11, "data": {"text": "/data/upload/3/q2.txt"}}]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let chosen: Vec<&Value> = reply.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|slot| &slot["result"][0]["value"]["choices"][0])
        .collect();
    assert_eq!(chosen, [&json!("Sports"), &json!("Food")], "{}", reply.raw);
}
