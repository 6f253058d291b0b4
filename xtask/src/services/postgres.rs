//! A private PostgreSQL for the tests, when none answers on 127.0.0.1:5432 and
//! `SESSION_PG_URL` is not set.
//!
//! The data directory is initialised afresh (`initdb --auth=trust`, superuser `postgres`),
//! the database `test` is created in single-user mode, and the server starts with
//! `pg_ctl` on a free loopback port, without a unix socket, as the `postgres` user (else
//! `nobody`) when xtask runs as root: PostgreSQL refuses to run as root. It offers TLS with
//! Debian's snakeoil certificate when the machine has one (the certificate the machine's
//! server uses, so every TLS test of session-pg runs as it does there), else with a CA and
//! a `localhost` certificate generated here; `SESSION_PG_TLS` names the CA either way.
//! With the generated CA, session-pg's check that the web PKI roots refuse the server's
//! self-signed certificate says NOT TESTED: it runs only with the snakeoil file, which
//! it knows is no web PKI root.
//! Durability is off (`fsync`, `synchronous_commit`, `full_page_writes`): the data is
//! thrown away.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Services, SqlServer, User, wait_for};

/// The machine's server, used when it answers.
const MACHINE_PORT: u16 = 5432;
const SNAKEOIL_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const SNAKEOIL_KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";

/// Whether a PostgreSQL answers on 127.0.0.1:`port`: it replies `S` or `N` to an
/// SSLRequest (PostgreSQL docs, "Frontend/Backend Protocol", "SSL Session Encryption").
pub(super) fn answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reply = [0u8; 1];
    stream.write_all(&[0, 0, 0, 8, 4, 210, 22, 47]).is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && matches!(&reply, b"S" | b"N")
}

/// Whether the tests need a private server: no `SESSION_PG_URL`, nothing on 5432.
pub(super) fn wanted() -> bool {
    std::env::var_os("SESSION_PG_URL").is_none() && !answers(MACHINE_PORT)
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: the one of `PATH`, else the
/// newest `/usr/lib/postgresql/<version>/bin` (Debian keeps them off `PATH`).
pub(super) fn binaries() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = super::which("initdb").and_then(|p| p.parent().map(Path::to_path_buf))
        && complete(&dir)
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| complete(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// Runs `cmd` (as `user`), its output appended to `log`; fails naming `what` and the log.
fn run(cmd: &mut Command, user: Option<User>, log: &Path, what: &str) -> Result<(), String> {
    let out = super::log_file(log)?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    if let Some(user) = user {
        user.apply(cmd);
    }
    let status = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status}); see {}", log.display()))
    }
}

