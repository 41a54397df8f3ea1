//! `reeldb model pull`, run as a real child process against an HTTP server this test starts
//! on loopback, serving the real MobileFaceNet and YuNet models from the fixtures: a good
//! pull (and its addition to a database), a pull of a model already there, and the failures
//! that must leave nothing behind: a wrong checksum, a broken-off transfer, a missing model
//! and a description that points outside the model's directory.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// What the server answers for a path.
#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 200 announcing this many bytes, then only the body given, then the connection closes.
    CutShort(u64, Vec<u8>),
    /// 200 announcing this many bytes, then only the body given, then nothing while the
    /// client keeps the connection open.
    Stall(u64, Vec<u8>),
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that answers GETs from a table of paths (404 for
/// others) and counts the requests per path.
struct Server {
    base_url: String,
    requests: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    fn start(routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(HashMap::new()));
        let counted = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &routes, &counted);
            }
        });
        Server { base_url, requests }
    }

    fn requests(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &HashMap<String, Reply>,
    requests: &Mutex<HashMap<String, usize>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    *requests.lock().unwrap().entry(path.clone()).or_default() += 1;
    let _ = match routes.get(&path) {
        Some(Reply::Body(body)) => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|_| stream.write_all(body)),
        Some(Reply::CutShort(announced, body)) => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .and_then(|_| stream.write_all(body)),
        Some(Reply::Stall(announced, body)) => stream
            .write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\n\r\n").as_bytes())
            .and_then(|_| stream.write_all(body))
            .and_then(|_| stream.flush())
            .map(|_| {
                // Until the client goes away.
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            }),
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
}

fn fixture(file: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/models/face")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A description of one file `model.onnx` with these bytes, checksum and options.
fn description(bytes: &[u8], sha: &str, options: &str) -> Reply {
    Reply::Body(
        format!(
            r#"{{"entry": "model.onnx", "options": {options},
                "files": [{{"path": "model.onnx", "bytes": {}, "sha256": "{sha}"}}]}}"#,
            bytes.len()
        )
        .into_bytes(),
    )
}

