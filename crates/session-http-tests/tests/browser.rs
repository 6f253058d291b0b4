//! A real browser walks the demo: headless Chromium, driven over its DevTools protocol.
//!
//! It checks that the browser holds and sends back chunked cookies, that a session survives a
//! reload, that destroy really logs out and that a remember-me session survives the loss of
//! its session cookie; it writes a screenshot of the main page to
//! `target/tmp/session-demo.png`.
//!
//! Chromium is required: this test FAILS when it is missing (`apt-get install chromium`, or
//! set `CHROMIUM` to the browser's path). It only ever browses to 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[allow(dead_code)]
#[path = "../../session/examples/demo/app.rs"]
mod app;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const TIMEOUT: Duration = Duration::from_secs(15);

fn chromium() -> PathBuf {
    let candidates = [
        std::env::var("CHROMIUM").unwrap_or_default(),
        "/usr/bin/chromium".into(),
        "/usr/bin/chromium-browser".into(),
        "/usr/bin/google-chrome".into(),
    ];
    candidates
        .iter()
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "Chromium is required for the browser test and was not found \
                 (tried $CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser, \
                 /usr/bin/google-chrome): install it with `apt-get install -y chromium`"
            )
        })
}

/// The browser process; killed (by its own handle) when the test ends.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn launch(log: &Path) -> (Browser, String) {
    let profile = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--no-proxy-server",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--window-size=1000,800",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("unable to start Chromium");
    let browser = Browser {
        child,
        _profile: profile,
    };
    // Chromium writes "<port>\n<path>" once its DevTools endpoint listens.
    let port_file = browser._profile.path().join("DevToolsActivePort");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return (browser, format!("ws://127.0.0.1:{port}{path}"));
            }
        }
        assert!(
            Instant::now() < deadline,
            "Chromium did not open its DevTools port"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A minimal DevTools-protocol client: one page, commands by id, events ignored.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: Option<String>,
}

