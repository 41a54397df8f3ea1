//! `DETECT FACES` end to end on the fixture video and photos with the real models (YuNet,
//! MobileFaceNet through ONNX Runtime) and a real ffmpeg: frames ingested, faces found in the
//! video's frames decoded again, identities clustered, a scan interrupted and resumed, and
//! the inputs it refuses.
//!
//! Needs ONNX Runtime and ffmpeg (`scripts/test` installs both).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use reeldb::query::faces::{FaceOptions, detect_faces};
use reeldb::query::ingest::IngestControl;
use reeldb_tests::{cancel_after, fixture_image, fixtures, rows, sql, sql_error};

use super::faces::database_with_face_models;

fn video_dir() -> PathBuf {
    fixtures().join("video")
}

/// The fixture video's frames every half second (19 of them) in a database with the face
/// models.
fn video_frames(dir: &tempfile::TempDir) -> reeldb::Database {
    let db = database_with_face_models(dir);
    let video = video_dir().join("white-house-event.mp4");
    sql(
        &db,
        &format!(
            "INGEST VIDEO FROM '{}' WITH (every = '0.5s')",
            video.display()
        ),
    );
    db
}

fn one(db: &reeldb::Database, query: &str) -> Vec<String> {
    rows(&sql(db, query)).remove(0)
}

/// The frames each identity of `column` appears in.
fn appearances(db: &reeldb::Database, column: &str) -> BTreeMap<i64, BTreeSet<i64>> {
    let mut seen: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for row in rows(&sql(db, &format!("SELECT {column}, frame FROM faces"))) {
        seen.entry(row[0].parse().unwrap())
            .or_default()
            .insert(row[1].parse().unwrap());
    }
    seen
}

#[test]
fn faces_of_a_broadcast_are_found_in_its_frames_and_grouped_into_identities() {
    let dir = tempfile::tempdir().unwrap();
    let db = video_frames(&dir);
    let frames: u64 = one(&db, "SELECT count(*) FROM frames")[0].parse().unwrap();
    assert!(frames >= 19, "{frames} frames");
    let report = one(
        &db,
        &format!(
            "DETECT FACES IN frames USING yunet, mobilefacenet INTO faces WITH (root = '{}')",
            video_dir().display()
        ),
    );
    assert_eq!(report[0], "faces");
    assert_eq!(report[1], frames.to_string(), "{report:?}");
    let found: u64 = report[2].parse().unwrap();
    assert!(found >= 35, "{report:?}");
    assert_eq!(&report[3..5], ["0", "0"], "{report:?}");
    // Every frame is recorded as read from the video itself, with its faces counted.
    assert_eq!(
        one(
            &db,
            "SELECT count(*), sum(faces), min(source), max(source) FROM faces_frames"
        ),
        [
            frames.to_string(),
            found.to_string(),
            "video".into(),
            "video".into()
        ]
    );
    // Boxes are centred inside the 640 × 360 frame (a detector's box may reach past its
    // edge), landmarks inside their box, crops JPEGs, and the encodings record their encoder.
    assert_eq!(
        one(
            &db,
            "SELECT count(*) FROM faces WHERE x + width / 2 BETWEEN 0 AND 640 \
             AND y + height / 2 BETWEEN 0 AND 360 AND width > 10 AND score >= 0.7 \
             AND landmarks[1] BETWEEN x AND x + width \
             AND substr(encode(crop, 'hex'), 1, 4) = 'ffd8'"
        ),
        [found.to_string()]
    );
    let shown = arrow::util::pretty::pretty_format_batches(&sql(&db, "SHOW MODELS"))
        .unwrap()
        .to_string();
    assert!(shown.contains("faces.encoding"), "{shown}");
    // The speaker alone on the stage (3 to 7 s: one large face a frame), then the audience
    // (7.5 s on: four or more faces a frame).
    let per_frame: BTreeMap<i64, (u64, f64)> = rows(&sql(
        &db,
        "SELECT frame, count(*), max(width) FROM faces GROUP BY frame",
    ))
    .into_iter()
    .map(|r| {
        (
            r[0].parse().unwrap(),
            (r[1].parse().unwrap(), r[2].parse().unwrap()),
        )
    })
    .collect();
    for frame in 6..=14 {
        let (faces, width) = per_frame[&frame];
        assert!(
            faces == 1 && width >= 70.0,
            "frame {frame}: {faces} faces, {width} px"
        );
    }
    for frame in 15..=18 {
        assert!(
            per_frame[&frame].0 >= 4,
            "frame {frame}: {:?}",
            per_frame[&frame]
        );
    }
    // A re-run finds every frame read.
    let again = one(
        &db,
        &format!(
            "DETECT FACES IN frames USING yunet, mobilefacenet INTO faces WITH (root = '{}')",
            video_dir().display()
        ),
    );
    assert_eq!(&again[1..5], ["0", "0", &frames.to_string(), "0"]);

    // Identities: the audience members keep theirs from frame to frame.
    sql(
        &db,
        "CLUSTER faces ON encoding USING dbscan (eps = 0.6, min_samples = 1, \
         metric = 'euclidean') PARTITION BY video INTO person",
    );
    let stable: Vec<i64> = appearances(&db, "person")
        .into_iter()
        .filter(|(person, frames)| *person >= 0 && (15..=18).all(|f| frames.contains(&f)))
        .map(|(person, _)| person)
        .collect();
    assert!(
        stable.len() >= 2,
        "identities seen in frames 15 to 18: {stable:?}"
    );
    // Who appears with whom: audience members seen together in frames 15 to 18 (and each in
    // the frame before) are linked, as seed 002 links them.
    let edges = rows(&sql(
        &db,
        "SELECT a, b, frames, weight FROM face_cooccurrence('faces', 'person', window => 1, \
         min_weight => 2, group => 'video')",
    ));
    let audience_edge = edges.iter().find(|row| {
        let (a, b): (i64, i64) = (row[0].parse().unwrap(), row[1].parse().unwrap());
        stable.contains(&a) && stable.contains(&b)
    });
    let edge = audience_edge.unwrap_or_else(|| panic!("no audience edge in {edges:?}"));
    assert!(edge[2].parse::<u64>().unwrap() >= 4, "{edge:?}");
}

