//! Redis deployments for session-redis's tests: single (the machine's 6379, started only
//! when nothing answers there), auth + unix socket, TLS, Sentinel and Cluster (see the
//! table in the parent module).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Services, openssl, wait_for};

/// Password of the password-protected test servers.
pub(super) const PASSWORD: &str = "password";
/// Password of the sentinels.
pub(super) const SENTINEL_PASSWORD: &str = "sentinelpass";
const SINGLE: u16 = 6379;
pub(super) const AUTH: u16 = 6390;
const TLS: u16 = 6391;
pub(super) const SENTINEL_DATA: [u16; 2] = [6380, 6381];
pub(super) const SENTINELS: [u16; 3] = [26379, 26380, 26381];
pub(super) const CLUSTER: [u16; 3] = [7000, 7001, 7002];

/// Stops the Redis test servers this machine runs for the tests (whoever started them):
/// the sentinel deployment, the cluster, the auth and TLS servers. Never 6379.
pub(super) fn stop_redis() {
    for port in CLUSTER {
        shutdown(port, Some(PASSWORD));
    }
    for port in SENTINELS {
        shutdown(port, Some(SENTINEL_PASSWORD));
    }
    for port in SENTINEL_DATA {
        shutdown(port, Some(PASSWORD));
    }
    shutdown(AUTH, Some(PASSWORD));
    shutdown(TLS + 100, None); // its plain-text port
}

/// The directory holding the Redis servers' configuration, data and TLS files (and
/// memcached's pid file).
pub(super) fn redis_dir() -> PathBuf {
    std::env::temp_dir().join("session-xtask-redis")
}

/// One RESP reply, flattened to text.
#[derive(Debug)]
enum Reply {
    Ok(String),
    Err(String),
}

fn read_reply(r: &mut impl BufRead) -> Result<Reply, String> {
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.trim_end();
    let (kind, rest) = line.split_at(line.len().min(1));
    match kind {
        "+" | ":" => Ok(Reply::Ok(rest.to_owned())),
        "-" => Ok(Reply::Err(rest.to_owned())),
        "$" => {
            let len: i64 = rest
                .parse()
                .map_err(|_| format!("bad bulk length {rest}"))?;
            let Ok(len) = usize::try_from(len) else {
                return Ok(Reply::Ok(String::new()));
            };
            let mut buf = vec![0; len + 2];
            r.read_exact(&mut buf).map_err(|e| e.to_string())?;
            buf.truncate(len);
            Ok(Reply::Ok(String::from_utf8_lossy(&buf).into_owned()))
        }
        "*" => {
            let n: i64 = rest
                .parse()
                .map_err(|_| format!("bad array length {rest}"))?;
            let mut parts = Vec::new();
            for _ in 0..n.max(0) {
                match read_reply(r)? {
                    Reply::Ok(s) | Reply::Err(s) => parts.push(s),
                }
            }
            Ok(Reply::Ok(parts.join("\n")))
        }
        _ => Err(format!("unexpected reply {line:?}")),
    }
}

/// Sends `args` (after `AUTH password` when given) to 127.0.0.1:`port`.
fn query(port: u16, password: Option<&str>, args: &[&str]) -> Result<Reply, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream =
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut w = stream.try_clone().map_err(|e| e.to_string())?;
    let mut r = BufReader::new(stream);
    let mut send = |args: &[&str]| -> Result<Reply, String> {
        let mut msg = format!("*{}\r\n", args.len());
        for a in args {
            msg.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        w.write_all(msg.as_bytes()).map_err(|e| e.to_string())?;
        read_reply(&mut r)
    };
    if let Some(password) = password
        && let Reply::Err(e) = send(&["AUTH", password])?
    {
        return Err(format!("AUTH refused: {e}"));
    }
    send(args)
}

pub(super) fn answers(port: u16, password: Option<&str>) -> bool {
    matches!(query(port, password, &["PING"]), Ok(Reply::Ok(_)))
}

