//! Sentinel failover: the master of the test deployment is stopped; saves and opens work
//! again after the promotion without rebuilding the store, and sessions saved before are
//! still there. The stopped master is then restarted as a replica of the new one, so the
//! deployment is whole again for the next run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use session_redis::redis;
use session_storage::{ErrorKind, Metadata, SetRequest, Storage};
use session_testsupport::clock;
use session_testsupport::names::unique;

fn sentinel_ports() -> Vec<u16> {
    common::sentinels()
        .iter()
        .map(|n| n.port.expect("a sentinel port"))
        .collect()
}

async fn master_port(sentinel: u16) -> u16 {
    let password = common::sentinel_password();
    let master = common::sentinel_master();
    let (_, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(&master)
        .query_async(&mut common::raw_connection(sentinel, &password).await)
        .await
        .unwrap();
    port
}

async fn replica_healthy(sentinel: u16, port: u16) -> bool {
    let password = common::sentinel_password();
    let master = common::sentinel_master();
    let Ok(replicas) = redis::cmd("SENTINEL")
        .arg("REPLICAS")
        .arg(&master)
        .query_async::<Vec<std::collections::HashMap<String, String>>>(
            &mut common::raw_connection(sentinel, &password).await,
        )
        .await
    else {
        return false;
    };
    replicas.iter().any(|r| {
        r.get("port").map(String::as_str) == Some(&port.to_string())
            && r.get("flags")
                .is_some_and(|f| !f.contains("down") && !f.contains("disconnected"))
            && r.get("master-link-status").map(String::as_str) == Some("ok")
    })
}

/// The sentinels name one of `nodes` as master and another of them is its healthy replica.
async fn deployment_whole(sentinel: u16, nodes: [u16; 2]) -> bool {
    let password = common::sentinel_password();
    let master = common::sentinel_master();
    let mut conn = common::raw_connection(sentinel, &password).await;
    let Ok((_, current)) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(&master)
        .query_async::<(String, u16)>(&mut conn)
        .await
    else {
        return false;
    };
    for node in nodes.into_iter().filter(|n| *n != current) {
        if nodes.contains(&current) && replica_healthy(sentinel, node).await {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_keeps_sessions_and_is_followed() {
    let sentinels = sentinel_ports();
    let password = common::password();
    let old_master = master_port(sentinels[0]).await;
    // The deployment must be whole: a replica ready to be promoted.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut replica = None;
    while replica.is_none() {
        for port in [6380, 6381, 6382].into_iter().filter(|p| *p != old_master) {
            if replica_healthy(sentinels[0], port).await {
                replica = Some(port);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the sentinel deployment has no healthy replica"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let store = common::store(common::sentinel_config().with_prefix(unique("failover")));
    let meta = Metadata::new(vec!["YQ".into()], vec!["cw".into()]);
    let keys: Vec<String> = (0..10)
        .map(|i| format!("failover_key_{i:02}_iiiiiiiiiiiiiiiiiiiiiiiiiiiii"))
        .collect();
    let now = clock::now();
    for key in &keys {
        store
            .set(&SetRequest::new("session", key, "[\"before\"]", 300, now).with_metadata(&meta))
            .await
            .unwrap();
    }
    // Make sure the replica has them before the master goes away.
    let mut master = common::raw_connection(old_master, &password).await;
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query_async(&mut master)
        .await
        .unwrap();
    assert!(acked >= 1, "replica did not acknowledge");

    let _ = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query_async::<()>(&mut master)
        .await;
    let stopped = Instant::now();

    // Keep saving until the promotion is done; every failure meanwhile is a typed outage,
    // bounded by the store's timeouts.
    let limit = store.operation_timeout() + Duration::from_secs(1);
    let new_key = "failover_new_iiiiiiiiiiiiiiiiiiiiiiiiiiiiii";
    let mut failures = 0;
    loop {
        let t = Instant::now();
        match store
            .set(
                &SetRequest::new("session", new_key, "[\"after\"]", 300, clock::now())
                    .with_metadata(&meta),
            )
            .await
        {
            Ok(()) => break,
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Timeout),
                    "untyped failure during failover: {e}"
                );
                assert!(t.elapsed() <= limit, "a save took {:?}", t.elapsed());
                failures += 1;
            }
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(60),
            "no promotion within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = stopped.elapsed();
    let new_master = master_port(sentinels[0]).await;
    assert_ne!(new_master, old_master);
    assert_eq!(
        store
            .get("session", new_key, clock::now())
            .await
            .unwrap()
            .as_deref(),
        Some("[\"after\"]")
    );
    for key in &keys {
        assert_eq!(
            store
                .get("session", key, clock::now())
                .await
                .unwrap()
                .as_deref(),
            Some("[\"before\"]"),
            "session saved before the failover is gone"
        );
    }
    let index = store
        .read_metadata("session", "YQ", "cw", clock::now())
        .await
        .unwrap();
    assert!(keys.iter().all(|k| index.contains_key(k)) && index.contains_key(new_key));
    eprintln!(
        "failover: saves worked again {recovered:?} after the master stopped ({failures} failed attempts)"
    );

    // Restore: the old master comes back as a replica of the new one.
    let dir = std::env::temp_dir()
        .join("session-xtask-redis")
        .join(format!("restored-{old_master}"));
    std::fs::create_dir_all(&dir).unwrap();
    let start = || {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &old_master.to_string(),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "no",
        ])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "yes"])
        .args(["--replicaof", "127.0.0.1", &new_master.to_string()])
        .arg("--dir")
        .arg(&dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"));
        if !password.is_empty() {
            cmd.args(["--requirepass", &password, "--masterauth", &password]);
        }
        let status = cmd.stdout(Stdio::null()).status().expect("redis-server");
        assert!(status.success());
    };
    start();
    let mut started_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(90);
    // Whole again means: the sentinels name a master and the other node is its healthy
    // replica. On a loaded machine the sentinels (down-after 1 s) may fail over once more
    // and promote the restarted node back; that topology is just as whole.
    while !deployment_whole(sentinels[0], [old_master, new_master]).await {
        if Instant::now() >= deadline {
            let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            panic!(
                "restarted master {old_master} did not rejoin the deployment with {new_master}; \
                 its log ends with:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        // A daemonized start can lose the race for the port with the old
        // process's shutdown: start again if nothing answers there.
        let listening = std::net::TcpStream::connect(("127.0.0.1", old_master)).is_ok();
        if !listening && started_at.elapsed() > Duration::from_secs(3) {
            start();
            started_at = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for key in keys.iter().map(String::as_str).chain([new_key]) {
        store
            .delete("session", key, clock::now(), Some(&meta))
            .await
            .unwrap();
    }
}
