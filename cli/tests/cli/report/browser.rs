//! The report page in a real browser: Debian's Chromium, headless, run as a child process
//! with a fresh profile. Its log gives the page's console messages (`CONSOLE` lines: script
//! errors, Content-Security-Policy refusals) and every file or network request (`FileURLLoader`
//! and `NotifyBeforeURLRequest` lines, asked for with `--vmodule`); its screenshot shows what
//! was drawn. A second test shows that these checks see a broken page, so that the first can
//! fail.
//!
//! Chromium makes requests of its own (update checks, the time, accounts) whatever flags it
//! is given; they go to a proxy on loopback that is not there (`--proxy-server`), so nothing
//! leaves the machine, and they are told apart from the page's by their hosts, which the page
//! does not name.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{CHART_BLUE, NIGHTLY, NIGHTLY_PARAMS, news_database, page_images, run_report};
use crate::text;

/// Where Debian installs Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// How long Chromium may take before it is taken to hang (it takes about a second).
const HANG: Duration = Duration::from_secs(120);

/// What Chromium made of a page.
struct Loaded {
    /// The page's console messages.
    console: Vec<String>,
    /// The files and network resources it asked for, beside the page itself.
    requests: Vec<String>,
    /// The screenshot of its first 1280 × 2000 pixels.
    screenshot: image::RgbImage,
}

/// Fails unless the page logged no console message and asked for nothing beside itself.
fn assert_loaded_cleanly(loaded: &Loaded) {
    assert!(
        loaded.console.is_empty(),
        "console messages: {:#?}",
        loaded.console
    );
    assert!(
        loaded.requests.is_empty(),
        "the page loaded: {:#?}",
        loaded.requests
    );
}

fn chromium() -> &'static Path {
    let path = Path::new(CHROMIUM);
    assert!(
        path.exists(),
        "this test opens a report in Debian's Chromium, which is not installed: run \
         `apt-get install -y --no-install-recommends chromium` (scripts/test installs it when \
         it is missing)"
    );
    path
}

