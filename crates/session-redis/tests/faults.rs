//! Faults: Redis stopped mid-run (typed errors within the timeouts, the pool recovers by
//! itself), a server that accepts but never answers, and a cluster slot moving (`ASK` while it
//! migrates, `MOVED` after).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use session_redis::redis;
use session_redis::{RedisConfig, RedisStorage};
use session_storage::{Metadata, SetRequest, Storage};
use session_testsupport::clock::now;
use session_testsupport::faults::{
    every_operation_fails_in_time, is_outage, saved_before_the_outage, store_recovered,
};
use session_testsupport::names::unique;
use session_testsupport::net::{MuteServer, ServerProcess, closed_port};

const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// A redis-server of this test's own (never the shared 6379), killed on drop.
struct Server {
    process: ServerProcess,
    dir: std::path::PathBuf,
}

impl Server {
    fn start(port: u16) -> Self {
        let dir = std::env::temp_dir().join(format!("session-redis-fault-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null());
        let process = ServerProcess::start(
            command,
            port,
            "redis-server must be installed (cargo xtask test installs it)",
        );
        Self { process, dir }
    }

    fn stop(&mut self) {
        self.process.stop();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_redis_gives_typed_errors_in_time_and_the_pool_recovers() {
    let port = closed_port();
    let mut server = Server::start(port);
    let config = RedisConfig::default()
        .with_host("127.0.0.1", port)
        .with_timeouts(200, 200, 300)
        .with_prefix("fault");
    let store = RedisStorage::from_config(config).unwrap();
    let limit = store.operation_timeout() + Duration::from_millis(500);
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    let now = now();
    let save = SetRequest::new("session", K, "[\"v\"]", 60, now).with_metadata(&meta);
    saved_before_the_outage(&store, &save).await;

    server.stop();
    for _ in 0..3 {
        every_operation_fails_in_time(&store, &save, limit).await;
    }

    // Back again (empty: it saves nothing): the same store works without being rebuilt.
    let _server = Server::start(port);
    store_recovered(&store, &save).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out_within_the_configured_timeouts() {
    // Accepts connections and never answers.
    let server = MuteServer::start();
    let config = RedisConfig::default()
        .with_host("127.0.0.1", server.port())
        .with_timeouts(200, 100, 200);
    let store = RedisStorage::from_config(config).unwrap();
    let limit = store.operation_timeout() + Duration::from_millis(500);
    for _ in 0..2 {
        let t = Instant::now();
        let err = store.get("session", K, 0).await.unwrap_err();
        assert!(is_outage(&err), "{err}");
        assert!(t.elapsed() <= limit, "get took {:?}", t.elapsed());
        let t = Instant::now();
        let err = store
            .set(&SetRequest::new("session", K, "v", 60, 0).with_old_key("o", 10))
            .await
            .unwrap_err();
        assert!(is_outage(&err), "{err}");
        assert!(t.elapsed() <= limit, "set took {:?}", t.elapsed());
    }
    drop(server);
}

async fn node(port: u16) -> redis::aio::MultiplexedConnection {
    common::raw_connection(port, &common::password()).await
}

/// (node id, port) of every master, and the port serving `slot`.
async fn masters_and_owner(seed: u16, slot: i64) -> (Vec<(String, u16)>, u16) {
    let mut c = node(seed).await;
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut c)
        .await
        .unwrap();
    let mut masters = Vec::new();
    let mut owner = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if !f[2].contains("master") {
            continue;
        }
        let port: u16 = f[1].split(['@', ':']).nth(1).unwrap().parse().unwrap();
        masters.push((f[0].to_owned(), port));
        for range in &f[8..] {
            if range.starts_with('[') {
                continue;
            }
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            if (lo.parse::<i64>().unwrap()..=hi.parse::<i64>().unwrap()).contains(&slot) {
                owner = Some(port);
            }
        }
    }
    (masters, owner.expect("slot owner"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_follows_ask_and_moved_while_a_slot_migrates() {
    // A hash tag in the prefix puts every key of this store in one slot.
    let tag = unique("slot");
    let config = common::cluster_config().with_prefix(format!("{{{tag}}}"));
    let seed = config.nodes.as_ref().unwrap()[0].port.unwrap();
    let store = RedisStorage::from_config(config).unwrap();
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    let now = now();
    let keys: Vec<String> = (0..3).map(|i| format!("{}{i}", &K[..42])).collect();
    let value = |i: usize| format!("[\"v{i}\"]");
    store
        .set(&SetRequest::new("session", &keys[0], &value(0), 60, now).with_metadata(&meta))
        .await
        .unwrap();

    let mut seed_conn = node(seed).await;
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&tag)
        .query_async(&mut seed_conn)
        .await
        .unwrap();
    let (masters, source_port) = masters_and_owner(seed, slot).await;
    let source_id = masters
        .iter()
        .find(|m| m.1 == source_port)
        .unwrap()
        .0
        .clone();
    let (target_id, target_port) = masters.iter().find(|m| m.1 != source_port).unwrap().clone();
    let mut source = node(source_port).await;
    let mut target = node(target_port).await;
    let setslot = |state: &str, id: &str| {
        let mut cmd = redis::cmd("CLUSTER");
        cmd.arg("SETSLOT").arg(slot).arg(state).arg(id);
        cmd
    };
    let () = setslot("IMPORTING", &source_id)
        .query_async(&mut target)
        .await
        .unwrap();
    let () = setslot("MIGRATING", &target_id)
        .query_async(&mut source)
        .await
        .unwrap();

    // Migrating: a new key is created on the target after an ASK redirection, and read back
    // through ASK as well; the existing key is still served by the source.
    store
        .set(&SetRequest::new("session", &keys[1], &value(1), 60, now))
        .await
        .expect("set during migration (ASK)");
    assert_eq!(
        store.get("session", &keys[1], now).await.unwrap(),
        Some(value(1))
    );
    assert_eq!(
        store.get("session", &keys[0], now).await.unwrap(),
        Some(value(0))
    );
    let (on_target,): (bool,) = redis::pipe()
        .cmd("ASKING")
        .ignore()
        .cmd("EXISTS")
        .arg(format!("{{{tag}}}:session:{}", keys[1]))
        .query_async(&mut target)
        .await
        .unwrap();
    assert!(on_target, "the new key went to the importing node");

    // Move the remaining keys, then hand the slot over: the source now answers MOVED.
    let remaining: Vec<String> = redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(100)
        .query_async(&mut source)
        .await
        .unwrap();
    if !remaining.is_empty() {
        let mut migrate = redis::cmd("MIGRATE");
        migrate
            .arg("127.0.0.1")
            .arg(target_port)
            .arg("")
            .arg(0)
            .arg(5000);
        let password = common::password();
        if !password.is_empty() {
            migrate.arg("AUTH").arg(&password);
        }
        migrate.arg("KEYS").arg(&remaining);
        let () = migrate.query_async(&mut source).await.unwrap();
    }
    for (_, port) in &masters {
        let () = setslot("NODE", &target_id)
            .query_async(&mut node(*port).await)
            .await
            .unwrap();
    }

    assert_eq!(
        store.get("session", &keys[0], now).await.unwrap(),
        Some(value(0)),
        "MOVED followed"
    );
    store
        .set(
            &SetRequest::new("session", &keys[2], &value(2), 60, now)
                .with_metadata(&meta)
                .with_old_key(&keys[0], 10),
        )
        .await
        .expect("pipelined save after the move");
    let index = store
        .read_metadata("session", "YQ", "cw", now)
        .await
        .unwrap();
    assert_eq!(index.get(&keys[2]), Some(&(now + 60)));
    assert!(!index.contains_key(&keys[0]));
    for key in &keys {
        store
            .delete("session", key, now, Some(&meta))
            .await
            .unwrap();
    }
}
