//! Reports end to end through the library: real databases, real files.

use std::io::Cursor;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use reeldb_engine::Database;

use super::*;

/// A PNG of `width` × `height` in one colour.
fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb(rgb));
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of every `data:` image in `html`.
fn data_images(html: &str) -> Vec<Vec<u8>> {
    html.match_indices("src=\"data:image/")
        .map(|(at, _)| {
            let rest = &html[at + "src=\"".len()..];
            let uri = &rest[..rest.find('"').unwrap()];
            let (_, encoded) = uri.split_once(";base64,").unwrap();
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap()
        })
        .collect()
}

async fn database(dir: &Path) -> Session {
    let db = Database::open(dir.join("news.reeldb")).unwrap();
    let session = Session::new(db);
    session
        .sql(&format!(
            "CREATE TABLE frames (id BIGINT, video TEXT, day TEXT, v VECTOR(6), picture BYTEA);
             INSERT INTO frames VALUES
               (1, 'a<script>', '2024-05-01', [1, 2, 3, 4, 5, 6], X'{}'),
               (2, 'a<script>', '2024-05-01', [1, 0, 0, 0, 0, 0], X'00ff'),
               (3, 'b', '2024-05-02', [0, 1, 0, 0, 0, 0], NULL);",
            hex(&png(4, 3, [200, 30, 30]))
        ))
        .await
        .unwrap();
    session
}

fn options(out: PathBuf, pairs: &[(&str, &str)]) -> ReportOptions {
    let mut parameters = Parameters::new();
    for (name, value) in pairs {
        parameters.insert(*name, *value).unwrap();
    }
    ReportOptions {
        generated_at: UNIX_EPOCH + Duration::from_secs(1_714_532_412),
        ..ReportOptions::new(out, parameters)
    }
}

const REPORT: &str = r#"# Frames of {{day}}

Rows per video, for <b>{{day}}</b>.

```sql csv=per_video parquet=per_video
SELECT video, count(*) AS frames FROM frames WHERE day = $day GROUP BY video ORDER BY video
```

## Everything

```sql rows=2
SELECT id, v, picture FROM frames ORDER BY id
```

## One picture

```sql
SET datafusion.execution.batch_size = 1024;
SELECT picture FROM frames WHERE id = 1
```
"#;

#[tokio::test]
async fn a_report_publishes_one_page_with_its_tables_images_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let session = database(dir.path()).await;
    let document = ReportDocument::parse("frames.report.md", REPORT).unwrap();
    let out = dir.path().join("out");
    let published = write_report(
        &session,
        &document,
        &options(out.clone(), &[("day", "2024-05-01")]),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(published.index, out.join(INDEX_FILE));
    assert_eq!(published.files, ["per_video.csv", "per_video.parquet"]);
    assert_eq!(published.statements, 4);
    assert_eq!(
        published.version,
        session.database().snapshot().unwrap().version()
    );
    let html = std::fs::read_to_string(&published.index).unwrap();

    assert!(
        html.contains("<title>Frames of 2024-05-01</title>"),
        "{html}"
    );
    assert!(html.contains("<h1>Frames of 2024-05-01</h1>"));
    assert!(
        html.contains("Rows per video, for <b>2024-05-01</b>."),
        "Markdown's own HTML"
    );
    assert!(html.contains("2024-05-01 03:00:12 UTC"));
    assert!(html.contains(&format!("version {}", published.version)));
    assert!(html.contains("<code>day</code> = <code>2024-05-01</code>"));
    // Cells are escaped; numbers right-aligned; the counts and the files linked.
    assert!(
        html.contains("<td>a&lt;script&gt;</td><td class=\"num\">2</td>"),
        "{html}"
    );
    assert!(!html.contains("<script"));
    assert!(html.contains("<th class=\"num\">frames</th>"));
    assert!(html.contains(
        "1 row; all in <a href=\"per_video.csv\">per_video.csv</a>, \
         <a href=\"per_video.parquet\">per_video.parquet</a>"
    ));
    assert!(html.contains("2 of 3 rows shown; add csv=NAME"));
    assert!(html.contains("[1.0, 2.0, 3.0, 4.0, … 6 values]"));
    assert!(html.contains("<span class=\"bytes\">2 bytes</span>"));
    // The SQL as it ran, folded under its result.
    assert!(html.contains(
        "<details><summary>SQL · line 6</summary><pre><code>SELECT video, count(*) AS \
         frames FROM frames WHERE day = &#39;2024-05-01&#39; GROUP BY video ORDER BY \
         video</code></pre></details>"
    ));
    // A one-image result is a figure; every image decodes.
    assert!(html.contains("<figure class=\"figure\"><img src=\"data:image/png;base64,"));
    let images = data_images(&html);
    assert_eq!(images.len(), 2, "the table's picture and the figure");
    for bytes in images {
        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!((image.width(), image.height()), (4, 3));
    }
    // Nothing external: no scripts, no links to load.
    assert!(!html.contains("http://") && !html.contains("https://"));

    let csv = std::fs::read_to_string(out.join("per_video.csv")).unwrap();
    assert_eq!(csv, "video,frames\na<script>,2\n");
    let parquet = std::fs::File::open(out.join("per_video.parquet")).unwrap();
    let rows: usize = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(parquet, 64)
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, 1);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["news.reeldb", "out"], "no temporary directory left");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_statement_reads_one_version_while_another_session_commits() {
    let dir = tempfile::tempdir().unwrap();
    let session = database(dir.path()).await;
    let writer = Session::new(session.database().clone());
    let before = session.database().snapshot().unwrap().version();
    let report = "# Counts\n\n```sql\nSELECT count(*) AS first FROM frames;\n\
                  SELECT count(*) AS second FROM frames;\n```\n";
    let document = ReportDocument::parse("counts.report.md", report).unwrap();
    let out = dir.path().join("counts");
    let mut commits = 0;
    let published = write_report(&session, &document, &options(out, &[]), &mut |started| {
        // Between the two statements, another session commits two more rows.
        if started.number == 2 {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current()
                    .block_on(writer.sql("INSERT INTO frames (id) VALUES (4), (5)"))
                    .unwrap();
            });
            commits += 1;
        }
    })
    .await
    .unwrap();
    assert_eq!(commits, 1);
    assert_eq!(published.version, before);
    assert!(session.database().snapshot().unwrap().version() > before);
    let html = std::fs::read_to_string(&published.index).unwrap();
    let counts: Vec<&str> = html
        .match_indices("<td class=\"num\">")
        .map(|(at, tag)| {
            let rest = &html[at + tag.len()..];
            &rest[..rest.find('<').unwrap()]
        })
        .collect();
    assert_eq!(
        counts,
        ["3", "3"],
        "both statements read the version before the commit"
    );
    assert!(html.contains(&format!(
        "version {before} (every statement read this version)"
    )));
}

