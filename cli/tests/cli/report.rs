//! `reeldb report`: a report over a real database (tables made by SQL, thumbnails ingested
//! from the fixtures' photos), run as cron runs it, and what it publishes.

#[path = "report/browser.rs"]
mod browser;

use std::io::{BufRead, BufReader, Cursor};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;

use super::{reeldb, text};

/// The chart's two colours: a figure the browser test looks for in its screenshot.
pub const CHART_BLUE: [u8; 3] = [30, 110, 200];
const CHART_ORANGE: [u8; 3] = [240, 160, 20];

/// A PNG as another engineer's `scatter()` would return it: blue, with an orange band.
fn chart_png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(480, 160, |_, y| {
        image::Rgb(if (60..100).contains(&y) {
            CHART_ORANGE
        } else {
            CHART_BLUE
        })
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// A database in `dir/news.reeldb`: three photos ingested (JPEG thumbnails), a table of notes
/// and one of charts (PNG bytes), made by SQL.
pub fn news_database(dir: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/images");
    let photos = dir.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for name in ["obama-1.jpg", "biden-1.jpg", "rocket.jpg"] {
        std::fs::copy(fixtures.join(name), photos.join(name)).unwrap();
    }
    let chart: String = chart_png().iter().map(|b| format!("{b:02x}")).collect();
    let setup = format!(
        "INGEST FRAMES FROM 'photos';
         CREATE TABLE notes (note TEXT, day TEXT);
         INSERT INTO notes VALUES ('<b>bold</b> & \"quoted\"', '2024-05-01'), ('plain', '2024-05-02');
         CREATE TABLE charts (name TEXT, chart BYTEA);
         INSERT INTO charts VALUES ('frames', X'{chart}');"
    );
    let out = reeldb(&["news.reeldb"], &setup, dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The nightly report the tests run (its parameters: day, limit, chart).
pub const NIGHTLY: &str = r#"# Nightly report for {{day}}

Frames, thumbnails and notes of **{{day}}**.

```sql
SELECT chart FROM charts WHERE name = $chart
```

## Frames by video

```sql csv=videos
SELECT video, count(*) AS frames, min(width) AS narrowest FROM frames GROUP BY video ORDER BY video
```

## Thumbnails

```sql
SELECT file, width, height, thumbnail FROM frames ORDER BY file
```

## Notes

```sql
SELECT note, $day AS day, $limit::int + 1 AS next FROM notes WHERE day = $day
```
"#;

/// The parameters NIGHTLY takes, as arguments.
pub const NIGHTLY_PARAMS: [&str; 6] = [
    "--param",
    "day=2024-05-01",
    "--param",
    "limit=5",
    "-p",
    "chart=frames",
];

fn run_report(dir: &Path, report: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("nightly.report.md"), report).unwrap();
    let mut args = vec!["report", "news.reeldb", "nightly.report.md"];
    args.extend_from_slice(extra);
    reeldb(&args, "", dir)
}

/// The bytes of every `<img>` in `html`, which must all be `data:` URIs.
pub fn page_images(html: &str) -> Vec<(String, Vec<u8>)> {
    html.match_indices("<img ")
        .map(|(at, _)| {
            let tag = &html[at..at + html[at..].find('>').unwrap()];
            let src = tag.split("src=\"").nth(1).expect("an img has a src");
            let uri = &src[..src.find('"').unwrap()];
            let (kind, encoded) = uri
                .strip_prefix("data:")
                .and_then(|u| u.split_once(";base64,"))
                .unwrap_or_else(|| panic!("not a data: URI: {}", &uri[..uri.len().min(80)]));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap();
            (kind.to_string(), bytes)
        })
        .collect()
}

/// What is in `dir`, by name, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_report_publishes_a_page_with_tables_thumbnails_and_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    news_database(dir.path());
    let mut args = NIGHTLY_PARAMS.to_vec();
    args.extend(["--out", "reports/2024-05-01"]);
    let out = run_report(dir.path(), NIGHTLY, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Quiet on success when no one watches (cron mails whatever a job prints).
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");
    let published = dir.path().join("reports/2024-05-01");
    assert_eq!(names(&published), ["index.html", "videos.csv"]);
    assert_eq!(names(&dir.path().join("reports")), ["2024-05-01"]);
    let html = std::fs::read_to_string(published.join("index.html")).unwrap();

    // Parameters: in the text (escaped), and in the SQL as literals.
    assert!(html.contains("<title>Nightly report for 2024-05-01</title>"));
    assert!(html.contains("<h1>Nightly report for 2024-05-01</h1>"));
    assert!(html.contains("Frames, thumbnails and notes of <strong>2024-05-01</strong>."));
    assert!(html.contains("WHERE day = &#39;2024-05-01&#39;"), "{html}");
    assert!(html.contains("<code>limit</code> = <code>5</code>"));
    // The tables: headers, numbers right-aligned, cells escaped.
    assert!(
        html.contains(
            "<th>video</th><th class=\"num\">frames</th><th class=\"num\">narrowest</th>"
        )
    );
    assert!(
        html.contains("<td>photos</td><td class=\"num\">3</td>"),
        "{html}"
    );
    assert!(html.contains(
        "<td>&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;</td><td>2024-05-01</td><td \
         class=\"num\">6</td>"
    ));
    assert!(!html.contains("<b>bold</b>"));
    assert!(html.contains("3 rows"));
    assert!(html.contains("1 row; all in <a href=\"videos.csv\">videos.csv</a>"));
    assert!(html.contains("<details><summary>SQL · line 12</summary>"));
    assert!(html.contains("version "));
    // The CSV file holds the whole result.
    assert_eq!(
        std::fs::read_to_string(published.join("videos.csv")).unwrap(),
        "video,frames,narrowest\nphotos,3,".to_string() + &narrowest_width(dir.path()) + "\n"
    );

    // The images: three JPEG thumbnails in the table, the chart as a full-width figure, and
    // each decodes to the size its tag says.
    assert!(html.contains("<figure class=\"figure\"><img src=\"data:image/png;base64,"));
    let images = page_images(&html);
    let kinds: Vec<&str> = images.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["image/png", "image/jpeg", "image/jpeg", "image/jpeg"]
    );
    for (kind, bytes) in &images {
        let image = image::load_from_memory(bytes).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let size = format!("width=\"{}\" height=\"{}\"", image.width(), image.height());
        assert!(html.contains(&size), "{size}");
        assert!(image.width().max(image.height()) <= 480);
    }
    assert_eq!(images[0].1, chart_png());
    // Self-contained: nothing to fetch.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
}

fn narrowest_width(dir: &Path) -> String {
    let out = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT min(width) FROM frames",
            "-f",
            "csv",
        ],
        "",
        dir,
    );
    text(&out.stdout).lines().nth(1).unwrap().to_string()
}

