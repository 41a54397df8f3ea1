//! The `reeldb` binary, run as a real child process: scripts on standard input, the `query`
//! subcommand and its formats, dot-commands, exit codes, and reports (`report`, with its
//! pages opened in headless Chromium in `report/browser.rs`).

// A test target's own modules live in a directory named after it (cargo would take
// `tests/report.rs` for a test target of its own).
#[path = "cli/report.rs"]
mod report;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn reeldb(args: &[&str], stdin: &str, cwd: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeldb"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd) // the shell's history file stays in the test's directory
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start reeldb");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SETUP: &str = "
CREATE TABLE frames (id BIGINT, video TEXT, ts DOUBLE, embedding VECTOR(4));
INSERT INTO frames VALUES
  (1, 'RUSSIA1_20231017', 0.0, [0.1, 0.2, 0.3, 0.4]),
  (2, 'RUSSIA1_20231017', 4.0, [0.5, 0.6, 0.7, 0.8]),
  (3, 'BBC_20231017', 0.0, [1, 0, 0, 0]);
";

#[test]
fn a_script_on_stdin_creates_loads_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{SETUP}
.mode csv
SELECT video, count(*) AS n FROM frames GROUP BY video ORDER BY video;
"
    );
    let out = reeldb(&["news.reeldb"], &script, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.ends_with("video,n\nBBC_20231017,1\nRUSSIA1_20231017,2\n"),
        "{stdout}"
    );
}

#[test]
fn query_subcommand_writes_every_format() {
    let dir = tempfile::tempdir().unwrap();
    assert!(reeldb(&["news.reeldb"], SETUP, dir.path()).status.success());
    let sql = "SELECT id, video, embedding FROM frames WHERE id < 3 ORDER BY id";
    let csv = reeldb(
        &["query", "news.reeldb", sql, "--format", "csv"],
        "",
        dir.path(),
    );
    assert_eq!(
        text(&csv.stdout),
        "id,video,embedding\n1,RUSSIA1_20231017,\"[0.1, 0.2, 0.3, 0.4]\"\n\
         2,RUSSIA1_20231017,\"[0.5, 0.6, 0.7, 0.8]\"\n"
    );
    let json = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT id FROM frames ORDER BY id",
            "-f",
            "json",
        ],
        "",
        dir.path(),
    );
    assert_eq!(text(&json.stdout), "[{\"id\":1},{\"id\":2},{\"id\":3}]");
    // A result of several batches streams into one well-formed JSON array.
    let many = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT value FROM generate_series(1, 20000)",
            "-f",
            "json",
        ],
        "",
        dir.path(),
    );
    let many = text(&many.stdout);
    assert!(many.starts_with("[{\"value\":1},") && many.ends_with("{\"value\":20000}]"));
    assert_eq!(many.matches('{').count(), 20000);
    let markdown = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT id, video FROM frames WHERE id = 3",
            "-f",
            "markdown",
        ],
        "",
        dir.path(),
    );
    assert_eq!(
        text(&markdown.stdout),
        "| id | video |\n| ---: | --- |\n| 3 | BBC_20231017 |\n"
    );
    let table = reeldb(&["query", "news.reeldb", sql], "", dir.path());
    let table = text(&table.stdout);
    assert!(
        table.contains("RUSSIA1_20231017") && table.ends_with("2 rows\n"),
        "{table}"
    );

    // Parquet goes to a file, and the file loads back with COPY FROM.
    let parquet = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT * FROM frames",
            "--format",
            "parquet",
            "--output",
            "out.parquet",
        ],
        "",
        dir.path(),
    );
    assert!(parquet.status.success(), "{}", text(&parquet.stderr));
    let reload = reeldb(
        &[
            "query",
            "news.reeldb",
            "CREATE TABLE copy AS SELECT * FROM frames WHERE false; COPY copy FROM 'out.parquet'; SELECT count(*) FROM copy",
            "-f",
            "csv",
        ],
        "",
        dir.path(),
    );
    assert_eq!(
        text(&reload.stdout),
        "count(*)\n3\n",
        "{}",
        text(&reload.stderr)
    );
}

#[test]
fn dot_commands_list_and_describe_tables() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!("{SETUP}\n.tables\n.schema frames\n.help\n");
    let out = reeldb(&["news.reeldb"], &script, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("│ frames ┆    3 ┆     1 ┆"), "{stdout}");
    assert!(
        stdout.contains(
            "CREATE TABLE frames (\n  id BIGINT,\n  video TEXT,\n  ts DOUBLE,\n  embedding VECTOR(4)\n);"
        ),
        "{stdout}"
    );
    assert!(stdout.contains(".timer on|off"), "{stdout}");
}