#[tokio::test]
async fn a_failing_statement_publishes_nothing_and_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let session = database(dir.path()).await;
    let report = "# R\n\n```sql csv=a\nSELECT 1 AS one;\nSELECT 2 AS two\n```\n\n\
                  ```sql\nSELECT * FROM framez\n```\n";
    let document = ReportDocument::parse("r.report.md", report).unwrap();
    let out = dir.path().join("r");
    let error = write_report(&session, &document, &options(out.clone(), &[]), &mut |_| {})
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("r.report.md:9: "), "{message}");
    assert!(message.contains("framez"), "{message}");
    assert!(!error.is_usage());
    assert!(!out.exists());
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the database: no temporary directory");

    // A write is refused before it runs, with its line.
    let report = "```sql\nSELECT 1;\n```\n\n```sql\nINSERT INTO frames (id) VALUES (9)\n```\n";
    let document = ReportDocument::parse("w.report.md", report).unwrap();
    let version = session.database().snapshot().unwrap().version();
    let error = write_report(&session, &document, &options(out.clone(), &[]), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("w.report.md:6: 'INSERT INTO frames (id) ...' writes"),
        "{error}"
    );
    assert_eq!(session.database().snapshot().unwrap().version(), version);
    assert!(!out.exists());
}

#[tokio::test]
async fn the_destination_is_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let session = database(dir.path()).await;
    let document = ReportDocument::parse("r.md", "```sql\nSELECT 1\n```\n").unwrap();
    let mut ran = 0;
    let inside = dir.path().join("news.reeldb/reports");
    let error = write_report(
        &session,
        &document,
        &options(inside.clone(), &[]),
        &mut |_| ran += 1,
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("inside the database directory"),
        "{error}"
    );
    assert!(error.is_usage() && !inside.exists());
    let out = dir.path().join("r");
    std::fs::create_dir(&out).unwrap();
    let error = write_report(&session, &document, &options(out.clone(), &[]), &mut |_| {
        ran += 1
    })
    .await
    .unwrap_err();
    assert!(matches!(error, ReportError::OutputExists { .. }), "{error}");
    let mut replace = options(out.clone(), &[]);
    replace.replace = true;
    let error = write_report(&session, &document, &replace, &mut |_| ran += 1)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ReportError::NotAReport { .. }),
        "an empty directory: {error}"
    );
    assert_eq!(ran, 0);
    std::fs::remove_dir(&out).unwrap();
    write_report(&session, &document, &options(out.clone(), &[]), &mut |_| {
        ran += 1
    })
    .await
    .unwrap();
    write_report(&session, &document, &replace, &mut |_| ran += 1)
        .await
        .unwrap();
    assert_eq!(ran, 2);
}

#[test]
fn the_default_output_is_the_report_stem_here() {
    for (report, out) in [
        ("reports/nightly.report.md", "nightly"),
        ("weekly.md", "weekly"),
        ("plain", "plain"),
    ] {
        assert_eq!(default_output_dir(Path::new(report)), PathBuf::from(out));
    }
}
