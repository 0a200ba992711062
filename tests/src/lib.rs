//! Test harness: starts the real `wasml` binary on `127.0.0.1:0` with components built from
//! source (see `build.rs`) and talks to it over HTTP.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

include!(concat!(env!("OUT_DIR"), "/components.rs"));

pub mod fake_http;
pub mod onnx;
pub mod uploads;

/// How long a host may take to print its address: first runs compile models in debug builds.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long models may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// The path of a file under `tests/data/`.
pub fn data_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(relative)
}

/// The text of a file under `tests/data/`.
pub fn data(relative: &str) -> String {
    let path = data_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The path of an example model built from source.
pub fn example_model(name: &str) -> PathBuf {
    Path::new(MODELS_DIR).join(format!("{name}.wasm"))
}

/// The component at `path` with a custom section appended that holds `tag`: the same code,
/// a different SHA-256, hence a different model version. Lets tests make many versions of
/// one model without compiling anything.
pub fn component_variant(path: &Path, tag: &str) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = b"wasml-test-variant";
    let mut content = Vec::new();
    leb128(name.len(), &mut content);
    content.extend_from_slice(name);
    content.extend_from_slice(tag.as_bytes());
    bytes.push(0); // custom section id
    leb128(content.len(), &mut bytes);
    bytes.extend_from_slice(&content);
    bytes
}

/// Configures a host before starting it.
pub struct HostBuilder {
    bin: PathBuf,
    models: Vec<(String, PathBuf)>,
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    data_dir: Option<PathBuf>,
    listen_host: String,
}

impl HostBuilder {
    /// A host running the binary at `bin` (pass `env!("CARGO_BIN_EXE_wasml-host-under-test")`).
    pub fn new(bin: &str) -> Self {
        Self {
            bin: bin.into(),
            models: Vec::new(),
            files: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            data_dir: None,
            listen_host: "127.0.0.1".into(),
        }
    }

    /// Listens on `host` (`--host`) instead of `127.0.0.1`.
    pub fn listen_host(mut self, host: &str) -> Self {
        self.listen_host = host.to_owned();
        self
    }

    /// Serves the example model `name` under its own name.
    pub fn example(self, name: &str) -> Self {
        let path = example_model(name);
        self.model(name, &path)
    }

    /// Serves the component at `path` as model `name`.
    pub fn model(mut self, name: &str, path: &Path) -> Self {
        self.models.push((name.to_owned(), path.to_owned()));
        self
    }

    /// Puts a file (e.g. a manifest `<name>.toml`, or `weights/w.bin`) into the models folder.
    pub fn models_file(mut self, relative: &str, contents: &[u8]) -> Self {
        self.files.push((relative.to_owned(), contents.to_vec()));
        self
    }

    /// Adds command-line arguments after `serve`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Uses `dir` as the data directory (kept after the host stops), so a second host can
    /// start on the same state.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_owned());
        self
    }

    /// Uses `dir` as the compile cache (`--cache-dir`), e.g. [`SHARED_COMPILE_CACHE`] so
    /// that large components compile once for all tests.
    pub fn cache_dir(self, dir: &Path) -> Self {
        let dir = dir.display().to_string();
        self.args(&["--cache-dir", &dir])
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Starts the host and waits until it listens.
    pub fn start(self) -> Host {
        let models_dir = tempfile::tempdir().expect("models dir");
        for (name, path) in &self.models {
            let dest = models_dir.path().join(format!("{name}.wasm"));
            std::fs::copy(path, &dest).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        for (relative, contents) in &self.files {
            let dest = models_dir.path().join(relative);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).expect("create folder");
            }
            std::fs::write(&dest, contents).expect("write file");
        }
        let own_data_dir = tempfile::tempdir().expect("data dir");
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| own_data_dir.path().to_owned());
        let mut command = Command::new(&self.bin);
        command
            .arg("serve")
            .arg("--models")
            .arg(models_dir.path())
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--host", &self.listen_host, "--port", "0"])
            .args(&self.args)
            .env_remove("BASIC_AUTH_USER")
            .env_remove("LABEL_STUDIO_URL")
            .env_remove("LABEL_STUDIO_API_KEY")
            .env_remove("BASIC_AUTH_PASS")
            .env("LOG_LEVEL", "info")
            // Machines running tests are slow and shared: give `fit` time to answer in the
            // webhook unless a test asks for background answers (`--fit-wait-ms`).
            .env("WASML_FIT_WAIT_MS", "10000")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start the host");
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Text or JSON log lines: the address runs to the first space or quote.
                if let Some(addr) = line.split("listening on http://").nth(1) {
                    let end = addr.find([' ', '"']).unwrap_or(addr.len());
                    let _ = addr_tx.send(addr[..end].trim().to_owned());
                }
                sink.lock().expect("log lock").push(line);
            }
        });
        let addr = match addr_rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => addr.parse().expect("address"),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "host did not start:\n{}",
                    logs.lock().expect("log lock").join("\n")
                );
            }
        };
        let agent = http_client();
        Host {
            child,
            addr,
            logs,
            agent,
            models_dir,
            data_dir,
            _own_data_dir: own_data_dir,
        }
    }

    /// Starts the host expecting it to refuse to start: waits until it exits, asserts the exit
    /// status is a failure and returns what it logged. Panics if it listens instead. The
    /// models are not copied: the start-up checks this is for come before any model loads.
    pub fn fail_to_start(self) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let (models_dir, log_path) = (dir.path().join("models"), dir.path().join("host.log"));
        std::fs::create_dir(&models_dir).expect("models dir");
        let data_dir = self.data_dir.unwrap_or_else(|| dir.path().join("data"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut child = Command::new(&self.bin)
            .arg("serve")
            .arg("--models")
            .arg(&models_dir)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--host", &self.listen_host, "--port", "0"])
            .args(&self.args)
            .env("LOG_LEVEL", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the host");
        let logs = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let deadline = Instant::now() + START_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the host") {
                break status;
            }
            if logs().contains("listening on http://") || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the host did not refuse to start:\n{}", logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            !status.success(),
            "the host exited with {status}:\n{}",
            logs()
        );
        logs()
    }
}