/// Starts the private server (or reuses the one `services start` left running) and puts
/// its variables into `services`.
pub(super) fn start(services: &mut Services) -> Result<(), String> {
    if let Some(server) = SqlServer::running("pg", answers) {
        eprintln!(
            "services: postgresql 127.0.0.1:{} (private, already running, {})",
            server.port,
            server.dir.display()
        );
        services.env.extend(server.env.iter().cloned());
        return Ok(());
    }
    let bin = binaries().ok_or("PostgreSQL's initdb, pg_ctl and postgres are not installed")?;
    // PostgreSQL refuses to run as root.
    let user = if super::is_root() {
        Some(User::named("postgres").or_else(|| User::named("nobody")).ok_or(
            "running as root, and neither a `postgres` nor a `nobody` user to run PostgreSQL as",
        )?)
    } else {
        None
    };
    let dir = super::fresh_dir("pg", user.is_some(), stop)?;
    // From here on, an error stops what was started (the logs stay in `dir`).
    let server = services.own(SqlServer::new("pg", dir.clone()));
    let log = dir.join("xtask.log");
    if let Some(user) = user {
        user.chown(&dir)?;
    }

    let (cert, key, ca) = certificates(&dir)?;
    if let Some(user) = user {
        user.chown(&key)?;
    }
    let data = dir.join("data");
    run(
        Command::new(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .arg("--no-sync")
            .current_dir(&dir),
        user,
        &log,
        "initdb",
    )?;
    let port = super::free_port()?;
    let quote = |p: &Path| p.display().to_string().replace('\'', "''");
    let conf = format!(
        "\n# cargo xtask: a throwaway server for the tests\n\
         listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n\
         max_connections = 200\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
         ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
        quote(&cert),
        quote(&key),
    );
    let conf_file = data.join("postgresql.conf");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&conf_file)
        .and_then(|mut f| f.write_all(conf.as_bytes()))
        .map_err(|e| format!("{}: {e}", conf_file.display()))?;

    // The tests' database, created before the server listens (single-user mode reads
    // commands from stdin).
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.args(["--single", "-D"])
        .arg(&data)
        .arg("postgres")
        .current_dir(&dir);
    if let Some(user) = user {
        user.apply(&mut cmd);
    }
    let out = super::log_file(&log)?;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .spawn()
        .map_err(|e| format!("cannot run postgres --single: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(b"CREATE DATABASE test;\n")
            .map_err(|e| format!("postgres --single: {e}"))?;
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!(
            "creating the database `test` failed ({status}); see {}",
            log.display()
        ));
    }

    run(
        Command::new(bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .current_dir(&dir),
        user,
        &log,
        "pg_ctl start",
    )?;
    server.port = port;
    wait_for("postgresql", Duration::from_secs(30), || answers(port))?;

    server.env = vec![
        (
            "SESSION_PG_URL".into(),
            format!("postgres://postgres@127.0.0.1:{port}/test"),
        ),
        ("SESSION_PG_TLS".into(), ca.display().to_string()),
    ];
    if ca.as_os_str() != SNAKEOIL_CERT {
        server
            .env
            .push(("SESSION_PG_TLS_SERVER_NAME".into(), "localhost".into()));
    }
    server.save()?;
    let env = server.env.clone();
    services.env.extend(env);
    eprintln!(
        "services: postgresql 127.0.0.1:{port} (private, TLS with {}, {})",
        ca.display(),
        dir.display()
    );
    Ok(())
}

/// The server's certificate and key (copied into `dir`: PostgreSQL wants a key only its
/// user can read) and the CA file the tests trust: Debian's snakeoil pair when it is
/// there and readable, else a CA and a certificate for `localhost` generated with openssl.
/// The generated certificate names no IP address: session-pg's TLS tests check that a
/// connection to 127.0.0.1 without a server name is refused.
fn certificates(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    let copy = |from: &str, to: &Path| std::fs::copy(from, to).map(drop);
    if copy(SNAKEOIL_CERT, &cert).is_ok() && copy(SNAKEOIL_KEY, &key).is_ok() {
        super::set_mode(&key, 0o600)?;
        return Ok((cert, key, PathBuf::from(SNAKEOIL_CERT)));
    }
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    super::openssl(dir, "genrsa -out ca.key 2048")?;
    super::openssl(
        dir,
        "req -x509 -new -key ca.key -sha256 -days 3650 -subj /CN=session-pg-test-CA -out ca.crt",
    )?;
    super::openssl(dir, "genrsa -out server.key 2048")?;
    super::openssl(
        dir,
        "req -new -key server.key -subj /CN=localhost -out server.csr",
    )?;
    super::openssl(
        dir,
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
         -sha256 -extfile ext.cnf -out server.crt",
    )?;
    super::set_mode(&key, 0o600)?;
    Ok((cert, key, dir.join("ca.crt")))
}

/// Stops the private server in `dir` (`pg_ctl stop -m fast`, as the data directory's
/// owner) when it runs.
pub(super) fn stop(dir: &Path) {
    let data = dir.join("data");
    if !data.join("postmaster.pid").exists() {
        return;
    }
    let Some(bin) = binaries() else {
        return;
    };
    let mut cmd = Command::new(bin.join("pg_ctl"));
    cmd.arg("-D")
        .arg(&data)
        .args(["-m", "fast", "-w", "-t", "30", "stop"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if super::is_root()
        && let Some(owner) = User::owner(&data)
    {
        owner.apply(&mut cmd);
    }
    let _ = cmd.status();
}