#[test]
fn without_the_originals_the_thumbnails_are_scanned_in_full_frame_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    let db = video_frames(&dir);
    let report = one(
        &db,
        "DETECT FACES IN frames USING yunet INTO faces WITH (source = 'thumbnail')",
    );
    assert!(report[2].parse::<u64>().unwrap() > 0, "{report:?}");
    let batches = sql(
        &db,
        "SELECT min(source), max(x + width) FROM faces_frames, faces",
    );
    let row = rows(&batches).remove(0);
    assert_eq!(row[0], "thumbnail");
    // Found in 256 × 144 thumbnails, reported in 640 × 360 pixels.
    let right: f64 = row[1].parse().unwrap();
    assert!(right > 256.0 && right <= 642.0, "{row:?}");
    // Without `root`, the video is not found next to the working directory: the thumbnails
    // are read, and the report says how to read the originals.
    let report = one(&db, "DETECT FACES IN frames USING yunet INTO faces2");
    assert!(report[5].contains("root = "), "{report:?}");
    // No encoder: no encoding column.
    let err = sql_error(&db, "SELECT encoding FROM faces2");
    assert!(err.contains("encoding"), "{err}");
}

/// Photos as a frames table: the three Obama portraits and Biden's, as INGEST FRAMES keeps
/// them (files relative to the directory ingested).
fn photo_frames(dir: &tempfile::TempDir) -> (reeldb::Database, PathBuf) {
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    for name in ["obama-1.jpg", "obama-2.jpg", "obama-3.jpg", "biden-1.jpg"] {
        std::fs::copy(fixture_image(name), photos.join(name)).unwrap();
    }
    let db = database_with_face_models(dir);
    sql(&db, &format!("INGEST FRAMES FROM '{}'", photos.display()));
    (db, photos)
}

#[test]
fn an_interrupted_scan_keeps_its_commits_and_a_rerun_reads_only_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (db, photos) = photo_frames(&dir);
    let control = cancel_after(1);
    let mut options = FaceOptions::new("frames", "yunet", Some("mobilefacenet"), "faces");
    options.root = Some(photos.clone());
    options.commit_every = 1;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let session = db.session();
    let first = runtime
        .block_on(detect_faces(
            session.database(),
            session.models(),
            &options,
            &control,
        ))
        .unwrap();
    assert!(first.interrupted, "{first}");
    assert!(first.frames >= 1 && first.frames < 4, "{first}");
    let done_first: u64 = one(&db, "SELECT count(*) FROM faces_frames")[0]
        .parse()
        .unwrap();
    assert_eq!(done_first, first.frames);

    let rest = runtime
        .block_on(detect_faces(
            session.database(),
            session.models(),
            &options,
            &IngestControl::default(),
        ))
        .unwrap();
    assert!(!rest.interrupted);
    assert_eq!(
        (rest.frames, rest.already_done),
        (4 - done_first, done_first)
    );
    assert_eq!(
        one(
            &db,
            "SELECT count(*), count(DISTINCT file), min(source) FROM faces_frames"
        ),
        ["4", "4", "file"]
    );
    // One face a portrait, each read once; Obama's three portraits are one identity, apart
    // from Biden's.
    assert_eq!(one(&db, "SELECT count(*) FROM faces"), ["4"]);
    sql(
        &db,
        "CLUSTER faces ON encoding USING dbscan (eps = 0.9, min_samples = 1, \
         metric = 'euclidean') INTO person",
    );
    let people: BTreeMap<String, i64> = rows(&sql(&db, "SELECT file, person FROM faces"))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    assert_eq!(people["obama-1.jpg"], people["obama-2.jpg"], "{people:?}");
    assert_eq!(people["obama-1.jpg"], people["obama-3.jpg"], "{people:?}");
    assert_ne!(people["obama-1.jpg"], people["biden-1.jpg"], "{people:?}");
}