#[test]
fn a_failing_third_statement_exits_1_names_its_line_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    news_database(dir.path());
    let report = "# Broken\n\n```sql csv=first\nSELECT 1 AS one;\nSELECT 2 AS two\n```\n\n\
                  Then:\n\n```sql\nSELECT count(*)\nFROM framez\n```\n";
    let out = run_report(dir.path(), report, &["--out", "broken"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("Error: nightly.report.md:11: "),
        "{stderr}"
    );
    assert!(stderr.contains("framez"), "{stderr}");
    assert!(!dir.path().join("broken").exists());
    assert_eq!(
        names(dir.path()),
        ["news.reeldb", "nightly.report.md", "photos"],
        "no temporary directory is left"
    );
}

#[test]
fn a_write_statement_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    news_database(dir.path());
    let count = |dir: &Path| {
        text(
            &reeldb(
                &[
                    "query",
                    "news.reeldb",
                    "SELECT count(*) FROM notes",
                    "-f",
                    "csv",
                ],
                "",
                dir,
            )
            .stdout,
        )
    };
    let before = count(dir.path());
    for (statement, line) in [
        ("INSERT INTO notes VALUES ('x', 'y')", 4),
        ("CREATE TABLE copy AS SELECT * FROM notes", 4),
        ("DELETE FROM notes", 4),
        ("INGEST FRAMES FROM 'photos'", 4),
        (
            "CLUSTER frames ON builtin USING kmeans (k = 2) INTO topic",
            4,
        ),
    ] {
        let report = format!("# W\n\n```sql\n{statement}\n```\n");
        let out = run_report(dir.path(), &report, &["--out", "w"]);
        assert_eq!(out.status.code(), Some(1), "{statement}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("Error: nightly.report.md:{line}: '")),
            "{stderr}"
        );
        assert!(
            stderr.contains("' writes, and only statements that read run here"),
            "{stderr}"
        );
        assert!(!dir.path().join("w").exists());
    }
    assert_eq!(count(dir.path()), before);
}