fn routes() -> HashMap<String, Reply> {
    let encoder = fixture("mobilefacenet_foamliu.onnx");
    let detector = fixture("yunet_s_dynamic.onnx");
    let mut routes = HashMap::new();
    let mut add = |name: &str, description: Reply, file: Reply| {
        routes.insert(format!("/{name}/reeldb-model.json"), description);
        routes.insert(format!("/{name}/model.onnx"), file);
    };
    add(
        "mobilefacenet",
        description(&encoder, &sha256(&encoder), r#"{"layout": "face-encoder"}"#),
        Reply::Body(encoder.clone()),
    );
    add(
        "yunet",
        description(&detector, &sha256(&detector), "{}"),
        Reply::Body(detector.clone()),
    );
    // The server has another file than the one described.
    let mut tampered = encoder.clone();
    tampered[1000] ^= 0xff;
    add(
        "tampered",
        description(&encoder, &sha256(&encoder), "{}"),
        Reply::Body(tampered),
    );
    // The transfer breaks off half-way.
    add(
        "cut",
        description(&encoder, &sha256(&encoder), "{}"),
        Reply::CutShort(encoder.len() as u64, encoder[..encoder.len() / 2].to_vec()),
    );
    // The server stops sending half-way and keeps the connection open (issue 21, item 17).
    add(
        "stalled",
        description(&encoder, &sha256(&encoder), "{}"),
        Reply::Stall(encoder.len() as u64, encoder[..encoder.len() / 2].to_vec()),
    );
    routes.insert(
        "/escape/reeldb-model.json".into(),
        Reply::Body(
            format!(
                r#"{{"files": [{{"path": "../../.bashrc", "bytes": 1, "sha256": "{}"}}]}}"#,
                "0".repeat(64)
            )
            .into_bytes(),
        ),
    );
    routes
}

fn reeldb(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reeldb"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("REELDB_MODEL_BASE_URL")
        .env_remove("REELDB_MODELS_DIR")
        .env_remove("XDG_CACHE_HOME")
        .output()
        .expect("start reeldb")
}

/// `reeldb model pull NAME --base-url .. --models-dir MODELS EXTRA...` in `cwd`.
fn pull(server: &Server, name: &str, models: &Path, extra: &[&str], cwd: &Path) -> Output {
    let mut args = vec![
        "model",
        "pull",
        name,
        "--base-url",
        &server.base_url,
        "--models-dir",
        models.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    reeldb(&args, cwd)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The entries of the models directory, hidden ones (staging) included.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_pulled_model_is_checked_kept_and_added_to_a_database() {
    let server = Server::start(routes());
    let dir = tempfile::tempdir().unwrap();
    let models: PathBuf = dir.path().join("models");
    let models_arg = models.to_str().unwrap();
    let into = ["--into", "news.reeldb", "--as", "faces"];
    let out = pull(&server, "mobilefacenet", &models, &into, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stored = models.join("mobilefacenet/model.onnx");
    assert_eq!(text(&out.stdout).lines().next(), stored.to_str());
    assert!(
        text(&out.stderr).contains("sha256 checked"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        fixture("mobilefacenet_foamliu.onnx")
    );
    assert_eq!(listing(&models), vec!["mobilefacenet"]);
    // Added with the description's options: a face encoder.
    let out = reeldb(&["model", "list", "news.reeldb"], dir.path());
    let shown = text(&out.stdout);
    assert!(
        shown.contains("faces") && shown.contains("face-encoder"),
        "{shown}"
    );

    // A second pull finds the model whole and downloads nothing; the base URL may come from
    // the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_reeldb"))
        .args(["model", "pull", "mobilefacenet", "--models-dir", models_arg])
        .env("REELDB_MODEL_BASE_URL", &server.base_url)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("already in"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(server.requests("/mobilefacenet/model.onnx"), 1);

    // A damaged local copy is downloaded again and replaced.
    std::fs::write(&stored, b"damaged").unwrap();
    let out = pull(&server, "mobilefacenet", &models, &[], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(server.requests("/mobilefacenet/model.onnx"), 2);
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        fixture("mobilefacenet_foamliu.onnx")
    );

    // A detector is recognised from the file itself.
    let into = ["--into", "news.reeldb"];
    let out = pull(&server, "yunet", &models, &into, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = reeldb(&["model", "list", "news.reeldb"], dir.path());
    assert!(
        text(&out.stdout).contains("face-detector"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn failed_pulls_say_why_and_leave_nothing_behind() {
    let server = Server::start(routes());
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let into = ["--into", "news.reeldb"];
    let size = fixture("mobilefacenet_foamliu.onnx").len();
    let cases = [
        ("tampered", "has SHA-256".to_string()),
        ("cut", format!("of {size} bytes")),
        ("nothing", "has no model 'nothing'".to_string()),
        ("escape", "not a plain relative path".to_string()),
        ("../up", "is not a model name".to_string()),
    ];
    for (name, expected) in cases {
        let out = pull(&server, name, &models, &into, dir.path());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(&expected), "{name}: {stderr}");
        assert!(
            listing(&models).is_empty(),
            "{name} left {:?}",
            listing(&models)
        );
        assert!(!dir.path().join("news.reeldb").exists(), "{name}");
    }
    // A stalled server is given up after the idle timeout, and nothing is kept.
    let out = pull(
        &server,
        "stalled",
        &models,
        &["--idle-timeout", "0.5"],
        dir.path(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sent nothing for 0.5 s"), "{stderr}");
    assert!(listing(&models).is_empty(), "{:?}", listing(&models));
    let out = pull(
        &server,
        "yunet",
        &models,
        &["--idle-timeout", "0"],
        dir.path(),
    );
    assert!(
        text(&out.stderr).contains("give a number of seconds above 0"),
        "{}",
        text(&out.stderr)
    );
    let out = reeldb(&["model", "pull", "mobilefacenet"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("REELDB_MODEL_BASE_URL"),
        "{}",
        text(&out.stderr)
    );
}

/// Issue 21, item 7: the README's way of serving models, run as written: the fixture face
/// models made a model source by `scripts/model_source.py`, served by Python's own HTTP
/// server (a real child process on loopback), pulled and added.
#[test]
fn a_model_source_made_by_the_script_and_served_by_any_http_server_is_pulled() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let face = repo.join("../shared/fixtures/models/face");
    let source = dir.path().join("models");
    for (name, file, options) in [
        ("yunet", "yunet_s_dynamic.onnx", vec![]),
        (
            "mobilefacenet",
            "mobilefacenet_foamliu.onnx",
            vec!["--option", "layout=face-encoder"],
        ),
    ] {
        let made = Command::new("python3")
            .arg(repo.join("scripts/model_source.py"))
            .arg(&source)
            .arg(name)
            .arg(face.join(file))
            .args(options)
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", text(&made.stderr));
    }
    let mut server = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&source)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ...": listening.
    let mut announced = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut announced)
        .unwrap();
    let url = announced
        .split(['(', ')'])
        .nth(1)
        .unwrap_or_else(|| panic!("{announced}"))
        .trim_end_matches('/')
        .to_string();
    let models = dir.path().join("pulled");
    let pulled = reeldb(
        &[
            "model",
            "pull",
            "mobilefacenet",
            "--base-url",
            &url,
            "--models-dir",
            models.to_str().unwrap(),
            "--into",
            "news.reeldb",
        ],
        dir.path(),
    );
    let yunet = reeldb(
        &[
            "model",
            "pull",
            "yunet",
            "--base-url",
            &url,
            "--models-dir",
            models.to_str().unwrap(),
            "--into",
            "news.reeldb",
        ],
        dir.path(),
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(pulled.status.success(), "{}", text(&pulled.stderr));
    assert!(yunet.status.success(), "{}", text(&yunet.stderr));
    let shown = reeldb(
        &["query", "news.reeldb", "SHOW MODELS", "--format", "csv"],
        dir.path(),
    );
    let shown = text(&shown.stdout);
    assert!(
        shown.contains("mobilefacenet,image,face-encoder")
            && shown.contains("yunet,face-detector,yunet"),
        "{shown}"
    );
}
