//! The same contract, checked against every backend, on a multi-threaded runtime as the
//! host runs them (the redb backend reads in place there).

use std::sync::Arc;

use super::*;

/// What keeps a backend alive for a test: its folder, or its Redis server.
type Guard = Box<dyn std::any::Any>;

/// A throwaway `redis-server` on a Unix socket in a temporary folder (no port to collide
/// on, no persistence), killed when dropped.
struct RedisServer {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl RedisServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("redis.sock");
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--unixsocket",
            ])
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server) must be installed");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !socket.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Self { child, dir }
    }

    fn url(&self) -> String {
        format!(
            "redis+unix://{}",
            self.dir.path().join("redis.sock").display()
        )
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Redis server for a test, or `None` (with the reason on stderr) when `redis-server` is
/// not installed and the run does not require it: `cargo test -p wasml` works on a machine
/// without Redis, while `scripts/test` (and so CI) sets `WASML_REQUIRE_REDIS=1`.
fn redis_server(test: &str) -> Option<RedisServer> {
    let installed = std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        return Some(RedisServer::start());
    }
    assert!(
        std::env::var_os("WASML_REQUIRE_REDIS").is_none(),
        "WASML_REQUIRE_REDIS is set but redis-server is not installed"
    );
    eprintln!(
        "{test}: skipped the Redis backend: redis-server is not installed \
         (apt-get install redis-server, or scripts/install-toolchains)"
    );
    None
}

async fn redis_store(server: &RedisServer) -> RedisStore {
    RedisStore::connect(&server.url()).await.expect("connect")
}

async fn backends() -> Vec<(Arc<dyn ModelStore>, Guard)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let redb = RedbStore::open(&dir.path().join("store.redb")).expect("open redb");
    let mut backends: Vec<(Arc<dyn ModelStore>, Guard)> = vec![
        (Arc::new(MemoryStore::default()), Box::new(())),
        (Arc::new(redb), Box::new(dir)),
    ];
    if let Some(server) = redis_server("store contract") {
        let redis = redis_store(&server).await;
        backends.push((Arc::new(redis), Box::new(server)));
    }
    backends
}

fn scope(model: &str, project: &str) -> ProjectKey {
    ProjectKey {
        model: model.into(),
        project: project.into(),
    }
}