#[test]
fn detect_faces_refuses_what_it_cannot_scan_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (db, photos) = photo_frames(&dir);
    let root = photos.display();
    let cases = [
        (
            "DETECT FACES IN nowhere USING yunet INTO faces".to_string(),
            "no table 'nowhere'",
        ),
        (
            "DETECT FACES IN frames USING mobilefacenet INTO faces".into(),
            "not a face detector",
        ),
        (
            "DETECT FACES IN frames USING yunet, ultraface INTO faces".into(),
            "makes no embeddings",
        ),
        (
            "DETECT FACES IN frames USING yunet, builtin INTO faces".into(),
            "not a face encoder",
        ),
        (
            "DETECT FACES IN frames USING yunet INTO frames".into(),
            "its own frames table",
        ),
        (
            format!(
                "DETECT FACES IN frames USING yunet INTO faces WITH (root = '{root}', speed = 2)"
            ),
            "speed",
        ),
        (
            "DETECT FACES IN frames USING yunet INTO faces WITH (source = 'camera')".into(),
            "'original'",
        ),
        (
            "DETECT FACES IN frames USING yunet INTO faces WITH (commit_every = 0)".into(),
            "above 0",
        ),
        (
            "DETECT FACES IN frames USING yunet INTO faces WITH (ffmpeg = '/bin/sh')".into(),
            "REELDB_FFMPEG",
        ),
        ("DETECT FACES IN frames USING yunet".into(), "INTO"),
    ];
    for (statement, expected) in cases {
        let err = sql_error(&db, &statement);
        assert!(err.contains(expected), "{statement}: {err}");
    }
    // A table of something else than frames, and one whose frames have no image at all.
    sql(&db, "CREATE TABLE words (word TEXT)");
    let err = sql_error(&db, "DETECT FACES IN words USING yunet INTO faces");
    assert!(err.contains("not a frames table"), "{err}");
    sql(
        &db,
        "CREATE TABLE bare AS SELECT 'v' AS video, 1::BIGINT AS frame, 'gone.jpg' AS file",
    );
    let err = sql_error(&db, "DETECT FACES IN bare USING yunet INTO faces");
    assert!(
        err.contains("neither a readable file") && err.contains("root"),
        "{err}"
    );
    // A scan into a table of faces encoded by another encoder is refused.
    sql(
        &db,
        &format!("DETECT FACES IN frames USING yunet INTO plain WITH (root = '{root}')"),
    );
    let err = sql_error(
        &db,
        &format!(
            "DETECT FACES IN frames USING yunet, mobilefacenet INTO plain WITH (root = '{root}')"
        ),
    );
    assert!(err.contains("another table"), "{err}");
    // Nothing of the refused statements was written.
    let tables = rows(&sql(&db, "SHOW TABLES"));
    let names: BTreeSet<&str> = tables.iter().map(|r| r[2].as_str()).collect();
    assert!(!names.contains("faces"), "{names:?}");
}

#[test]
fn an_unreadable_frame_is_reported_and_tried_again_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (db, photos) = photo_frames(&dir);
    // The ingested file is damaged after ingest: its thumbnail is there, but the original is
    // what the scan reads.
    let damaged = photos.join("obama-2.jpg");
    let bytes = std::fs::read(&damaged).unwrap();
    std::fs::write(&damaged, &bytes[..2000]).unwrap();
    let root = photos.display();
    let report = one(
        &db,
        &format!("DETECT FACES IN frames USING yunet INTO faces WITH (root = '{root}')"),
    );
    assert_eq!(&report[1..5], ["3", "3", "0", "1"], "{report:?}");
    assert!(report[5].contains("obama-2.jpg"), "{report:?}");
    std::fs::write(&damaged, &bytes).unwrap();
    let again = one(
        &db,
        &format!("DETECT FACES IN frames USING yunet INTO faces WITH (root = '{root}')"),
    );
    assert_eq!(&again[1..5], ["1", "1", "3", "0"], "{again:?}");
}