/// The test client: keep-alive, HTTP errors as answers.
fn http_client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        // The host closes a keep-alive connection after 10 s idle; a client reusing one
        // at that moment gets a reset. Retire pooled connections well before, as a
        // client should under any server's idle timeout.
        .max_idle_age(Duration::from_secs(5))
        .build()
        .into()
}

/// A running host, killed when dropped.
pub struct Host {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
    agent: ureq::Agent,
    /// Its models folder.
    pub models_dir: tempfile::TempDir,
    /// Its data folder.
    pub data_dir: PathBuf,
    _own_data_dir: tempfile::TempDir,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body parsed as JSON (`Value::Null` plus a panic-free check: see `raw`).
    pub body: Value,
    /// Body text.
    pub raw: String,
    /// Response headers, lower-case names.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Host {
    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Closes the test client's pooled keep-alive connections (for tests that count the
    /// host's connections).
    pub fn close_pooled_connections(&mut self) {
        self.agent = http_client();
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        Self::reply(self.agent.get(&self.url(path)).call())
    }

    /// `POST path` with a JSON body given as text.
    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.post_with(path, body, &[("Content-Type", "application/json")])
    }

    /// `POST path` with a JSON value.
    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post(path, &body.to_string())
    }

    /// `POST path` with a JSON value; `None` when the exchange itself fails (e.g. the host
    /// is gone).
    pub fn try_post_json(&self, path: &str, body: &Value) -> Option<Reply> {
        let request = self
            .agent
            .post(&self.url(path))
            .header("Content-Type", "application/json");
        let response = request.send(body.to_string()).ok()?;
        Some(Self::reply(Ok(response)))
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `POST path` with a body and headers.
    pub fn post_with(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.post(&self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::reply(request.send(body))
    }

    /// Sends a request with any method.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(()).expect("request");
        Self::reply(self.agent.run(request))
    }

    fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut response = result.expect("HTTP exchange");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let raw = response.body_mut().read_to_string().expect("body");
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            raw,
            headers,
        }
    }

    /// Waits until no model is loading; returns `GET /models`.
    pub fn wait_ready(&self) -> Value {
        self.wait_ready_within(READY_TIMEOUT)
    }

    /// [`Host::wait_ready`] with a longer budget, for large components compiled cold.
    pub fn wait_ready_within(&self, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let models = self.get("/models").body;
            let loading = models["models"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["state"] == "loading"));
            if !loading {
                return models;
            }
            assert!(Instant::now() < deadline, "models still loading: {models}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `GET /models` entry of model `name`, if it is listed.
    pub fn model_entry(&self, name: &str) -> Option<Value> {
        self.get("/models").body["models"]
            .as_array()?
            .iter()
            .find(|m| m["name"] == name)
            .cloned()
    }

    /// Waits (up to 30 s) until the log holds a line containing every one of `needles`, and
    /// returns that line. The log is read by another thread, so a line written just before
    /// an HTTP answer may arrive just after it.
    pub fn wait_for_log(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let logs = self.logs();
            if let Some(line) = logs
                .lines()
                .find(|line| needles.iter().all(|n| line.contains(n)))
            {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needles:?}:\n{logs}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Polls the training job at `url` (a `job_url`) until it is done or failed, for up to
    /// two minutes; returns its record.
    pub fn finished_job(&self, url: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let reply = self.get(url);
            assert_eq!(reply.status, 200, "{url}: {}", reply.raw);
            if reply.body["state"] == "done" || reply.body["state"] == "failed" {
                return reply.body;
            }
            assert!(
                Instant::now() < deadline,
                "job never finished: {}",
                reply.raw
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The model version `/setup` answers for `model` in `project` with label config
    /// `config`.
    pub fn setup_version(&self, model: &str, project: u64, config: &str) -> String {
        let reply = self.post_json(
            &format!("/models/{model}/setup"),
            &serde_json::json!({"project": format!("{project}.1700000000"), "schema": config}),
        );
        assert_eq!(reply.status, 200, "{}", reply.raw);
        reply.body["model_version"]
            .as_str()
            .expect("version")
            .to_owned()
    }

    /// Everything the host logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("log lock").join("\n")
    }

    /// Kills the host with SIGKILL (no chance to clean up), as a crash would, and waits for
    /// it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// True when the host process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway `redis-server` (Debian package `redis-server`) on a free loopback port and on a
/// Unix socket in a temporary folder, without persistence. Killed when dropped.
pub struct RedisServer {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl RedisServer {
    /// Starts the server and waits until it accepts connections on both.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("redis.sock");
        // A port the kernel just handed out and released: free unless another process takes
        // it in the next moment.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--unixsocket"])
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/install-toolchains)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self { child, dir, port }
    }

    /// The URL to pass as `--store`, over TCP: `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The same server over its Unix socket: `redis+unix:///.../redis.sock`.
    pub fn unix_url(&self) -> String {
        format!(
            "redis+unix://{}",
            self.dir.path().join("redis.sock").display()
        )
    }
}

/// A throwaway `redis-server` that speaks only TLS, on a free loopback port, with a server
/// certificate for `127.0.0.1` and `localhost` signed by a CA made for it (with the `openssl`
/// command line) and trusted nowhere else. Killed when dropped.
pub struct TlsRedisServer {
    server: RedisServer,
}

impl TlsRedisServer {
    /// Makes the CA and the server's certificate, starts the server and waits until it
    /// accepts connections.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        make_test_certificates(dir.path());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let file = |name: &str| dir.path().join(name);
        let child = Command::new("redis-server")
            // `--port 0`: no plaintext port, so a client that skipped TLS could not pass.
            .args(["--bind", "127.0.0.1", "--port", "0", "--tls-port"])
            .arg(port.to_string())
            .arg("--tls-cert-file")
            .arg(file("server.pem"))
            .arg("--tls-key-file")
            .arg(file("server.key"))
            .arg("--tls-ca-cert-file")
            .arg(file("ca.pem"))
            .args(["--tls-auth-clients", "no", "--save", ""])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/install-toolchains)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            server: RedisServer { child, dir, port },
        }
    }

    /// The URL to pass as `--store`: `rediss://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0", self.server.port)
    }

    /// The same server by host name: `rediss://localhost:<port>/0`.
    pub fn localhost_url(&self) -> String {
        format!("rediss://localhost:{}/0", self.server.port)
    }

    /// The PEM file of the CA that signed the server's certificate (`--redis-ca-file`).
    pub fn ca_file(&self) -> PathBuf {
        self.server.dir.path().join("ca.pem")
    }
}

/// Writes into `dir` a CA (`ca.pem`, `ca.key`) and a server certificate for `127.0.0.1` and
/// `localhost` signed by it (`server.pem`, `server.key`). P-256 keys: quick to make.
fn make_test_certificates(dir: &Path) {
    let openssl = |args: &str| {
        let output = Command::new("openssl")
            .args(args.split_whitespace())
            .current_dir(dir)
            .output()
            .expect("the openssl command line must be installed");
        assert!(
            output.status.success(),
            "openssl {args}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(&format!(
        "req -x509 -days 2 -subj /CN=wasml-test-CA {key} -keyout ca.key -out ca.pem \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
    ));
    openssl(&format!(
        "req -subj /CN=localhost {key} -keyout server.key -out server.csr"
    ));
    let extensions = "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
        basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::fs::write(dir.join("server.ext"), extensions).expect("write server.ext");
    openssl(
        "x509 -req -days 2 -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
         -out server.pem -extfile server.ext",
    );
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