impl Cdp {
    fn connect(url: &str) -> Self {
        let (ws, _) = tungstenite::connect(url).expect("DevTools websocket");
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        }
        let mut cdp = Self {
            ws,
            next_id: 0,
            session: None,
        };
        let target = cdp.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = cdp.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        cdp.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
        cdp
    }

    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::text(message.to_string()))
            .map_err(|e| e.to_string())?;
        loop {
            let reply = self.ws.read().map_err(|e| format!("{method}: {e}"))?;
            let Message::Text(text) = reply else { continue };
            let value: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
            if value["id"].as_u64() != Some(id) {
                continue; // an event
            }
            if let Some(error) = value.get("error") {
                return Err(format!("{method}: {error}"));
            }
            return Ok(value["result"].clone());
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params).unwrap()
    }

    fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let result = self.try_call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        )?;
        if let Some(exception) = result.get("exceptionDetails") {
            return Err(exception.to_string());
        }
        Ok(result["result"]["value"].clone())
    }

    /// Wait until `condition` (JavaScript) is true in a fully loaded page.
    fn wait_for(&mut self, condition: &str) {
        let expression = format!("document.readyState === 'complete' && !!({condition})");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self.eval(&expression) == Ok(json!(true)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {condition}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for(&format!("location.href === {}", json!(url)));
    }

    fn reload(&mut self) {
        // A marker on the old document tells it apart from the reloaded one.
        self.eval("window.__before_reload = true").unwrap();
        self.call("Page.reload", json!({}));
        self.wait_for("window.__before_reload === undefined");
    }

    /// Click the link to `path` and wait for the page it leads to.
    fn click_link(&mut self, path: &str) {
        let selector = format!("a[href=\"{path}\"]");
        let clicked = self
            .eval(&format!(
                "(() => {{ const a = document.querySelector({}); if (!a) return false; a.click(); return true; }})()",
                json!(selector)
            ))
            .unwrap();
        assert_eq!(clicked, json!(true), "no link to {path} on this page");
        self.wait_for(&format!("location.pathname === {}", json!(path)));
    }

    fn text(&mut self, id: &str) -> String {
        let value = self
            .eval(&format!(
                "document.getElementById({})?.textContent",
                json!(id)
            ))
            .unwrap();
        value.as_str().unwrap_or_default().to_owned()
    }

    fn cookies(&mut self, base: &str) -> Vec<(String, String)> {
        let result = self.call("Network.getCookies", json!({"urls": [base]}));
        let mut cookies: Vec<(String, String)> = result["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        cookies.sort();
        cookies
    }

    fn cookie_names(&mut self, base: &str) -> Vec<String> {
        self.cookies(base).into_iter().map(|(n, _)| n).collect()
    }

    fn delete_cookie(&mut self, base: &str, name: &str) {
        self.call(
            "Network.deleteCookies",
            json!({"name": name, "url": format!("{base}/")}),
        );
    }
}

#[test]
fn chromium_walks_the_demo() {
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = resty_session::Config::from_text(app::DEFAULT_CONFIG).unwrap();
    let addr = runtime.block_on(common::serve(app::router(&config).unwrap()));
    let base = format!("http://{addr}");

    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (_browser, ws_url) = launch(&out_dir.join("session-demo-chromium.log"));
    let mut page = Cdp::connect(&ws_url);
    page.call("Network.enable", json!({}));

    // The main page, and its screenshot.
    page.goto(&format!("{base}/"));
    assert_eq!(page.text("storage"), "cookie");
    let shot = page.call("Page.captureScreenshot", json!({"format": "png"}));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(out_dir.join("session-demo.png"), png).unwrap();
    assert!(page.cookie_names(&base).is_empty());

    // The Lua README synopsis, by clicking its links.
    page.click_link("/start");
    assert_eq!(page.cookie_names(&base), ["session"]);
    page.click_link("/started");
    assert_eq!(page.text("subject"), "OpenResty Fan");
    assert_eq!(
        page.text("quote"),
        "The quick brown fox jumps over the lazy dog"
    );
    page.reload();
    assert_eq!(page.text("subject"), "OpenResty Fan", "survives a reload");
    page.click_link("/modify");
    page.click_link("/modified");
    assert_eq!(page.text("subject"), "Lua Fan");
    assert_eq!(page.text("quote"), "Lorem ipsum dolor sit amet");

    // The properties page updates itself: the idling timeout runs down while we watch.
    page.goto(&format!("{base}/properties"));
    assert_eq!(page.text("exists"), "true");
    assert_eq!(page.text("subject"), "\"Lua Fan\"");
    assert_eq!(page.text("id").len(), 45, "a quoted 43-character id");
    let idle = page.text("idling_timeout");
    page.wait_for(&format!(
        "document.getElementById('idling_timeout').textContent !== {}",
        json!(idle)
    ));
    page.goto(&format!("{base}/modified"));

    page.click_link("/destroy");
    assert!(
        page.cookie_names(&base).is_empty(),
        "destroy removes the cookie"
    );
    page.click_link("/destroyed");
    assert_eq!(page.text("subject"), "Anonymous");
    page.goto(&format!("{base}/started"));
    assert_eq!(page.text("subject"), "Anonymous", "destroy really logs out");

    // A session too large for one cookie: the browser keeps every chunk and sends them back.
    page.goto(&format!("{base}/large"));
    let written: usize = page.text("written").parse().unwrap();
    assert!(
        written >= 2,
        "expected several cookies, the demo wrote {written}"
    );
    let cookies = page.cookies(&base);
    let names: Vec<&str> = cookies.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names.len(),
        written,
        "the browser kept every chunk: {names:?}"
    );
    assert!(names.contains(&"session") && names.contains(&"session2"));
    assert!(cookies.iter().all(|(n, v)| n.len() + v.len() <= 4096));
    page.reload();
    assert_eq!(page.text("intact"), "yes");
    assert_eq!(page.text("length"), "9000");
    assert_eq!(
        page.text("cookies"),
        written.to_string(),
        "all chunks sent back"
    );
    page.goto(&format!("{base}/destroy"));
    assert!(
        page.cookie_names(&base).is_empty(),
        "destroy expires every chunk"
    );

    // Remember me. Without it, losing the session cookie signs the user out...
    let login = |page: &mut Cdp, remember: bool| {
        page.goto(&format!("{base}/account"));
        page.wait_for("document.getElementById('login')");
        page.eval(&format!(
            "document.getElementById('user-input').value = 'Browser Fan';\
             document.getElementById('remember-input').checked = {remember};\
             document.getElementById('login').click(); true"
        ))
        .unwrap();
        page.wait_for("document.getElementById('user')");
        assert_eq!(page.text("user"), "Browser Fan");
    };
    login(&mut page, false);
    assert_eq!(page.text("remember"), "no");
    assert!(!page.cookie_names(&base).contains(&"remember".to_owned()));
    page.delete_cookie(&base, "account");
    page.reload();
    assert!(
        !page.text("anonymous").is_empty(),
        "signed out without remember-me"
    );

    // ...with it, the persistent cookie opens a new session.
    login(&mut page, true);
    assert_eq!(page.text("remember"), "yes");
    let names = page.cookie_names(&base);
    assert!(names.contains(&"account".to_owned()) && names.contains(&"remember".to_owned()));
    page.delete_cookie(&base, "account");
    assert!(!page.cookie_names(&base).contains(&"account".to_owned()));
    page.reload();
    assert_eq!(page.text("user"), "Browser Fan", "remembered");
    assert!(page.cookie_names(&base).contains(&"account".to_owned()));

    // Signing out removes both cookies.
    page.eval("document.getElementById('logout').click(); true")
        .unwrap();
    page.wait_for("document.getElementById('anonymous')");
    let names = page.cookie_names(&base);
    assert!(!names.contains(&"account".to_owned()) && !names.contains(&"remember".to_owned()));

    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the browser test should stay under a minute"
    );
}
