//! Servers for fault tests: a port nothing listens on, a server that accepts connections and
//! never answers, one that does what a test scripts with each connection, and a server process
//! of a test's own, killed when dropped.

use std::fmt;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long [`ServerProcess::start`] waits for a spawned server to listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A port on 127.0.0.1 nothing listens on: one the system just handed out and took back, so a
/// connection to it is refused at once.
///
/// ```
/// let port = session_testsupport::net::closed_port();
/// assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
/// ```
pub fn closed_port() -> u16 {
    bind_local().1
}

/// A listener on a port of its own on 127.0.0.1, and that port.
fn bind_local() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot bind a port on 127.0.0.1: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
        .port();
    (listener, port)
}

/// A server on 127.0.0.1 that accepts every connection, holds it open and never reads or
/// writes a byte: a client's handshake or request waits until its own timeout. Stops
/// listening, and closes what it holds, when dropped.
///
/// Runs on a thread of its own, so it serves tests with or without an async runtime.
///
/// ```
/// use std::io::Read;
/// use std::time::Duration;
///
/// let server = session_testsupport::net::MuteServer::start();
/// let mut client = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
/// client.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
/// let mut byte = [0_u8; 1];
/// assert!(client.read(&mut byte).is_err(), "the server said nothing: the read timed out");
/// ```
pub struct MuteServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MuteServer {
    /// Starts listening on a port of its own.
    pub fn start() -> Self {
        let (listener, port) = bind_local();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    held.push(stream);
                }
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// The port it listens on (host 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Debug for MuteServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MuteServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Drop for MuteServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        drop(TcpStream::connect(("127.0.0.1", self.port)));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A server on 127.0.0.1 that accepts connections and hands each to `behave`, on a thread of
/// its own: garbage, truncated or oversized replies, a hang-up. Returns its port; it serves
/// until the test process ends.
///
/// ```
/// use std::io::{Read, Write};
///
/// use session_testsupport::net::{read_request, scripted_server};
///
/// let port = scripted_server(|mut s| {
///     read_request(&mut s);
///     let _ = s.write_all(b"garbage\r\n");
/// });
/// let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
/// client.write_all(b"get k\r\n").unwrap();
/// let mut reply = String::new();
/// client.read_to_string(&mut reply).unwrap();
/// assert_eq!(reply, "garbage\r\n");
/// ```
pub fn scripted_server(behave: fn(TcpStream)) -> u16 {
    let (listener, port) = bind_local();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || behave(stream));
        }
    });
    port
}

/// Reads what a client sent (one read of up to 4 KiB, enough for a test request), for a
/// [`scripted_server`] to answer after it.
///
/// See [`scripted_server`] for an example.
pub fn read_request(stream: &mut TcpStream) {
    let mut buf = [0_u8; 4096];
    let _ = stream.read(&mut buf);
}

/// Waits until something accepts connections on 127.0.0.1:`port`; panics, naming `what`, when
/// nothing does within `timeout`.
///
/// ```
/// use std::time::Duration;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let port = listener.local_addr().unwrap().port();
/// session_testsupport::net::wait_until_listening(port, "the example's listener", Duration::from_secs(1));
/// ```
pub fn wait_until_listening(port: u16, what: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} on {port} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server process of a test's own (never a shared one), listening on 127.0.0.1:`port`,
/// killed when stopped or dropped; for tests that stop a server mid-run and start it again.
///
/// ```no_run
/// use std::process::Command;
///
/// use session_testsupport::net::{ServerProcess, closed_port};
///
/// let port = closed_port();
/// let mut command = Command::new("memcached");
/// command.args(["-l", "127.0.0.1", "-p", &port.to_string()]);
/// let mut server = ServerProcess::start(command, port, "memcached must be installed");
/// server.stop();
/// ```
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    /// Spawns `command` (panicking with `missing` when it cannot run) and waits up to
    /// [`START_TIMEOUT`] for it to listen on `port`.
    pub fn start(command: Command, port: u16, missing: &str) -> Self {
        let program = command.get_program().to_string_lossy().into_owned();
        let server = Self::spawn(command, missing);
        wait_until_listening(port, &program, START_TIMEOUT);
        server
    }

    /// Spawns `command` (panicking with `missing` when it cannot run) without waiting: for a
    /// server on a Unix socket, or on several ports, that the caller waits for itself.
    pub fn spawn(mut command: Command, missing: &str) -> Self {
        let child = command.spawn().unwrap_or_else(|e| panic!("{missing}: {e}"));
        Self { child }
    }

    /// Kills the process and waits for it to exit (again after a first stop: nothing happens).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
