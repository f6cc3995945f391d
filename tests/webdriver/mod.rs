//! A small W3C WebDriver client for the browser tests: Debian's `chromedriver` driving
//! headless Chromium, spoken to over HTTP with `ureq`. Every wait polls with a deadline;
//! nothing sleeps for a fixed time to let the page catch up.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a wait for the page may take (a debug server, bcrypt, two browsers, two cores).
pub const WAIT: Duration = Duration::from_secs(30);

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The WebDriver "Enter" key.
pub const ENTER: &str = "\u{E007}";

/// The WebDriver "Arrow Up" key.
pub const ARROW_UP: &str = "\u{E013}";

/// Whether the browser tests can run here. Without Chromium they are skipped with a
/// printed reason, except in CI on x86_64, where a missing browser is a failure.
pub fn browser_available(test: &str) -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    let reason = if !missing.is_empty() {
        format!(
            "{} not installed (apt-get install chromium chromium-driver)",
            missing.join(" and ")
        )
    } else if !built_for_this_machine(CHROMEDRIVER) {
        // An emulated run (an ARM test binary under qemu on an x86_64 host) sees the host's
        // browser, which is not for the architecture under test.
        format!("{CHROMEDRIVER} is not built for {}", std::env::consts::ARCH)
    } else {
        return true;
    };
    if std::env::var_os("CI").is_some() && cfg!(target_arch = "x86_64") {
        panic!("{test}: {reason}; CI on x86_64 must run the browser tests");
    }
    eprintln!("{test}: skipped: {reason}");
    false
}

/// Whether the ELF executable at `path` is for the architecture these tests were built for
/// (its `e_machine` field).
fn built_for_this_machine(path: &str) -> bool {
    use std::io::Read;
    let mut bytes = [0u8; 20];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        return false;
    }
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    let expected = match std::env::consts::ARCH {
        "x86_64" => 0x3e,
        "aarch64" => 0xb7,
        "arm" => 0x28,
        "x86" => 0x03,
        _ => return false,
    };
    bytes.starts_with(b"\x7fELF") && machine == expected
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    l.local_addr().expect("its address").port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(90)))
        .build()
        .into()
}

/// Where screenshots go: `target/browser-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A running chromedriver on a loopback port. Killed when dropped.
pub struct Driver {
    child: Child,
    base: String,
}

