//! The browser harness catches what the portal's flows rely on it to catch: a script
//! error, a Content Security Policy violation, an accessibility violation, a wait that
//! finds nothing; and its screenshots are PNGs of the window's size.

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::FutureExt;
use serde_json::json;

use crate::support::browser::{Browser, Window};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_catches_errors_and_violations_wide() {
    check_harness(Window::Wide).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_catches_errors_and_violations_narrow() {
    check_harness(Window::Narrow).await;
}

async fn check_harness(window: Window) {
    let pages = Pages::serve();
    let mut browser = Browser::start("browser_harness", window).await;

    browser.goto(&format!("{}/clean", pages.base)).await;
    let width = browser.script("return window.innerWidth", vec![]).await;
    assert_eq!(width, json!(window.size().0));
    browser.fill("Your name", "Ada").await;
    browser.click_on("Greet").await;
    browser.wait_for_text("Hello, Ada").await;
    assert_eq!(browser.text("#greeting").await, "Hello, Ada");
    browser.fill("Your name", "Grace").await;
    browser.click("#greet button").await;
    browser.wait_for_text("Hello, Grace").await;
    assert!(browser.url().await.ends_with("/clean"));
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
    assert_eq!(
        browser.accessibility_violations().await,
        Vec::<String>::new()
    );
    assert_png_of_window(&browser.checkpoint("clean").await, window);

    browser.goto(&format!("{}/broken", pages.base)).await;
    browser.wait_for("h1").await;
    let errors = panic_message(browser.assert_no_console_errors()).await;
    assert!(
        errors.contains("Uncaught Error: harness self-test error"),
        "{errors}"
    );
    assert!(
        errors.contains("violates the following Content Security Policy"),
        "{errors}"
    );
    assert!(errors.contains("/broken"), "{errors}");
    let violations = browser.accessibility_violations().await;
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("critical image-alt")),
        "{violations:?}"
    );
    assert_png_of_window(&browser.screenshot("broken").await, window);

    let failure = panic_message(browser.assert_accessible()).await;
    assert!(failure.contains("image-alt"), "{failure}");
    assert!(failure.contains("/broken"), "{failure}");

    browser.set_wait(Duration::from_millis(300));
    let started = Instant::now();
    let failure = panic_message(browser.wait_for("#missing")).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{failure}");
    assert!(failure.contains("`#missing`"), "{failure}");
    let screenshot = failure
        .lines()
        .find_map(|line| line.strip_prefix("screenshot: "))
        .unwrap_or_else(|| panic!("no screenshot named: {failure}"));
    assert_png_of_window(Path::new(screenshot), window);
}

/// The message of the panic `check` ends in; fails if it passes.
async fn panic_message<T>(check: impl Future<Output = T>) -> String {
    let Err(panic) = AssertUnwindSafe(check).catch_unwind().await else {
        panic!("the check passed")
    };
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => panic
            .downcast_ref::<&str>()
            .map(|message| message.to_string())
            .unwrap_or_default(),
    }
}

fn assert_png_of_window(path: &Path, window: Window) {
    let png = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(
        png.len() > 1000,
        "{} has {} bytes",
        path.display(),
        png.len()
    );
    // The IHDR chunk comes first: width and height, big-endian, at bytes 16 to 24.
    let dimension =
        |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    assert_eq!(
        (dimension(16), dimension(20)),
        window.size(),
        "{}",
        path.display()
    );
}

/// The self-test's pages, served on a free port until dropped.
struct Pages {
    base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Pages {
    fn serve() -> Pages {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(|| App::new().default_service(web::to(page)))
                    .workers(1)
                    .listen(listener)
                    .expect("listen")
                    .run();
                sender.send(server.handle()).expect("send handle");
                let _ = server.await;
            })
        });
        let handle = receiver.recv().expect("server handle");
        Pages { base, handle }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn page(request: HttpRequest) -> HttpResponse {
    let (content_type, body) = match request.path() {
        "/clean" => ("text/html; charset=utf-8", clean_page()),
        "/broken" => ("text/html; charset=utf-8", broken_page()),
        "/greet.js" => ("text/javascript", GREET.to_owned()),
        "/throws.js" => (
            "text/javascript",
            "throw new Error('harness self-test error');".to_owned(),
        ),
        "/square.svg" => ("image/svg+xml", SQUARE.to_owned()),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .insert_header(("Content-Security-Policy", "default-src 'self'"))
        .content_type(content_type)
        .body(body)
}

/// A page of the self-test, titled and headed `title`.
fn html(title: &str, head: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<link rel=\"icon\" href=\"/square.svg\">\n{head}\n</head>\n\
         <body>\n<main>\n<h1>{title}</h1>\n{main}\n</main>\n</body>\n</html>"
    )
}

fn clean_page() -> String {
    html(
        "A clean page",
        r#"<script src="/greet.js" defer></script>"#,
        r#"<img src="/square.svg" alt="A grey square">
<form id="greet">
<label for="name">Your name</label>
<input id="name" name="name">
<button type="submit">Greet</button>
</form>
<p id="greeting" role="status"></p>"#,
    )
}

/// An image without alt text, an inline script the policy refuses, a script that throws.
fn broken_page() -> String {
    html(
        "A broken page",
        "",
        r#"<img src="/square.svg">
<script>document.title = 'refused';</script>
<script src="/throws.js"></script>"#,
    )
}

const GREET: &str = r#"document.getElementById('greet').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = document.getElementById('name').value;
  document.getElementById('greeting').textContent = `Hello, ${name}`;
});"#;

const SQUARE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#888"/></svg>"##;
