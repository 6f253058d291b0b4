//! A private Redis for the run: append-only with `fsync` on every write, so a kill loses
//! nothing that was acknowledged; stopped, continued, killed and restarted on cue.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Redis server process.
pub(crate) struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts `redis-server` on a free loopback port with its data in `dir`.
    pub(crate) fn start(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut redis = Self {
            port,
            dir: dir.to_owned(),
            child: None,
        };
        redis.restart()?;
        Ok(redis)
    }

    /// Its port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Starts (again) on the same port and data directory, and waits for `PONG`.
    pub(crate) fn restart(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.join("redis.log"))
            .map_err(|e| format!("redis log: {e}"))?;
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--protected-mode", "no", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run redis-server (install Debian's redis-server): {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.answers() {
            if Instant::now() > deadline {
                return Err(format!("redis-server on port {} did not answer", self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    fn signal(&self, signal: &str) -> Result<(), String> {
        let pid = self.child.as_ref().ok_or("redis is not running")?.id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill {signal} {pid} failed"))
        }
    }

    /// SIGSTOP: the server keeps its connections and answers nothing.
    pub(crate) fn pause(&self) -> Result<(), String> {
        self.signal("-STOP")
    }

    /// SIGCONT.
    pub(crate) fn resume(&self) -> Result<(), String> {
        self.signal("-CONT")
    }

    /// SIGKILL, and reaps the process.
    pub(crate) fn kill(&mut self) -> Result<(), String> {
        self.signal("-KILL")?;
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        Ok(())
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