pub(super) fn shutdown(port: u16, password: Option<&str>) {
    // The server closes the connection instead of answering; that is success.
    let _ = query(port, password, &["SHUTDOWN", "NOSAVE"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while answers(port, password) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes `conf` (plus the common lines) for the server on `port` and starts it daemonized.
fn spawn_server(
    dir: &Path,
    name: &str,
    port: u16,
    conf: &str,
    sentinel: bool,
) -> Result<(), String> {
    let work = dir.join(name);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let file = work.join(if sentinel {
        "sentinel.conf"
    } else {
        "redis.conf"
    });
    let mut text = format!(
        "bind 127.0.0.1\nprotected-mode no\ndaemonize yes\ndir {}\npidfile {}\nlogfile {}\n",
        work.display(),
        work.join("redis.pid").display(),
        work.join("redis.log").display(),
    );
    if !sentinel {
        text.push_str("save \"\"\nappendonly no\n");
    }
    if !conf.contains("tls-port") {
        text.push_str(&format!("port {port}\n"));
    }
    text.push_str(conf);
    std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut cmd = Command::new("redis-server");
    cmd.arg(&file);
    if sentinel {
        cmd.arg("--sentinel");
    }
    let status = cmd
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run redis-server: {e}"))?;
    if !status.success() {
        return Err(format!("redis-server {name} failed to start ({status})"));
    }
    Ok(())
}

/// Runs `openssl` with whitespace-separated `args` in `dir`.
/// A CA and a server certificate for `localhost`, `redis.test` and 127.0.0.1.
fn make_certs(dir: &Path) -> Result<(), String> {
    let tls = dir.join("tls");
    if tls.join("server.crt").is_file() && tls.join("ca.crt").is_file() {
        return Ok(());
    }
    std::fs::create_dir_all(&tls).map_err(|e| e.to_string())?;
    std::fs::write(
        tls.join("ext.cnf"),
        "subjectAltName=DNS:localhost,DNS:redis.test,IP:127.0.0.1\n\
         basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(&tls, "genrsa -out ca.key 2048")?;
    openssl(
        &tls,
        "req -x509 -new -key ca.key -sha256 -days 3650 -subj /CN=session-test-CA -out ca.crt",
    )?;
    openssl(&tls, "genrsa -out server.key 2048")?;
    openssl(
        &tls,
        "req -new -key server.key -subj /CN=localhost -out server.csr",
    )?;
    openssl(
        &tls,
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
         -sha256 -extfile ext.cnf -out server.crt",
    )
}

pub(super) fn start_redis(services: &mut Services) -> Result<(), String> {
    let dir = redis_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let timeout = Duration::from_secs(30);

    if !answers(SINGLE, None) {
        eprintln!("services: nothing answers on {SINGLE}, starting a redis-server there");
        spawn_server(&dir, "single", SINGLE, "", false)?;
        services.owned.push((SINGLE, None));
        wait_for("redis 6379", timeout, || answers(SINGLE, None))?;
    }

    if !answers(AUTH, Some(PASSWORD)) {
        let conf = format!(
            "requirepass {PASSWORD}\nuser sessions on >sessionspass ~* &* +@all\n\
             unixsocket {}\nunixsocketperm 700\n",
            dir.join("redis.sock").display()
        );
        spawn_server(&dir, "auth", AUTH, &conf, false)?;
        services.owned.push((AUTH, Some(PASSWORD)));
        wait_for("redis with auth", timeout, || answers(AUTH, Some(PASSWORD)))?;
    }

    make_certs(&dir)?;
    // The TLS server also listens in plain text on a port nobody uses, so it can be
    // pinged and shut down without a TLS client.
    let tls_plain = TLS + 100;
    if !answers(tls_plain, None) {
        let tls = dir.join("tls");
        let conf = format!(
            "port {tls_plain}\ntls-port {TLS}\ntls-cert-file {}\ntls-key-file {}\n\
             tls-ca-cert-file {}\ntls-auth-clients no\n",
            tls.join("server.crt").display(),
            tls.join("server.key").display(),
            tls.join("ca.crt").display(),
        );
        spawn_server(&dir, "tls", TLS, &conf, false)?;
        services.owned.push((tls_plain, None));
        wait_for("redis over TLS", timeout, || answers(tls_plain, None))?;
    }

    start_sentinel(services, &dir, timeout)?;
    start_cluster(services, &dir, timeout)?;
    eprintln!(
        "services: redis single :{SINGLE}, auth :{AUTH}, tls :{TLS}, sentinel {SENTINEL_DATA:?} \
         + {SENTINELS:?}, cluster {CLUSTER:?}"
    );
    Ok(())
}

fn sentinel_ready() -> bool {
    SENTINELS.iter().all(|&p| {
        matches!(
            query(
                p,
                Some(SENTINEL_PASSWORD),
                &["SENTINEL", "CKQUORUM", "mymaster"]
            ),
            Ok(Reply::Ok(_))
        ) && matches!(
            query(p, Some(SENTINEL_PASSWORD), &["SENTINEL", "REPLICAS", "mymaster"]),
            Ok(Reply::Ok(s)) if s.contains("slave") && !s.contains("s_down")
        )
    })
}

fn start_sentinel(services: &mut Services, dir: &Path, timeout: Duration) -> Result<(), String> {
    let running = SENTINEL_DATA.iter().all(|&p| answers(p, Some(PASSWORD)))
        && SENTINELS
            .iter()
            .all(|&p| answers(p, Some(SENTINEL_PASSWORD)));
    if running && sentinel_ready() {
        return Ok(());
    }
    // Half a deployment (an earlier run died): rebuild it from scratch.
    for port in SENTINELS {
        shutdown(port, Some(SENTINEL_PASSWORD));
    }
    for port in SENTINEL_DATA {
        shutdown(port, Some(PASSWORD));
    }
    let [master, replica] = SENTINEL_DATA;
    let auth = format!("requirepass {PASSWORD}\nmasterauth {PASSWORD}\n");
    spawn_server(dir, "sentinel-master", master, &auth, false)?;
    services.owned.push((master, Some(PASSWORD)));
    let replica_conf = format!("{auth}replicaof 127.0.0.1 {master}\n");
    spawn_server(dir, "sentinel-replica", replica, &replica_conf, false)?;
    services.owned.push((replica, Some(PASSWORD)));
    wait_for("sentinel replica link", timeout, || {
        matches!(query(replica, Some(PASSWORD), &["INFO", "replication"]),
            Ok(Reply::Ok(s)) if s.contains("master_link_status:up"))
    })?;
    for port in SENTINELS {
        let conf = format!(
            "sentinel monitor mymaster 127.0.0.1 {master} 2\n\
             sentinel auth-pass mymaster {PASSWORD}\n\
             sentinel down-after-milliseconds mymaster 1000\n\
             sentinel failover-timeout mymaster 5000\n\
             sentinel parallel-syncs mymaster 1\n\
             requirepass {SENTINEL_PASSWORD}\n\
             sentinel sentinel-pass {SENTINEL_PASSWORD}\n"
        );
        // A sentinel rewrites its file: start from a fresh one each time.
        let _ = std::fs::remove_dir_all(dir.join(format!("sentinel-{port}")));
        spawn_server(dir, &format!("sentinel-{port}"), port, &conf, true)?;
        services.owned.push((port, Some(SENTINEL_PASSWORD)));
    }
    wait_for("sentinels", Duration::from_secs(60), sentinel_ready)
}

fn cluster_ok() -> bool {
    CLUSTER.iter().all(|&p| {
        matches!(query(p, Some(PASSWORD), &["CLUSTER", "INFO"]),
            Ok(Reply::Ok(s)) if s.contains("cluster_state:ok") && s.contains("cluster_known_nodes:3"))
    })
}

fn start_cluster(services: &mut Services, dir: &Path, timeout: Duration) -> Result<(), String> {
    if cluster_ok() {
        return Ok(());
    }
    for port in CLUSTER {
        shutdown(port, Some(PASSWORD));
    }
    for port in CLUSTER {
        let name = format!("cluster-{port}");
        let _ = std::fs::remove_dir_all(dir.join(&name));
        let conf = format!(
            "requirepass {PASSWORD}\nmasterauth {PASSWORD}\ncluster-enabled yes\n\
             cluster-config-file nodes.conf\ncluster-node-timeout 2000\n"
        );
        spawn_server(dir, &name, port, &conf, false)?;
        services.owned.push((port, Some(PASSWORD)));
    }
    for port in CLUSTER {
        wait_for("cluster node", timeout, || answers(port, Some(PASSWORD)))?;
    }
    let nodes: Vec<String> = CLUSTER.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let status = Command::new("redis-cli")
        .args(["--no-auth-warning", "-a", PASSWORD, "--cluster", "create"])
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run redis-cli: {e}"))?;
    if !status.success() {
        return Err(format!("redis-cli --cluster create failed ({status})"));
    }
    wait_for("cluster", timeout, cluster_ok)
}
