//! Servers for fault tests: a port nothing listens on, a server that accepts connections and
//! never answers, a proxy to a real server that can be switched mute and back, one that does
//! what a test scripts with each connection, and a server process of a test's own, killed
//! when dropped.

use std::fmt;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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

/// A TCP proxy on 127.0.0.1 to a real server, switched between forwarding and mute.
///
/// Muted, it behaves as a hung server (one stopped with SIGSTOP): it still accepts
/// connections, but passes no byte in either direction — what a client sent is held, and so
/// is what the server answered. Forwarding again, it delivers what it held, in order, and
/// opens the upstream connections of clients that connected meanwhile. Runs on threads of its
/// own; stops listening, and closes every connection, when dropped.
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Duration;
///
/// use session_testsupport::net::{SwitchProxy, scripted_server};
///
/// let echo = scripted_server(|mut s| {
///     let mut buf = [0_u8; 64];
///     while let Ok(n @ 1..) = s.read(&mut buf) {
///         let _ = s.write_all(&buf[..n]);
///     }
/// });
/// let proxy = SwitchProxy::start("127.0.0.1", echo);
/// let mut client = std::net::TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
/// client.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
/// let mut buf = [0_u8; 4];
/// client.write_all(b"ping").unwrap();
/// client.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"ping");
///
/// proxy.mute();
/// client.write_all(b"held").unwrap();
/// assert!(client.read(&mut buf).is_err(), "muted: no answer");
/// proxy.forward();
/// client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
/// client.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"held", "what was held is delivered once forwarding again");
/// ```
pub struct SwitchProxy {
    port: u16,
    muted: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

/// How often a held byte stream looks at the switch.
const SWITCH_POLL: Duration = Duration::from_millis(10);

impl SwitchProxy {
    /// Starts listening on a port of its own, forwarding to `host:port`.
    pub fn start(host: &str, port: u16) -> Self {
        let (listener, own_port) = bind_local();
        let upstream = (host.to_owned(), port);
        let muted = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (m, st, ss) = (Arc::clone(&muted), Arc::clone(&stop), Arc::clone(&streams));
        let thread = std::thread::spawn(move || {
            for client in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (m, st, ss, upstream) = (
                    Arc::clone(&m),
                    Arc::clone(&st),
                    Arc::clone(&ss),
                    upstream.clone(),
                );
                std::thread::spawn(move || serve(client, &upstream, &m, &st, &ss));
            }
        });
        Self {
            port: own_port,
            muted,
            stop,
            streams,
            thread: Some(thread),
        }
    }

    /// The port it listens on (host 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops passing bytes: the server looks hung.
    ///
    /// See the [type example](SwitchProxy).
    pub fn mute(&self) {
        self.muted.store(true, Ordering::SeqCst);
    }

    /// Passes bytes again, what was held first.
    ///
    /// See the [type example](SwitchProxy).
    pub fn forward(&self) {
        self.muted.store(false, Ordering::SeqCst);
    }
}

/// Waits while `muted` (and not stopping); whether to go on.
fn wait_unmuted(muted: &AtomicBool, stop: &AtomicBool) -> bool {
    while muted.load(Ordering::SeqCst) {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(SWITCH_POLL);
    }
    !stop.load(Ordering::SeqCst)
}

/// One client of a [`SwitchProxy`]: connects upstream once forwarding, then copies both ways.
fn serve(
    client: TcpStream,
    upstream: &(String, u16),
    muted: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
    streams: &Mutex<Vec<TcpStream>>,
) {
    if !wait_unmuted(muted, stop) {
        return;
    }
    let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)) else {
        return;
    };
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    {
        let mut held = streams.lock().unwrap_or_else(PoisonError::into_inner);
        for s in [&client, &server] {
            if let Ok(s) = s.try_clone() {
                held.push(s);
            }
        }
    }
    let (m, st) = (Arc::clone(muted), Arc::clone(stop));
    let back = std::thread::spawn(move || copy_switched(s2, c2, &m, &st));
    copy_switched(client, server, muted, stop);
    let _ = back.join();
}

/// Copies `from` to `to`, holding each chunk while muted; half-closes `to` at the end.
fn copy_switched(mut from: TcpStream, mut to: TcpStream, muted: &AtomicBool, stop: &AtomicBool) {
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !wait_unmuted(muted, stop) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl fmt::Debug for SwitchProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwitchProxy")
            .field("port", &self.port)
            .field("muted", &self.muted.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl Drop for SwitchProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(TcpStream::connect(("127.0.0.1", self.port)));
        for s in self
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            let _ = s.shutdown(Shutdown::Both);
        }
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
