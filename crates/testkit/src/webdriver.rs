//! A headless Chromium driven through chromedriver (the W3C WebDriver protocol over HTTP):
//! just the commands the UI tests and the UI benchmark need, on a reqwest client.

use anyhow::Context;
use serde_json::{Value, json};
use std::time::Duration;

/// The key WebDriver sends for Enter.
pub const ENTER: &str = "\u{E007}";
/// The arrow keys, as WebDriver sends them.
pub const ARROW_LEFT: &str = "\u{E012}";
pub const ARROW_RIGHT: &str = "\u{E014}";
pub const ARROW_DOWN: &str = "\u{E015}";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a page may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(120);

/// A chromedriver process and one browser session on it; both end when this is dropped.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    port: u16,
    /// chromedriver leads a process group of its own, which its browser processes join.
    driver: tokio::process::Child,
    /// The browser's profile and temporary files, removed with it.
    _scratch: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session (light colours,
    /// or dark ones when `dark`).
    pub async fn start(dark: bool) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let scratch = tempfile::tempdir()?;
        let driver = tokio::process::Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .env("TMPDIR", scratch.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .context("failed to start chromedriver (hack/chromium ensure installs it)")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        crate::wait_until(Duration::from_secs(30), "chromedriver is ready", || async {
            let status = http.get(format!("{base}/status")).send().await;
            Ok(match status {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .ok()
                    .filter(|s| s["value"]["ready"] == true),
                Err(_) => None,
            })
        })
        .await?;
        let profile = format!(
            "--user-data-dir={}",
            scratch.path().join("profile").display()
        );
        let args = [
            profile.as_str(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-crash-reporter",
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium(), "args": args},
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await?
            .json()
            .await?;
        let session = answer["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("chromedriver started no session: {answer}"))?;
        let browser = Self {
            http,
            session: format!("{base}/session/{session}"),
            port,
            driver,
            _scratch: scratch,
        };
        browser
            .command(
                reqwest::Method::POST,
                "/window/rect",
                json!({"width": 1280, "height": 1000}),
            )
            .await?;
        if dark {
            // What a system set to dark colours tells the page (prefers-color-scheme).
            let media = json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]});
            browser.cdp("Emulation.setEmulatedMedia", media).await?;
        }
        Ok(browser)
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let answer: Value = request.send().await?.json().await?;
        if let Some(error) = answer["value"]["error"].as_str() {
            anyhow::bail!("webdriver {path}: {error}: {}", answer["value"]["message"]);
        }
        Ok(answer["value"].clone())
    }

    /// Sends a Chrome DevTools Protocol command to the page (e.g. to disable the cache, or to
    /// run a script in every new document before the page's own).
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        self.command(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
        .await
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.command(reqwest::Method::POST, "/url", json!({"url": url}))
            .await
            .map(drop)
    }

    pub async fn url(&self) -> anyhow::Result<String> {
        let url = self
            .command(reqwest::Method::GET, "/url", json!({}))
            .await?;
        Ok(url.as_str().unwrap_or_default().to_string())
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn script(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// The text a user sees in the first element `css` matches, if there is one.
    pub async fn text(&self, css: &str) -> anyhow::Result<Option<String>> {
        let text = self
            .script(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                json!([css]),
            )
            .await?;
        Ok(text.as_str().map(str::to_string))
    }

    /// Waits until the first element `css` matches shows text that `wanted` accepts.
    pub async fn wait_text(
        &self,
        css: &str,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        crate::wait_until(WAIT, what, || async {
            Ok(self.text(css).await?.filter(|t| wanted(t)))
        })
        .await
    }

    async fn element(&self, css: &str) -> anyhow::Result<String> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await?;
        found[ELEMENT]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("no element {css}"))
    }

    /// Waits for the element, then clicks it as a user would.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.wait_text(css, &format!("{css} is shown"), |_| true)
            .await?;
        let id = self.element(css).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await
        .map(drop)
    }

    /// Types `text` (key by key) into the element.
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        self.wait_text(css, &format!("{css} is shown"), |_| true)
            .await?;
        let id = self.element(css).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await
        .map(drop)
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        use base64::Engine;
        let shot = self
            .command(reqwest::Method::GET, "/screenshot", json!({}))
            .await?;
        Ok(base64::engine::general_purpose::STANDARD.decode(shot.as_str().unwrap_or_default())?)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver close the browser and remove its profile; it is
        // sent without the async runtime, which may be shutting down (a failed test). Whatever
        // is left of the process group is killed after.
        if let Some(path) = self
            .session
            .split_once(&format!(":{}", self.port))
            .map(|(_, p)| p)
        {
            end_session(self.port, path);
        }
        if let Some(id) = self
            .driver
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(id, rustix::process::Signal::KILL);
        }
    }
}

/// `DELETE path` to chromedriver on `port`, waiting (a while at most) for its answer to begin.
fn end_session(port: u16, path: &str) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    // chromedriver answers once the browser is closed; it may keep the connection open after.
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read(&mut [0; 512]);
    }
}

fn chromedriver() -> String {
    std::env::var("DRIFTLESS_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
}

fn chromium() -> String {
    std::env::var("DRIFTLESS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}
