//! A real browser for the Admin Portal's end-to-end tests: headless Chromium driven over
//! WebDriver by a chromedriver of its own. Every wait and command has a time limit, and
//! a failure names the page and saves a screenshot of it.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Map, Value, json};

/// How long a wait for something on the page lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long one WebDriver command, a page load included, may take.
const COMMAND: Duration = Duration::from_secs(30);
/// How long one attempt at starting chromedriver and a browser may take.
const START: Duration = Duration::from_secs(60);
/// The axe-core release `.ci/run` installs.
pub const AXE_VERSION: &str = "4.14.1";

/// The two layouts every page must work at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// 1280×800, a laptop.
    Wide,
    /// 390×844, a phone.
    Narrow,
}

impl Window {
    /// Width and height in CSS pixels.
    pub fn size(self) -> (u32, u32) {
        match self {
            Window::Wide => (1280, 800),
            Window::Narrow => (390, 844),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Window::Wide => "wide",
            Window::Narrow => "narrow",
        }
    }
}

/// Headless Chromium with a fresh profile; it and its chromedriver end on drop.
pub struct Browser {
    client: Client,
    test: String,
    window: Window,
    wait: Duration,
    _driver: Driver,
}

impl Browser {
    /// Starts a browser for test `test` (the prefix of its screenshots' names).
    pub async fn start(test: &str, window: Window) -> Browser {
        let chromedriver = installed("chromedriver");
        let chromium = installed("chromium");
        let mut failures = Vec::new();
        // A browser that fails to start on a loaded machine usually starts the next time.
        for _ in 0..3 {
            match open(&chromedriver, &chromium, window).await {
                Ok((client, driver)) => {
                    return Browser {
                        client,
                        test: test.to_owned(),
                        window,
                        wait: WAIT,
                        _driver: driver,
                    };
                }
                Err(failure) => failures.push(failure),
            }
        }
        panic!("no browser after 3 attempts: {}", failures.join("; "))
    }

    /// Changes how long waits last (10 s unless changed).
    pub fn set_wait(&mut self, limit: Duration) {
        self.wait = limit;
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.run(&format!("open {url}"), self.client.goto(url))
            .await
    }

    pub async fn url(&self) -> String {
        self.run("read the URL", self.client.current_url())
            .await
            .to_string()
    }