#[test]
fn a_failing_statement_exits_1_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = "CREATE TABLE t (x INT);\n\nSELECT nope FROM t;\nSELECT 1;\n";
    let out = reeldb(&["news.reeldb"], script, dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("Error: line 3:"), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");

    let out = reeldb(&["query", "news.reeldb", "SELEC 1"], "", dir.path());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = reeldb(&["--no-such-flag"], "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = reeldb(&[], "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(dir.path().join("plain.txt"), "not a database").unwrap();
    let out = reeldb(&["query", "plain.txt", "SELECT 1"], "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a reeldb database"),
        "{}",
        text(&out.stderr)
    );
    let out = reeldb(
        &["query", "news.reeldb", "SELECT 1", "-f", "parquet"],
        "",
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--output"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        reeldb(
            &["news.reeldb"],
            "CREATE TABLE t AS SELECT * FROM generate_series(1, 100000) AS s(x);",
            dir.path()
        )
        .status
        .success()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeldb"))
        .args(["query", "news.reeldb", "SELECT * FROM t", "-f", "csv"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as with `| head`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn ctrl_c_stops_the_running_statement_and_keeps_the_shell() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeldb"))
        .args(["news.reeldb", "--shell", "--mode", "csv"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("reeldb "), "{line}");
    let mut stdin = child.stdin.take().unwrap();
    // With .echo on the shell prints a statement once it listens for Ctrl-C and is about to
    // run it; the query is far too long to finish on its own.
    stdin
        .write_all(b".echo on\nSELECT count(*) FROM generate_series(1, 100000000000);\n")
        .unwrap();
    stdin.flush().unwrap();
    loop {
        line.clear();
        stdout.read_line(&mut line).unwrap();
        if line.starts_with("SELECT count(*)") {
            break;
        }
    }
    // SAFETY: sending a signal to our own child process.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(sent, 0);
    stdin.write_all(b"SELECT 41 + 1 AS answer;\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(rest.contains("answer\n42\n"), "{rest}");
    assert!(
        dir.path().join(".reeldb_history").exists(),
        "the shell keeps its history"
    );
    assert!(
        text(&output.stderr).contains("Cancelled."),
        "{}",
        text(&output.stderr)
    );
}

/// `reeldb model add/list/remove` and `.models`, with the real MobileFaceNet face encoder from
/// the fixtures as an ONNX image model (needs ONNX Runtime: tests/requirements.txt).
#[test]
fn model_subcommands_add_list_and_remove_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/models/face/mobilefacenet_foamliu.onnx");
    let model = model.to_str().unwrap();
    let add = [
        "model",
        "add",
        "news.reeldb",
        "faces",
        model,
        "-o",
        "scale=1",
        "-o",
        "mean=127.5",
        "-o",
        "std=128",
    ];
    let out = reeldb(&add, "", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = reeldb(&["model", "list", "news.reeldb"], "", dir.path());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("│ faces   ┆ image ┆ onnx-image ┆ 128 ┆"),
        "{stdout}"
    );
    let out = reeldb(&["news.reeldb"], ".models\n", dir.path());
    assert!(text(&out.stdout).contains("faces"), "{}", text(&out.stdout));
    let out = reeldb(
        &["model", "add", "news.reeldb", "faces", model],
        "",
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    let bad = ["model", "add", "news.reeldb", "x", model, "-o", "size"];
    let out = reeldb(&bad, "", dir.path());
    assert!(
        text(&out.stderr).contains("KEY=VALUE"),
        "{}",
        text(&out.stderr)
    );
    let out = reeldb(&["model", "remove", "news.reeldb", "faces"], "", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = reeldb(&["model", "list", "news.reeldb"], "", dir.path());
    assert!(
        !text(&out.stdout).contains("faces"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn demo_builds_a_database_that_ingest_adds_to() {
    let dir = tempfile::tempdir().unwrap();
    let out = reeldb(&["demo", "--db", "news.reeldb"], "", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.contains("frames: 48 added"), "{printed}");
    assert!(
        printed.contains("try:") && printed.contains("SELECT"),
        "{printed}"
    );
    // Not a terminal: no progress bars on stderr.
    assert_eq!(text(&out.stderr), "");

    // The demo again adds nothing; ingesting its frames under another video adds them.
    let again = reeldb(&["demo", "--db", "news.reeldb"], "", dir.path());
    assert!(text(&again.stdout).contains("frames: 0 added, 48 already in"));
    let frames = dir
        .path()
        .join("news.broadcast/DEMO_20240315_180000_Evening_News");
    let out = reeldb(
        &[
            "ingest",
            "news.reeldb",
            "frames",
            frames.to_str().unwrap(),
            "--interval",
            "4s",
            "--video",
            "rerun",
        ],
        "",
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("frames: 48 added"));
    let out = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT count(*) FROM frames",
            "--format",
            "csv",
        ],
        "",
        dir.path(),
    );
    assert_eq!(text(&out.stdout), "count(*)\n96\n");

    // Errors exit 2 with the reason.
    let out = reeldb(
        &["ingest", "news.reeldb", "frames", "/no/such/dir"],
        "",
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read '/no/such/dir'"));
    let out = reeldb(
        &["ingest", "news.reeldb", "frames", ".", "--interval", "soon"],
        "",
        dir.path(),
    );
    assert!(text(&out.stderr).contains("not a duration"));
}

/// Issue 21, item 9: `--output` into the database directory destroyed the database, and a
/// failing statement truncated the file `--output` named.
#[test]
fn output_files_appear_only_when_complete_and_never_inside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    assert!(reeldb(&["news.reeldb"], SETUP, dir.path()).status.success());
    let manifest = dir
        .path()
        .join("news.reeldb/manifests/00000000000000000002.manifest");
    let before = std::fs::read(&manifest).unwrap();
    let into_db = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT 42 AS id",
            "--format",
            "csv",
            "--output",
            "news.reeldb/manifests/00000000000000000002.manifest",
        ],
        "",
        dir.path(),
    );
    assert_eq!(into_db.status.code(), Some(2), "{}", text(&into_db.stderr));
    assert!(
        text(&into_db.stderr).contains("inside the database directory"),
        "{}",
        text(&into_db.stderr)
    );
    assert_eq!(std::fs::read(&manifest).unwrap(), before);

    std::fs::write(dir.path().join("keep.csv"), "earlier result\n").unwrap();
    let failed = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT no_such_column FROM frames",
            "--format",
            "csv",
            "--output",
            "keep.csv",
        ],
        "",
        dir.path(),
    );
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.csv")).unwrap(),
        "earlier result\n"
    );
    let written = reeldb(
        &[
            "query",
            "news.reeldb",
            "SELECT id FROM frames ORDER BY id",
            "--format",
            "csv",
            "--output",
            "keep.csv",
        ],
        "",
        dir.path(),
    );
    assert!(written.status.success(), "{}", text(&written.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.csv")).unwrap(),
        "id\n1\n2\n3\n"
    );
    // No temporary files are left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// Issue 21, item 13: a WHERE of a thousand OR terms, or a thousand-term sum, overflowed a
/// worker thread's stack and aborted the process.
#[test]
fn deep_expressions_are_answered_not_aborted() {
    let dir = tempfile::tempdir().unwrap();
    assert!(reeldb(&["news.reeldb"], SETUP, dir.path()).status.success());
    let ors = (0..1000)
        .map(|i| format!("id = {i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sum = vec!["1"; 1000].join(" + ");
    for (sql, expected) in [
        (format!("SELECT count(*) FROM frames WHERE {ors}"), "3"),
        (format!("SELECT {sum} AS s"), "1000"),
    ] {
        let out = reeldb(
            &["query", "news.reeldb", &sql, "--format", "csv"],
            "",
            dir.path(),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().nth(1), Some(expected));
    }
}

/// Issue 21, item 1: `--format csv` of a struct (a map's coordinates) failed with "Nested type
/// Struct(...) is not supported in CSV". Structs become `name.field` columns; lists, vectors
/// and maps become text; the same in Markdown.
#[test]
fn csv_and_markdown_write_structs_lists_and_blobs() {
    let dir = tempfile::tempdir().unwrap();
    assert!(reeldb(&["news.reeldb"], SETUP, dir.path()).status.success());
    let sql = "SELECT id, named_struct('x', id * 1.5, 'y', -id) AS xy, [id, id + 1] AS pair, \
               CAST('ab' AS BYTEA) AS blob FROM frames WHERE id < 3 ORDER BY id";
    let csv = reeldb(
        &["query", "news.reeldb", sql, "--format", "csv"],
        "",
        dir.path(),
    );
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    assert_eq!(
        text(&csv.stdout),
        "id,xy.x,xy.y,pair,blob\n1,1.5,-1,\"[1, 2]\",\\x6162\n2,3.0,-2,\"[2, 3]\",\\x6162\n"
    );
    let markdown = reeldb(
        &["query", "news.reeldb", sql, "--format", "markdown"],
        "",
        dir.path(),
    );
    assert!(markdown.status.success(), "{}", text(&markdown.stderr));
    let markdown = text(&markdown.stdout);
    assert!(
        markdown.starts_with("| id | xy.x | xy.y | pair | blob |")
            && markdown.contains("| 1 | 1.5 | -1 | [1, 2] | \\x6162 |"),
        "{markdown}"
    );
}

/// Issue 21, item 15: Ctrl-C during CREATE VECTOR INDEX printed "Cancelled." while the build
/// went on, kept the writer lock and committed. The shell now says the statement will finish,
/// waits for it, and reports it done.
#[test]
fn ctrl_c_during_an_index_build_says_it_will_finish() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let setup = "CREATE TABLE t (id BIGINT, v VECTOR(2));
INSERT INTO t SELECT value, [CAST(value % 997 AS FLOAT), CAST(value % 991 AS FLOAT)] FROM generate_series(1, 100000);
";
    assert!(reeldb(&["news.reeldb"], setup, dir.path()).status.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeldb"))
        .args(["news.reeldb", "--shell", "--mode", "csv"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b".echo on\nCREATE VECTOR INDEX big ON t (v) WITH (metric = 'l2');\n")
        .unwrap();
    stdin.flush().unwrap();
    loop {
        line.clear();
        stdout.read_line(&mut line).unwrap();
        if line.starts_with("CREATE VECTOR INDEX") {
            break;
        }
    }
    // SAFETY: sending a signal to our own child process.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(sent, 0);
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("CREATE VECTOR INDEX cannot be stopped part-way")
            && !stderr.contains("Cancelled."),
        "{stderr}"
    );
    let listed = reeldb(
        &[
            "query",
            "news.reeldb",
            "SHOW VECTOR INDEXES",
            "--format",
            "csv",
        ],
        "",
        dir.path(),
    );
    assert!(
        text(&listed.stdout).contains("big,t,v"),
        "{}",
        text(&listed.stdout)
    );
}

/// The statements that add the fixtures' YuNet detector and MobileFaceNet encoder.
fn face_models(fixtures: &Path) -> String {
    let face = |file: &str| {
        fixtures
            .join("models/face")
            .join(file)
            .display()
            .to_string()
    };
    format!(
        "CREATE MODEL yunet FROM '{}';\nCREATE MODEL mobilefacenet FROM '{}' WITH (layout = \
         'face-encoder');\n",
        face("yunet_s_dynamic.onnx"),
        face("mobilefacenet_foamliu.onnx")
    )
}

/// `reeldb faces` on frames ingested from photos, with the real YuNet and MobileFaceNet from
/// the fixtures: faces found and encoded, a re-run skips them, a wrong model exits 2.
#[test]
fn faces_subcommand_scans_frames_and_a_rerun_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    for name in ["obama-1.jpg", "biden-1.jpg"] {
        std::fs::copy(fixtures.join("images").join(name), photos.join(name)).unwrap();
    }
    let setup = format!("{}INGEST FRAMES FROM 'photos';\n", face_models(&fixtures));
    let out = reeldb(&["news.reeldb"], &setup, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let scan = [
        "faces",
        "news.reeldb",
        "--encoder",
        "mobilefacenet",
        "--root",
        "photos",
    ];
    let out = reeldb(&scan, "", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("faces: 2 faces in 2 frames, 0 frames already done"),
        "{}",
        text(&out.stdout)
    );
    let out = reeldb(&scan, "", dir.path());
    assert!(
        text(&out.stdout).contains("0 faces in 0 frames, 2 frames already done"),
        "{}",
        text(&out.stdout)
    );
    let out = reeldb(
        &["query", "news.reeldb", "SELECT count(encoding) FROM faces"],
        "",
        dir.path(),
    );
    assert!(
        text(&out.stdout).contains("│                     2 │"),
        "{}",
        text(&out.stdout)
    );
    let out = reeldb(
        &["faces", "news.reeldb", "--detector", "mobilefacenet"],
        "",
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a face detector"),
        "{}",
        text(&out.stderr)
    );
}

/// Seed 002 from the command line on the fixture video: ingest, `reeldb faces`, CLUSTER, then
/// `reeldb export ... gephi`: the files are there, read back, and the nodes' images are the
/// crops written beside them.
#[test]
fn export_gephi_writes_the_face_graph_of_a_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    let video = fixtures.join("video/white-house-event.mp4");
    let setup = format!(
        "{}INGEST VIDEO FROM '{}' WITH (every = '0.5s');\n",
        face_models(&fixtures),
        video.display()
    );
    let out = reeldb(&["news.reeldb"], &setup, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let root = fixtures.join("video").display().to_string();
    let scan = [
        "faces",
        "news.reeldb",
        "--encoder",
        "mobilefacenet",
        "--root",
        &root,
    ];
    let out = reeldb(&scan, "", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cluster = "CLUSTER faces ON encoding USING dbscan (eps = 0.6, min_samples = 1, \
                   metric = 'euclidean') PARTITION BY video INTO person;\n";
    let out = reeldb(&["news.reeldb"], cluster, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let export = [
        "export",
        "news.reeldb",
        "gephi",
        "--out",
        "graph",
        "--group",
        "video",
    ];
    let out = reeldb(&export, "", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let graph = dir.path().join("graph");
    let nodes = std::fs::read_to_string(graph.join("nodes.csv")).unwrap();
    let edges = std::fs::read_to_string(graph.join("edges.csv")).unwrap();
    assert!(nodes.starts_with("Id,Label,Size,Image\n"), "{nodes}");
    assert!(
        edges.starts_with("Source,Target,Type,Weight,Frames\n"),
        "{edges}"
    );
    let node_rows: Vec<Vec<&str>> = nodes
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(node_rows.len() >= 2, "{nodes}");
    let mut total = 0.0;
    for row in &node_rows {
        // Ids name the video: labels were clustered per video.
        assert!(row[0].starts_with("white-house-event/"), "{row:?}");
        total += row[2].parse::<f64>().unwrap();
        let crop = std::fs::read(graph.join(row[3])).unwrap();
        assert_eq!(&crop[..2], [0xff, 0xd8], "{row:?} is not a JPEG");
    }
    assert!((total - 1.0).abs() < 1e-9, "PageRanks sum to {total}");
    let edge_rows: Vec<Vec<&str>> = edges
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(!edge_rows.is_empty(), "{edges}");
    assert!(edge_rows.iter().all(|r| r[2] == "Undirected"), "{edges}");
    assert_eq!(
        edge_rows[0][3], "1",
        "the strongest tie has weight 1: {edges}"
    );
    let gexf = std::fs::read_to_string(graph.join("graph.gexf")).unwrap();
    assert!(gexf.contains("http://gexf.net/1.3"), "{gexf}");
    // Not into the database.
    let inside = [
        "export",
        "news.reeldb",
        "gephi",
        "--out",
        "news.reeldb/graph",
    ];
    let out = reeldb(&inside, "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("inside the database directory"),
        "{}",
        text(&out.stderr)
    );
    // A label column that is not there is named.
    let wrong = [
        "export",
        "news.reeldb",
        "gephi",
        "--out",
        "g2",
        "--label",
        "nobody",
    ];
    let out = reeldb(&wrong, "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nobody"),
        "{}",
        text(&out.stderr)
    );
}

/// `COPY ... TO` image files from `reeldb query` and from a script: the demo's thumbnails as
/// one JPEG per frame with the files as CSV, and a failing COPY that exits 1 and writes
/// nothing.
#[test]
fn copy_to_image_files_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = reeldb(&["demo", "--db", "news.reeldb"], "", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = reeldb(
        &[
            "query",
            "news.reeldb",
            "COPY (SELECT video, frame, thumbnail FROM frames ORDER BY video, frame LIMIT 3) \
             TO 'thumbs/{video}_{frame}.jpg'",
            "--format",
            "csv",
        ],
        "",
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "file,bytes,converted", "{stdout}");
    assert_eq!(lines.len(), 4, "{stdout}");
    for line in &lines[1..] {
        let [file, bytes, converted] = line.split(',').collect::<Vec<_>>()[..] else {
            panic!("{line}")
        };
        assert!(
            file.starts_with("thumbs/") && file.ends_with(".jpg"),
            "{line}"
        );
        let written = std::fs::read(dir.path().join(file)).unwrap();
        assert_eq!(written.len().to_string(), bytes);
        assert_eq!(converted, "false");
        assert!(written.starts_with(&[0xFF, 0xD8, 0xFF]), "{file} is a JPEG");
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("thumbs"))
            .unwrap()
            .count(),
        3
    );

    let script = "COPY (SELECT frame, thumbnail FROM frames) TO 'sheet/all.png';\n";
    let out = reeldb(&["news.reeldb"], script, dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("rows, but 'sheet/all.png' names one file")
            && stderr.contains("'sheet/all_{frame}.png'"),
        "{stderr}"
    );
    assert!(!dir.path().join("sheet").exists());
}
