//! A private MariaDB for the tests, when none answers on 127.0.0.1:3306 and
//! `SESSION_MYSQL_URL` is not set.
//!
//! The data directory is initialised afresh with `mariadb-install-db` (`root` without a
//! password), and `mariadbd` starts on a free loopback port with a unix socket of its own
//! (`SESSION_MYSQL_SOCKET`), as root through `--user=root` when xtask runs as root; an
//! `--init-file` creates the database `test` before the server takes connections. The
//! binary log is off and the buffers small: the data is thrown away.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Services, SqlServer, wait_for};

/// The machine's server, used when it answers.
const MACHINE_PORT: u16 = 3306;

/// Whether a MariaDB (or MySQL) answers on 127.0.0.1:`port`: it greets with a packet of
/// protocol version 10, or with an error packet (0xff) when it refuses this host
/// (MariaDB docs, "Connection": "Initial Handshake Packet").
pub(super) fn answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && matches!(head[4], 10 | 0xff)
}

/// Whether the tests need a private server: no `SESSION_MYSQL_URL`, nothing on 3306.
pub(super) fn wanted() -> bool {
    std::env::var_os("SESSION_MYSQL_URL").is_none() && !answers(MACHINE_PORT)
}

/// The first of `names` in `PATH` or the sbin directories.
fn program(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        super::which(name).or_else(|| {
            ["/usr/sbin", "/usr/local/sbin"]
                .iter()
                .map(|dir| Path::new(dir).join(name))
                .find(|p| p.is_file())
        })
    })
}

/// `mariadbd` (or `mysqld`) and `mariadb-install-db` (or `mysql_install_db`), when both
/// are installed along with `my_print_defaults`, which the latter runs.
pub(super) fn binaries() -> Option<(PathBuf, PathBuf)> {
    program(&["my_print_defaults"])?;
    Some((
        program(&["mariadbd", "mysqld"])?,
        program(&["mariadb-install-db", "mysql_install_db"])?,
    ))
}

/// The pid of the server in `dir`, from its pid file.
fn pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("mariadbd.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Sends `signal` to `pid` (the shell's `kill`: there in any image with a shell).
fn kill(signal: &str, pid: u32) {
    let _ = Command::new("sh")
        .args([
            "-c",
            "kill -s \"$1\" \"$2\" 2>/dev/null",
            "sh",
            signal,
            &pid.to_string(),
        ])
        .status();
}

/// Starts the private server (or reuses the one `services start` left running) and puts
/// its variables into `services`.
pub(super) fn start(services: &mut Services) -> Result<(), String> {
    if let Some(server) = SqlServer::running("mariadb", answers) {
        eprintln!(
            "services: mariadb 127.0.0.1:{} (private, already running, {})",
            server.port,
            server.dir.display()
        );
        services.env.extend(server.env.iter().cloned());
        return Ok(());
    }
    let (mariadbd, install_db) = binaries()
        .ok_or("MariaDB's mariadbd, mariadb-install-db and my_print_defaults are not installed")?;
    let root = super::is_root();
    let dir = super::fresh_dir("mariadb", false, stop)?;
    // From here on, an error stops what was started (the logs stay in `dir`).
    let server = services.own(SqlServer::new("mariadb", dir.clone()));
    let log = dir.join("xtask.log");
    let data = dir.join("data");
    let out = super::log_file(&log)?;
    let mut cmd = Command::new(&install_db);
    cmd.arg("--no-defaults")
        .arg("--auth-root-authentication-method=normal")
        .arg(format!("--datadir={}", data.display()))
        .arg("--skip-test-db");
    if root {
        cmd.arg("--user=root");
    }
    let status = cmd
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", install_db.display()))?;
    if !status.success() {
        return Err(format!(
            "{} failed ({status}); see {}",
            install_db.display(),
            log.display()
        ));
    }

    let init = dir.join("init.sql");
    std::fs::write(&init, "CREATE DATABASE IF NOT EXISTS test;\n")
        .map_err(|e| format!("{}: {e}", init.display()))?;
    let port = super::free_port()?;
    // A unix socket path has at most 107 bytes.
    let mut socket = dir.join("mysqld.sock");
    if socket.as_os_str().len() > 100 {
        socket = std::env::temp_dir().join(format!("session-xtask-mariadb-{port}.sock"));
    }
    let opt = |name: &str, path: &Path| format!("--{name}={}", path.display());
    let mut cmd = Command::new(&mariadbd);
    cmd.arg("--no-defaults")
        .arg(opt("datadir", &data))
        .arg(opt("socket", &socket))
        .arg(opt("pid-file", &dir.join("mariadbd.pid")))
        .arg(opt("log-error", &dir.join("server.log")))
        .arg(opt("init-file", &init))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--max-connections=300",
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
        ]);
    if root {
        cmd.arg("--user=root");
    }
    // Its own process group: a Ctrl-C meant for xtask or the tests does not reach it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", mariadbd.display()))?;
    server.port = port;
    let exited = std::cell::Cell::new(None);
    let ready = wait_for("mariadb", Duration::from_secs(60), || {
        if let Ok(Some(status)) = child.try_wait() {
            exited.set(Some(status));
            return true;
        }
        // The init file has run once the database's directory is there.
        answers(port) && data.join("test").is_dir()
    });
    if let Some(status) = exited.get() {
        return Err(format!(
            "mariadbd exited ({status}); see {}",
            dir.join("server.log").display()
        ));
    }
    ready?;
    // The server outlives this process when `services start` leaves it running; `stop`
    // finds it through its pid file.
    drop(child);

    server.env = vec![
        (
            "SESSION_MYSQL_URL".into(),
            format!("mysql://root@127.0.0.1:{port}/test"),
        ),
        ("SESSION_MYSQL_SOCKET".into(), socket.display().to_string()),
    ];
    server.save()?;
    let env = server.env.clone();
    services.env.extend(env);
    eprintln!(
        "services: mariadb 127.0.0.1:{port}, socket {} (private, {})",
        socket.display(),
        dir.display()
    );
    Ok(())
}

/// Stops the private server in `dir` when it runs: SIGTERM (a clean shutdown), SIGKILL
/// after 30 s. Only a process whose command line names `dir` is signalled: a stale pid
/// file may name a pid reused by another process.
pub(super) fn stop(dir: &Path) {
    let pid_file = dir.join("mariadbd.pid");
    let Some(pid) = pid(dir) else {
        return;
    };
    let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy()));
    if ours {
        kill("TERM", pid);
        let gone = || !pid_file.exists();
        if wait_for("mariadb shutdown", Duration::from_secs(30), gone).is_err() {
            kill("KILL", pid);
        }
    }
    let _ = std::fs::remove_file(&pid_file);
}