    /// Runs `script` in the page (its `arguments` are `args`) and returns its value.
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.run("run a script", self.client.execute(script, args))
            .await
    }

    /// Waits for an element matching the CSS selector `css`.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.poll(&format!("wait for `{css}`"), async || {
            self.client.find(Locator::Css(css)).await.ok()
        })
        .await
    }

    /// Waits until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let script =
            "return document.body !== null && document.body.innerText.includes(arguments[0])";
        self.poll(&format!("wait for the text {text:?}"), async || {
            let found = self.client.execute(script, vec![json!(text)]).await.ok()?;
            (found == Value::Bool(true)).then_some(())
        })
        .await
    }

    /// Waits for the form field whose `<label>` reads `label`.
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space()={}]", xpath_literal(label));
        self.poll(
            &format!("wait for the field labelled {label:?}"),
            async || {
                let label = self.client.find(Locator::XPath(&xpath)).await.ok()?;
                match label.attr("for").await.ok()? {
                    Some(id) => self.client.find(Locator::Id(&id)).await.ok(),
                    None => label
                        .find(Locator::Css("input, select, textarea"))
                        .await
                        .ok(),
                }
            },
        )
        .await
    }

    /// Replaces the value of the field labelled `label` with `value`.
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        let what = format!("fill {label:?}");
        self.run(&what, field.clear()).await;
        self.run(&what, field.send_keys(value)).await;
    }

    /// Clicks the element matching the CSS selector `css`.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.run(&format!("click `{css}`"), element.click()).await;
    }

    /// Clicks the button or link whose visible text is `text`.
    pub async fn click_on(&self, text: &str) {
        let text_literal = xpath_literal(text);
        let xpath = format!(
            "//button[normalize-space()={text_literal}] | //a[normalize-space()={text_literal}] \
             | //input[(@type='submit' or @type='button') and @value={text_literal}]"
        );
        let element = self
            .poll(&format!("wait for a button or link {text:?}"), async || {
                self.client.find(Locator::XPath(&xpath)).await.ok()
            })
            .await;
        self.run(&format!("click {text:?}"), element.click()).await;
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        self.run(&format!("read `{css}`"), element.text()).await
    }

    /// Saves what the window shows as
    /// `<target>/portal-screenshots/<test>-<name>-<wide|narrow>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .run(&format!("screenshot {name}"), self.client.screenshot())
            .await;
        let path = self.screenshot_path(name);
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot save {}: {e}", path.display()));
        path
    }

    /// The console's errors since the last call: uncaught exceptions, Content Security
    /// Policy violations, failed loads. chromedriver hands out each entry once.
    pub async fn console_errors(&self) -> Vec<String> {
        let entries = self
            .run(
                "read the browser's log",
                self.client.issue_cmd(Extension::browser_log()),
            )
            .await;
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn assert_no_console_errors(&self) {
        let errors = self.console_errors().await;
        self.assert_none("console errors", &errors).await;
    }

    /// The page's serious and critical axe-core violations, one line each.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let loaded = self.script("return typeof axe", vec![]).await;
        if loaded != "object" {
            let version = self.script(axe_source(), vec![]).await;
            assert_eq!(
                version, AXE_VERSION,
                "the tests pin axe-core {AXE_VERSION}; install it as the README says"
            );
        }
        let found = self
            .run("run axe-core", self.client.execute_async(RUN_AXE, vec![]))
            .await;
        match found {
            Value::Array(violations) => violations
                .iter()
                .map(|line| line.as_str().unwrap_or_default().to_owned())
                .collect(),
            other => panic!("axe-core failed: {other}\n{}", self.failure_context().await),
        }
    }

    pub async fn assert_accessible(&self) {
        let violations = self.accessibility_violations().await;
        self.assert_none("accessibility violations", &violations)
            .await;
    }

    /// Fails the test, listing `found`, unless it is empty.
    async fn assert_none(&self, what: &str, found: &[String]) {
        if !found.is_empty() {
            panic!(
                "{what}:\n  {}\n{}",
                found.join("\n  "),
                self.failure_context().await
            );
        }
    }

    /// A step of a flow: a screenshot named `name` (its path is returned), no serious
    /// accessibility violation and no console error.
    pub async fn checkpoint(&self, name: &str) -> PathBuf {
        let screenshot = self.screenshot(name).await;
        self.assert_accessible().await;
        self.assert_no_console_errors().await;
        screenshot
    }

    /// Runs one WebDriver command; an error or no answer within its limit fails the test.
    async fn run<T>(&self, what: &str, command: impl Future<Output = Result<T, CmdError>>) -> T {
        let error = match tokio::time::timeout(COMMAND, command).await {
            Ok(Ok(value)) => return value,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {COMMAND:?}"),
        };
        panic!("{what}: {error}\n{}", self.failure_context().await)
    }

    /// Asks `probe` until it finds something, for up to the wait limit.
    async fn poll<T>(&self, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + self.wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(Some(found)) = tokio::time::timeout(left, probe()).await {
                return found;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{what}: nothing within {:?}\n{}",
            self.wait,
            self.failure_context().await
        )
    }

    /// The page's URL and a screenshot of it, for a failure's message.
    async fn failure_context(&self) -> String {
        let quick = Duration::from_secs(5);
        let url = match tokio::time::timeout(quick, self.client.current_url()).await {
            Ok(Ok(url)) => url.to_string(),
            _ => "unknown".to_owned(),
        };
        let screenshot = match tokio::time::timeout(quick, self.client.screenshot()).await {
            Ok(Ok(png)) => {
                let path = self.screenshot_path("failure");
                match std::fs::write(&path, png) {
                    Ok(()) => path.display().to_string(),
                    Err(e) => format!("not saved ({e})"),
                }
            }
            _ => "none".to_owned(),
        };
        format!("page: {url}\nscreenshot: {screenshot}")
    }

    fn screenshot_path(&self, name: &str) -> PathBuf {
        let dir = target_dir().join("portal-screenshots");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        dir.join(format!("{}-{name}-{}.png", self.test, self.window.name()))
    }
}

/// Runs axe-core on the document and answers its serious and critical violations.
const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then((result) => done(result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)))
  .catch((error) => done(String(error)));
"#;