#[test]
fn an_existing_out_is_refused_unless_replace_and_never_inside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    news_database(dir.path());
    let report = "# Day\n\nIt is {{day}}.\n\n```sql\nSELECT $day AS day\n```\n";
    let out = run_report(dir.path(), report, &["--param", "day=monday"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Without --out: the report's name, here.
    let page = dir.path().join("nightly/index.html");
    assert!(
        std::fs::read_to_string(&page)
            .unwrap()
            .contains("It is monday.")
    );

    let out = run_report(dir.path(), report, &["--param", "day=tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'nightly' already exists; pass --replace to replace it"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&page)
            .unwrap()
            .contains("It is monday.")
    );

    let out = run_report(dir.path(), report, &["--param", "day=tuesday", "--replace"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("It is tuesday.") && !html.contains("monday"));
    let left: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "nothing left beside it: {left:?}");

    // --replace replaces only a report.
    std::fs::create_dir(dir.path().join("mine")).unwrap();
    std::fs::write(dir.path().join("mine/thesis.tex"), "...").unwrap();
    let out = run_report(
        dir.path(),
        report,
        &["--param", "day=x", "--out", "mine", "--replace"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a report reeldb wrote"));
    assert!(dir.path().join("mine/thesis.tex").exists());

    for inside in [
        "news.reeldb/report",
        "news.reeldb",
        "news.reeldb/../news.reeldb/x",
    ] {
        let out = run_report(dir.path(), report, &["--param", "day=x", "--out", inside]);
        assert_eq!(out.status.code(), Some(2), "{inside}");
        assert!(
            text(&out.stderr).contains("inside the database directory"),
            "{inside}: {}",
            text(&out.stderr)
        );
    }
    assert!(!dir.path().join("news.reeldb/report").exists());
    let db = dir.path().join("news.reeldb");
    assert!(names(&db).iter().all(|n| !n.starts_with(".report")));
}

#[test]
fn parameters_and_usage_errors_exit_2_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    news_database(dir.path());
    // A parameter used but not given: its line and the flag to pass.
    let out = run_report(dir.path(), NIGHTLY, &["--param", "day=2024-05-01"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "Error: nightly.report.md:6: parameter $chart is not given; pass --param chart=VALUE\n"
    );
    let out = run_report(dir.path(), NIGHTLY, &["--param", "day"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--param takes name=value"));
    // A parameter given but not used: a warning, and the report is made.
    let mut args = NIGHTLY_PARAMS.to_vec();
    args.extend(["--param", "dya=typo", "--out", "n"]);
    let out = run_report(dir.path(), NIGHTLY, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "warning: --param dya is not used by nightly.report.md (no $dya or {{dya}} in it)\n"
    );
    // A malformed report exits 1; arguments clap refuses, a missing report or database, 2.
    let out = run_report(
        dir.path(),
        "```sql rows=many\nSELECT 1\n```\n",
        &["--out", "m"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nightly.report.md:1: rows=many"));
    let out = reeldb(&["report", "news.reeldb"], "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = reeldb(
        &["report", "news.reeldb", "missing.report.md"],
        "",
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the report 'missing.report.md'"));
    let out = reeldb(
        &["report", "missing.reeldb", "nightly.report.md"],
        "",
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !dir.path().join("missing.reeldb").exists(),
        "read-only: nothing created"
    );
}

#[test]
fn csv_writes_every_result_beside_the_page() {
    let dir = tempfile::tempdir().unwrap();
    news_database(dir.path());
    let mut args = NIGHTLY_PARAMS.to_vec();
    args.extend(["--csv", "--out", "all"]);
    let out = run_report(dir.path(), NIGHTLY, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let published = dir.path().join("all");
    assert_eq!(
        names(&published),
        [
            "01-nightly-report-for-day.csv",
            "02-frames-by-video.csv",
            "03-thumbnails.csv",
            "04-notes.csv",
            "index.html",
            "videos.csv",
        ]
    );
    let notes = std::fs::read_to_string(published.join("04-notes.csv")).unwrap();
    assert_eq!(
        notes,
        "note,day,next\n\"<b>bold</b> & \"\"quoted\"\"\",2024-05-01,6\n"
    );
    let thumbnails = std::fs::read_to_string(published.join("03-thumbnails.csv")).unwrap();
    assert!(thumbnails.starts_with("file,width,height,thumbnail\n"));
    assert!(thumbnails.contains(",\\xffd8ff"), "BLOBs as \\x and hex");
}

#[test]
fn ctrl_c_stops_the_report_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    news_database(dir.path());
    let report = "# Slow\n\n```sql\nSELECT 1 AS quick;\n\
                  SELECT count(*) FROM generate_series(1, 100000000000)\n```\n";
    std::fs::write(dir.path().join("slow.report.md"), report).unwrap();
    let before = names(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeldb"))
        .args(["report", "news.reeldb", "slow.report.md", "--progress"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    // The second statement is far too long to finish on its own; its progress line comes
    // once the report (and its temporary directory) is under way.
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the report ended early"
        );
        if line.starts_with("[2/2] slow.report.md:5") {
            break;
        }
        assert!(
            line.starts_with("[1/2] slow.report.md:4  SELECT 1 AS quick"),
            "{line}"
        );
    }
    assert!(
        names(dir.path())
            .iter()
            .any(|n| n.starts_with(".slow.report-")),
        "the report is being written beside its destination"
    );
    // SAFETY: sending a signal to our own child process.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(sent, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert_eq!(rest, "Interrupted: nothing was published.\n");
    assert_eq!(
        names(dir.path()),
        before,
        "no report, no temporary directory"
    );
}