/// Opens `page` in headless Chromium and reads its log and screenshot.
fn open_in_chromium(page: &Path) -> Loaded {
    let scratch = tempfile::tempdir().unwrap();
    let profile = scratch.path().join("profile");
    let screenshot = scratch.path().join("screenshot.png");
    let page = page.canonicalize().unwrap();
    let url = format!("file://{}", page.display());
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
            "--disable-extensions",
            "--proxy-server=127.0.0.1:9",
            "--window-size=1280,2000",
            "--enable-logging=stderr",
            "--v=0",
            "--vmodule=file_url_loader_factory=1,network_delegate=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // A watchdog for a Chromium that hangs: it is killed, and the test fails below.
    let pid = child.id() as i32;
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(HANG).is_err() {
            // SAFETY: killing our own child process.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    });
    let output = child.wait_with_output().unwrap();
    let _ = done.send(());
    watchdog.join().unwrap();
    let log = text(&output.stderr);
    assert!(output.status.success(), "chromium failed: {log}");
    let html = std::fs::read_to_string(&page).unwrap_or_default();
    let mut console = Vec::new();
    let mut requests = Vec::new();
    for line in log.lines() {
        if line.contains(":CONSOLE") {
            console.push(line.to_string());
        } else if let Some((_, file)) = line.split_once("FileURLLoader::Start: ") {
            if file.trim() != url {
                requests.push(file.trim().to_string());
            }
        } else if let Some((_, request)) = line.split_once("NotifyBeforeURLRequest: ") {
            let request = request.trim();
            let host = request
                .split_once("://")
                .map_or(request, |(_, rest)| rest)
                .split(['/', ':', '?'])
                .next()
                .unwrap_or_default();
            if !host.is_empty() && html.contains(host) {
                requests.push(request.to_string());
            }
        }
    }
    let screenshot = image::open(&screenshot)
        .unwrap_or_else(|e| panic!("no screenshot ({e}): {log}"))
        .to_rgb8();
    Loaded {
        console,
        requests,
        screenshot,
    }
}

/// How many different colours the screenshot has.
fn colours(image: &image::RgbImage) -> usize {
    image.pixels().map(|p| p.0).collect::<HashSet<_>>().len()
}

/// The pixels within a few levels of `rgb`, and the box around them.
fn region_of(image: &image::RgbImage, rgb: [u8; 3]) -> (usize, Option<(u32, u32, u32, u32)>) {
    let mut count = 0;
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for (x, y, pixel) in image.enumerate_pixels() {
        let near = pixel.0.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 6);
        if near {
            count += 1;
            bounds = Some(match bounds {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    (count, bounds)
}

/// Whether a screenshot shows a page that was drawn: many colours, and at least 5 % of it
/// other than its background (its most common colour).
fn looks_drawn(image: &image::RgbImage) -> bool {
    let mut counts = std::collections::HashMap::new();
    for pixel in image.pixels() {
        *counts.entry(pixel.0).or_insert(0usize) += 1;
    }
    let background = counts.values().copied().max().unwrap_or(0);
    let total = image.pixels().len();
    counts.len() >= 100 && (total - background) * 20 >= total
}

#[test]
fn the_report_page_opens_in_chromium_without_errors_and_draws_its_tables_and_images() {
    let dir = tempfile::tempdir().unwrap();
    news_database(dir.path());
    let mut args = NIGHTLY_PARAMS.to_vec();
    args.extend(["--out", "nightly"]);
    let out = run_report(dir.path(), NIGHTLY, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = dir.path().join("nightly/index.html");
    let loaded = open_in_chromium(&page);
    assert_loaded_cleanly(&loaded);

    let shot = &loaded.screenshot;
    assert_eq!(shot.dimensions(), (1280, 2000));
    assert!(looks_drawn(shot), "{} colours", colours(shot));
    // The chart is drawn as a full-width figure: a wide block of its blue.
    let (blue, bounds) = region_of(shot, CHART_BLUE);
    let (x0, y0, x1, y1) = bounds.expect("the chart's blue is on the screen");
    assert!(blue > 50_000, "{blue} blue pixels");
    assert!(x1 - x0 > 1000 && y1 - y0 > 200, "{bounds:?}");
    // The tables are drawn: their header rows' background.
    let (header, _) = region_of(shot, [0xe8, 0xed, 0xf3]);
    assert!(header > 2_000, "{header} header pixels");
    // The thumbnails are drawn: many colours below the chart, where the photos are.
    let below = image::imageops::crop_imm(shot, 0, y1 + 1, 1280, 2000 - y1 - 1).to_image();
    assert!(
        colours(&below) > 1_000,
        "{} colours below the chart",
        colours(&below)
    );

    // Every image the page holds decodes.
    let html = std::fs::read_to_string(&page).unwrap();
    let images = page_images(&html);
    assert_eq!(images.len(), 4);
    for (kind, bytes) in images {
        image::load_from_memory(&bytes).unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

/// The report shipped with reeldb (seed 000's page), as `reeldb demo` writes it and prints
/// the command: it runs on the demo database, and Chromium shows it without errors.
#[test]
fn the_shipped_broadcast_report_runs_on_the_demo_and_opens_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let demo = crate::reeldb(&["demo", "--db", "demo.reeldb"], "", dir.path());
    assert_eq!(demo.status.code(), Some(0), "{}", text(&demo.stderr));
    let printed = text(&demo.stdout);
    let command = printed
        .lines()
        .find_map(|line| line.trim().strip_prefix("reeldb report "))
        .unwrap_or_else(|| panic!("the demo does not print the report's command:\n{printed}"));
    assert!(dir.path().join("demo.report.md").is_file());
    let args: Vec<&str> = std::iter::once("report")
        .chain(command.split(' '))
        .collect();
    let out = crate::reeldb(&args, "", dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = dir.path().join("demo-report/index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // The point cloud, the image cloud, four grids, the contact sheet, the search and the
    // timeline: nine pictures, each a PNG that decodes to a real size.
    let images = page_images(&html);
    assert_eq!(
        images.len(),
        9,
        "{:?}",
        images.iter().map(|i| &i.0).collect::<Vec<_>>()
    );
    for (kind, bytes) in &images {
        let picture = image::load_from_memory(bytes).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(picture.width() >= 200 && picture.height() >= 100, "{kind}");
    }
    assert!(html.contains("DEMO_20240315_180000_Evening_News"));
    let loaded = open_in_chromium(&page);
    assert_loaded_cleanly(&loaded);
    assert!(
        looks_drawn(&loaded.screenshot),
        "{} colours",
        colours(&loaded.screenshot)
    );

    // A second demo keeps the report file the user may have edited.
    std::fs::write(dir.path().join("demo.report.md"), "# mine\n").unwrap();
    let again = crate::reeldb(&["demo", "--db", "demo.reeldb"], "", dir.path());
    assert!(
        text(&again.stdout).contains("kept as it was in"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("demo.report.md")).unwrap(),
        "# mine\n"
    );
}

/// The checks above must be able to fail: a script error, a console error, a missing image
/// and a network request are all seen, and a page with nothing on it does not look drawn.
#[test]
fn the_chromium_checks_see_script_errors_failed_loads_and_blank_pages() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>broken</p><img src=\"missing.png\">\
         <img src=\"http://127.0.0.1:9/chart.png\">\
         <script>undefinedFunction();</script><script>console.error('deliberate')</script>\
         </body></html>",
    )
    .unwrap();
    let loaded = open_in_chromium(&page);
    assert!(
        loaded
            .console
            .iter()
            .any(|l| l.contains("Uncaught ReferenceError: undefinedFunction is not defined")),
        "{:#?}",
        loaded.console
    );
    assert!(loaded.console.iter().any(|l| l.contains("deliberate")));
    assert!(
        loaded.requests.iter().any(|r| r.ends_with("/missing.png")),
        "{:#?}",
        loaded.requests
    );
    assert!(
        loaded
            .requests
            .iter()
            .any(|r| r == "http://127.0.0.1:9/chart.png"),
        "{:#?}",
        loaded.requests
    );
    assert!(
        !looks_drawn(&loaded.screenshot),
        "a page with one word is blank"
    );
    assert_eq!(region_of(&loaded.screenshot, CHART_BLUE).0, 0);
}