/// Starts a chromedriver and, through it, a browser.
async fn open(
    chromedriver: &Path,
    chromium: &Path,
    window: Window,
) -> Result<(Client, Driver), String> {
    let driver = Driver::spawn(chromedriver)?;
    let (width, height) = window.size();
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", driver.profile.path().display()),
                format!("--window-size={width},{height}"),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
        "timeouts": { "pageLoad": COMMAND.as_millis(), "script": COMMAND.as_millis(), "implicit": 0 },
    });
    let capabilities: Map<String, Value> = serde_json::from_value(capabilities).expect("an object");
    let address = format!("http://127.0.0.1:{}", driver.port);
    let session = tokio::time::timeout(
        START,
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&address),
    )
    .await;
    let client = match session {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return Err(format!("no browser session: {e}")),
        Err(_) => return Err(format!("no browser session within {START:?}")),
    };
    // Headless Chromium's window is at least 500 pixels wide and its viewport smaller than
    // the window: the page's viewport is set to the size itself.
    let viewport =
        json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false});
    let emulation = Extension::devtools("Emulation.setDeviceMetricsOverride", viewport);
    match tokio::time::timeout(COMMAND, client.issue_cmd(emulation)).await {
        Ok(Ok(_)) => Ok((client, driver)),
        Ok(Err(e)) => Err(format!("cannot size the viewport: {e}")),
        Err(_) => Err(format!("cannot size the viewport within {COMMAND:?}")),
    }
}

/// A chromedriver in a process group of its own, with the profile directory of the
/// browser it starts. Dropping it kills the group, the browser with it.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    fn spawn(program: &Path) -> Result<Driver, String> {
        let profile = tempfile::tempdir().map_err(|e| format!("no profile directory: {e}"))?;
        // Port 0: chromedriver picks a free port and prints it, so parallel tests never
        // race for one.
        let mut child = Command::new(program)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Reads to the end, so chromedriver never writes into a closed pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let port = line
                    .split("started successfully on port ")
                    .nth(1)
                    .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok());
                if let Some(port) = port {
                    let _ = sender.send(port);
                }
            }
        });
        let mut driver = Driver {
            child,
            port: 0,
            profile,
        };
        let limit = Duration::from_secs(10);
        driver.port = receiver
            .recv_timeout(limit)
            .map_err(|_| format!("chromedriver did not start within {limit:?}"))?;
        Ok(driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.child.id()) {
            // SAFETY: a signal to the process group of a child this process started.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// A chromedriver command outside the W3C standard: `POST /session/{id}/{path}`.
#[derive(Debug)]
struct Extension {
    path: &'static str,
    body: Value,
}

impl Extension {
    /// The browser's console log since the last read.
    fn browser_log() -> Extension {
        Extension {
            path: "se/log",
            body: json!({"type": "browser"}),
        }
    }

    /// A Chrome DevTools Protocol command.
    fn devtools(cmd: &str, params: Value) -> Extension {
        Extension {
            path: "goog/cdp/execute",
            body: json!({"cmd": cmd, "params": params}),
        }
    }
}

impl WebDriverCompatibleCommand for Extension {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// The path of `program` on `PATH`; the test fails if it is not installed.
fn installed(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{program} is not installed; the browser tests need it: \
                 apt-get install chromium chromium-driver"
            )
        })
}

/// The Cargo target directory: test binaries are `<target>/<profile>/deps/<name>`.
pub fn target_dir() -> PathBuf {
    let binary = std::env::current_exe().expect("the test binary's path");
    binary
        .ancestors()
        .nth(3)
        .expect("the test binary is in <target>/<profile>/deps")
        .to_path_buf()
}

/// axe-core's script, answering its version: `ROSTER_AXE_JS`, or where `.ci/run`
/// installs it.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let prefix = target_dir().join("browser-deps");
        let path = std::env::var_os("ROSTER_AXE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|| prefix.join("node_modules/axe-core/axe.min.js"));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is not at {} ({e}); install it with \
                 `npm install --prefix {} axe-core@{AXE_VERSION}` or set ROSTER_AXE_JS",
                path.display(),
                prefix.display()
            )
        });
        format!("{source}\nreturn axe.version;")
    })
}

/// `text` as an XPath 1.0 string literal, which has no escapes.
fn xpath_literal(text: &str) -> String {
    if !text.contains('"') {
        format!("\"{text}\"")
    } else if !text.contains('\'') {
        format!("'{text}'")
    } else {
        format!("concat(\"{}\")", text.replace('"', "\", '\"', \""))
    }
}