impl Driver {
    pub fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let agent = agent();
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = agent
                .get(format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new browser with its own fresh profile. `extra_args` are added to the Chromium
    /// command line (e.g. to trust a test certificate).
    pub fn browser(&self, name: &str, extra_args: &[&str]) -> Browser {
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(extra_args.iter().map(|s| s.to_string()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"implicit": 0, "pageLoad": 30000, "script": 30000},
        }}});
        let agent = agent();
        let mut response = agent
            .post(format!("{}/session", self.base))
            .send_json(&caps)
            .expect("chromedriver answers");
        let v: Value = response.body_mut().read_json().expect("a JSON answer");
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {v}"))
            .to_string();
        Browser {
            name: name.to_string(),
            base: format!("{}/session/{session}", self.base),
            agent,
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An element reference.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Element {
    /// The element as a script argument.
    pub fn arg(&self) -> Value {
        json!({ ELEMENT: self.0 })
    }
}

/// One browser (one WebDriver session). Closed when dropped.
pub struct Browser {
    pub name: String,
    base: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// One WebDriver command; `Err` carries the WebDriver error.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .send_json(body.unwrap_or_else(|| json!({}))),
        };
        let mut response = response.map_err(|e| format!("{method} {path}: {e}"))?;
        let ok = response.status().is_success();
        let v: Value = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_json()
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if ok {
            Ok(v["value"].clone())
        } else {
            Err(format!(
                "{method} {path}: {} {}",
                v["value"]["error"], v["value"]["message"]
            ))
        }
    }

    fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.command(method, path, body)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    pub fn goto(&self, url: &str) {
        self.must("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn refresh(&self) {
        self.must("POST", "/refresh", None);
    }

    pub fn set_size(&self, width: u32, height: u32) {
        self.must(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Runs `script` (a function body) with `args`; returns what it returns.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.must(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    fn find_with(&self, using: &str, value: &str) -> Option<Element> {
        self.command(
            "POST",
            "/element",
            Some(json!({"using": using, "value": value})),
        )
        .ok()
        .and_then(|v| v[ELEMENT].as_str().map(|id| Element(id.to_string())))
    }

    pub fn find(&self, css: &str) -> Option<Element> {
        self.find_with("css selector", css)
    }

    pub fn find_xpath(&self, xpath: &str) -> Option<Element> {
        self.find_with("xpath", xpath)
    }

    /// An element inside `parent`.
    pub fn find_in(&self, parent: &Element, xpath: &str) -> Option<Element> {
        self.command(
            "POST",
            &format!("/element/{}/element", parent.0),
            Some(json!({"using": "xpath", "value": xpath})),
        )
        .ok()
        .and_then(|v| v[ELEMENT].as_str().map(|id| Element(id.to_string())))
    }

    pub fn displayed(&self, el: &Element) -> bool {
        self.command("GET", &format!("/element/{}/displayed", el.0), None)
            .is_ok_and(|v| v == true)
    }

    pub fn enabled(&self, el: &Element) -> bool {
        self.command("GET", &format!("/element/{}/enabled", el.0), None)
            .is_ok_and(|v| v == true)
    }

    /// The accessible name Chromium computes for the element.
    pub fn label(&self, el: &Element) -> String {
        self.command("GET", &format!("/element/{}/computedlabel", el.0), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn role(&self, el: &Element) -> String {
        self.command("GET", &format!("/element/{}/computedrole", el.0), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn click(&self, el: &Element) -> Result<(), String> {
        self.command("POST", &format!("/element/{}/click", el.0), None)
            .map(drop)
    }

    pub fn clear(&self, el: &Element) -> Result<(), String> {
        self.command("POST", &format!("/element/{}/clear", el.0), None)
            .map(drop)
    }

    pub fn type_text(&self, el: &Element, text: &str) -> Result<(), String> {
        self.command(
            "POST",
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .map(drop)
    }

    /// Polls `check` until it gives a value or the deadline passes (then panics with
    /// `what`; the test's guard saves screenshots).
    pub fn wait<T>(&self, what: &str, check: impl FnMut(&Browser) -> Option<T>) -> T {
        self.wait_up_to(WAIT, what, check)
    }

    /// [`Browser::wait`] for something that takes many round trips (paging through a long
    /// history), with a deadline of `limit`.
    pub fn wait_up_to<T>(
        &self,
        limit: Duration,
        what: &str,
        mut check: impl FnMut(&Browser) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = check(self) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: timed out waiting for {what}\nconsole:\n{}",
                    self.name,
                    self.console().join("\n")
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until a script returns something truthy, and returns it.
    pub fn wait_script(&self, what: &str, script: &str, args: Value) -> Value {
        self.wait(what, |b| {
            let v = b.script(script, args.clone());
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            truthy.then_some(v)
        })
    }

    /// Waits for a displayed element.
    pub fn wait_visible(&self, what: &str, css: &str) -> Element {
        self.wait(what, |b| b.find(css).filter(|e| b.displayed(e)))
    }

    /// Waits until clicking `el` (found again each time by `find`) succeeds: the element
    /// may be covered or not yet shown for a moment.
    pub fn wait_click(&self, what: &str, find: impl Fn(&Browser) -> Option<Element>) {
        self.wait(what, |b| {
            let el = find(b)?;
            (b.displayed(&el) && b.enabled(&el) && b.click(&el).is_ok()).then_some(())
        })
    }

    /// A Chrome DevTools Protocol command (chromedriver's extension).
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.must(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
    }

    /// Sets the page's viewport to exactly `width`×`height` CSS pixels; `mobile` also
    /// emulates a phone (touch, the viewport meta tag).
    pub fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        if mobile {
            self.cdp(
                "Emulation.setTouchEmulationEnabled",
                json!({"enabled": true, "maxTouchPoints": 5}),
            );
        }
    }

    /// Makes the page see a dark system colour scheme (for screenshots).
    pub fn dark(&self) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
        );
    }

    /// Saves a PNG screenshot under target/browser-screenshots/.
    pub fn screenshot(&self, file: &str) -> PathBuf {
        let path = screenshot_dir().join(file);
        if let Ok(Value::String(b64)) = self.command("GET", "/screenshot", None) {
            if let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64) {
                let _ = std::fs::write(&path, png);
            }
        }
        path
    }

    /// The browser console so far (messages and errors), for diagnosis.
    pub fn console(&self) -> Vec<String> {
        self.command("POST", "/se/log", Some(json!({"type": "browser"})))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|e| format!("{} {}", e["level"], e["message"]))
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.command("DELETE", "", None);
    }
}

/// Saves a screenshot of every page (and prints their consoles) if the test panics.
pub struct ScreenshotsOnFailure<'a> {
    pub test: &'static str,
    pub browsers: Vec<&'a Browser>,
}

impl Drop for ScreenshotsOnFailure<'_> {
    fn drop(&mut self) {
        if !thread::panicking() {
            return;
        }
        for b in &self.browsers {
            let path = b.screenshot(&format!("{}-{}-failure.png", self.test, b.name));
            eprintln!(
                "{}: screenshot {}; console:\n{}",
                b.name,
                path.display(),
                b.console().join("\n")
            );
        }
    }
}