async fn commit(call: CallStore, backend: &Arc<dyn ModelStore>) {
    backend.commit(call.into_batch()).await.expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_never_see_each_other() {
    for (backend, _dir) in backends().await {
        let mut a1 = CallStore::new(backend.clone(), scope("a", "1"));
        a1.set("k", b"a1".to_vec()).expect("set");
        commit(a1, &backend).await;
        for (model, project) in [("a", "2"), ("b", "1"), ("a", "")] {
            let other = CallStore::new(backend.clone(), scope(model, project));
            assert_eq!(
                other.get("k").await.expect("get"),
                None,
                "{model}/{project}"
            );
            assert!(other.list_keys("").await.expect("list").is_empty());
        }
        let a1 = CallStore::new(backend.clone(), scope("a", "1"));
        assert_eq!(a1.get("k").await.expect("get"), Some(b"a1".to_vec()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_invisible_until_committed_and_lost_if_dropped() {
    for (backend, _dir) in backends().await {
        let mut call = CallStore::new(backend.clone(), scope("m", "1"));
        call.set("k", b"v".to_vec()).expect("set");
        assert_eq!(call.get("k").await.expect("own write"), Some(b"v".to_vec()));
        let other = CallStore::new(backend.clone(), scope("m", "1"));
        assert_eq!(other.get("k").await.expect("get"), None);
        drop(call);
        assert_eq!(other.get("k").await.expect("get"), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_enforced() {
    for (backend, _dir) in backends().await {
        let mut s = CallStore::new(backend, scope("m", "1"));
        assert!(matches!(
            s.set("", vec![]),
            Err(StoreFailure::InvalidKey(_))
        ));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            s.get(&long).await,
            Err(StoreFailure::InvalidKey(_))
        ));
        let big = vec![0; MAX_VALUE_BYTES + 1];
        assert!(matches!(
            s.set("k", big),
            Err(StoreFailure::TooLarge { .. })
        ));
        // Rewriting one key does not count twice toward the call's budget.
        for _ in 0..(2 * MAX_CALL_WRITE_BYTES / MAX_VALUE_BYTES) {
            s.set("same", vec![0; MAX_VALUE_BYTES]).expect("rewrite");
        }
        let mut failed = false;
        for i in 0..=(MAX_CALL_WRITE_BYTES / MAX_VALUE_BYTES) {
            if s.set(&format!("k{i}"), vec![0; MAX_VALUE_BYTES]).is_err() {
                failed = true;
            }
        }
        assert!(failed, "a call cannot stage more than MAX_CALL_WRITE_BYTES");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_delete_see_pending_writes() {
    for (backend, _dir) in backends().await {
        let mut s = CallStore::new(backend.clone(), scope("m", "1"));
        for k in ["ex/2", "ex/1", "other"] {
            s.set(k, vec![1]).expect("set");
        }
        commit(s, &backend).await;
        let mut s = CallStore::new(backend.clone(), scope("m", "1"));
        assert_eq!(s.list_keys("ex/").await.expect("list"), ["ex/1", "ex/2"]);
        assert!(s.delete("ex/1").await.expect("delete"));
        assert!(!s.delete("ex/1").await.expect("delete"));
        s.set("ex/3", vec![3]).expect("set");
        assert_eq!(s.list_keys("ex/").await.expect("list"), ["ex/2", "ex/3"]);
        commit(s, &backend).await;
        let s = CallStore::new(backend.clone(), scope("m", "1"));
        assert_eq!(s.list_keys("ex/").await.expect("list"), ["ex/2", "ex/3"]);
        assert_eq!(s.list_keys("").await.expect("list").len(), 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_records_commit_with_guest_writes() {
    for (backend, _dir) in backends().await {
        let mut s = CallStore::new(backend.clone(), scope("m", "1"));
        s.set("model", b"weights".to_vec()).expect("set");
        let batch = s
            .into_batch()
            .with_host(HostTable::Projects, "m/1".into(), Some(b"{}".to_vec()))
            .with_host(HostTable::Jobs, "1".into(), Some(b"job".to_vec()));
        backend.commit(batch).await.expect("commit");
        let projects = backend
            .host_records(HostTable::Projects)
            .await
            .expect("read");
        assert_eq!(projects, [("m/1".to_owned(), b"{}".to_vec())]);
        let jobs = backend.host_records(HostTable::Jobs).await.expect("read");
        assert_eq!(jobs, [("1".to_owned(), b"job".to_vec())]);
        backend
            .commit(Batch::host(HostTable::Jobs, "1".into(), None))
            .await
            .expect("delete");
        assert!(
            backend
                .host_records(HostTable::Jobs)
                .await
                .expect("read")
                .is_empty()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.redb");
    {
        let backend: Arc<dyn ModelStore> = Arc::new(RedbStore::open(&path).expect("open"));
        let mut s = CallStore::new(backend.clone(), scope("m", "7"));
        s.set("k", b"kept".to_vec()).expect("set");
        commit(s, &backend).await;
    }
    let backend: Arc<dyn ModelStore> = Arc::new(RedbStore::open(&path).expect("reopen"));
    let s = CallStore::new(backend, scope("m", "7"));
    assert_eq!(s.get("k").await.expect("get"), Some(b"kept".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_fenced_by_a_lost_lock_writes_nothing() {
    let Some(server) = redis_server("fencing") else {
        return;
    };
    let store: Arc<dyn ModelStore> = Arc::new(redis_store(&server).await);
    let first = store.lock("fit/m/1").await.expect("lock");
    // Its lease runs out (a long pause, a partition) and another host takes the lock.
    let client = ::redis::Client::open(server.url()).expect("client");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = ::redis::cmd("DEL")
        .arg("wasml:lock:fit/m/1")
        .query_async(&mut raw)
        .await
        .expect("expire the lease");
    let second = store.lock("fit/m/1").await.expect("lock after expiry");

    let mut late = CallStore::new(store.clone(), scope("m", "1"));
    late.set("model", b"stale".to_vec()).expect("set");
    let refused = store
        .commit(
            late.into_batch()
                .with_host(HostTable::Generations, "m/1".into(), Some(b"1".to_vec()))
                .fenced_by(&first),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreFailure::LockLost(_))),
        "{refused:?}"
    );
    let reader = CallStore::new(store.clone(), scope("m", "1"));
    assert_eq!(
        reader.get("model").await.expect("get"),
        None,
        "nothing written"
    );
    assert!(
        store
            .host_records(HostTable::Generations)
            .await
            .expect("read")
            .is_empty()
    );

    // The holder commits.
    let mut current = CallStore::new(store.clone(), scope("m", "1"));
    current.set("model", b"fresh".to_vec()).expect("set");
    store
        .commit(current.into_batch().fenced_by(&second))
        .await
        .expect("the holder commits");
    let reader = CallStore::new(store.clone(), scope("m", "1"));
    assert_eq!(
        reader.get("model").await.expect("get"),
        Some(b"fresh".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_tokens_are_random_128_bit_values() {
    let Some(server) = redis_server("lock tokens") else {
        return;
    };
    let store = redis_store(&server).await;
    let mut tokens = std::collections::HashSet::new();
    for i in 0..20 {
        let lock = store.lock(&format!("fit/m/{i}")).await.expect("lock");
        let token = lock
            .fence()
            .map(|f| f.token)
            .expect("a Redis lock has a fence");
        assert_eq!(token.len(), 32, "{token}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        assert!(tokens.insert(token), "tokens repeat");
    }
}
