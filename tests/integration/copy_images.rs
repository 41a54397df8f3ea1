//! `COPY (query) TO 'dir/{column}.png'` on a real database: thumbnails of ingested fixture
//! photos written as JPEG (the stored bytes) and PNG (converted), one file or one per row, and
//! every refusal, each leaving the output directory as it was (no file, no temporary file, no
//! directory of its own).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arrow::array::AsArray;
use reeldb_tests::{fixture_image, rows, sql, sql_error};

/// A database whose `frames` table holds the fixture photos (JPEG and PNG), with thumbnails.
fn photo_frames(root: &Path) -> reeldb::Database {
    let photos = root.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for name in [
        "obama-1.jpg",
        "obama-2.jpg",
        "biden-1.jpg",
        "rocket.jpg",
        "coffee.png",
    ] {
        std::fs::copy(fixture_image(name), photos.join(name)).unwrap();
    }
    let db = reeldb::Database::open(root.join("news.reeldb")).unwrap();
    sql(&db, &format!("INGEST FRAMES FROM '{}'", photos.display()));
    db
}

/// The frame numbers, in order.
fn frames(db: &reeldb::Database) -> Vec<String> {
    rows(&sql(db, "SELECT frame FROM frames ORDER BY frame"))
        .into_iter()
        .map(|row| row[0].clone())
        .collect()
}

/// The bytes of one binary cell.
fn blob(db: &reeldb::Database, query: &str) -> Vec<u8> {
    let batches = sql(db, query);
    let column = batches[0].column(0);
    assert_eq!(batches[0].num_rows(), 1, "{query}");
    column.as_binary::<i32>().value(0).to_vec()
}

/// Every file and directory under `dir`, relative to it (temporary files included).
fn tree(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            found.insert(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() && !path.is_symlink() {
                pending.push(path);
            }
        }
    }
    found
}

/// Runs a COPY that must fail: returns its error, checking that `out` did not change.
fn refused(db: &reeldb::Database, out: &Path, statement: &str) -> String {
    let before = tree(out);
    let error = sql_error(db, statement);
    assert_eq!(tree(out), before, "{statement} left files behind: {error}");
    error
}

#[test]
fn one_thumbnail_is_written_as_stored_as_jpeg_and_converted_to_png() {
    let root = tempfile::tempdir().unwrap();
    let db = photo_frames(root.path());
    let out = root.path().join("out");
    let first = &frames(&db)[0];
    let cell = blob(
        &db,
        &format!("SELECT thumbnail FROM frames WHERE frame = {first}"),
    );

    // JPEG cells to a .jpg file: the bytes as they are, and the result names the file.
    let jpg = out.join("one.jpg");
    let result = rows(&sql(
        &db,
        &format!(
            "COPY (SELECT thumbnail FROM frames WHERE frame = {first}) TO '{}'",
            jpg.display()
        ),
    ));
    assert_eq!(
        result,
        [[
            jpg.display().to_string(),
            cell.len().to_string(),
            "false".to_string()
        ]]
    );
    assert_eq!(std::fs::read(&jpg).unwrap(), cell);

    // To .png: converted, the same picture (PNG keeps the JPEG's decoded pixels).
    let png = out.join("one.png");
    let result = rows(&sql(
        &db,
        &format!(
            "COPY (SELECT thumbnail FROM frames WHERE frame = {first}) TO '{}'",
            png.display()
        ),
    ));
    assert_eq!(result[0][2], "true");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(result[0][1], bytes.len().to_string());
    assert_eq!(
        image::guess_format(&bytes).unwrap(),
        image::ImageFormat::Png
    );
    let written = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let stored = image::load_from_memory(&cell).unwrap().to_rgb8();
    assert_eq!(written.dimensions(), stored.dimensions());
    let difference: u64 = written
        .as_raw()
        .iter()
        .zip(stored.as_raw())
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    let mean = difference as f64 / written.as_raw().len() as f64;
    assert!(mean < 1.0, "mean pixel difference {mean}");

    // An existing file is replaced; the extension's case does not matter; STORED AS picks
    // the format of a file whose name has none of an image.
    std::fs::write(&jpg, b"an older file").unwrap();
    let upper = out.join("ONE.JPEG");
    for target in [&jpg, &upper] {
        sql(
            &db,
            &format!(
                "COPY (SELECT thumbnail FROM frames WHERE frame = {first}) TO '{}'",
                target.display()
            ),
        );
        assert_eq!(std::fs::read(target).unwrap(), cell);
    }
    let stored_as = out.join("one.image");
    sql(
        &db,
        &format!(
            "COPY (SELECT thumbnail FROM frames WHERE frame = {first}) TO '{}' STORED AS PNG",
            stored_as.display()
        ),
    );
    assert_eq!(
        image::guess_format(&std::fs::read(&stored_as).unwrap()).unwrap(),
        image::ImageFormat::Png
    );
    assert_eq!(
        tree(&out),
        BTreeSet::from(["ONE.JPEG", "one.image", "one.jpg", "one.png"].map(String::from))
    );
}

#[test]
fn a_pattern_writes_one_file_per_row_named_by_its_values() {
    let root = tempfile::tempdir().unwrap();
    let db = photo_frames(root.path());
    let out = root.path().join("out");
    let frames = frames(&db);
    let video = rows(&sql(&db, "SELECT DISTINCT video FROM frames"))[0][0].clone();

    // Directories that do not exist are made; every thumbnail is a JPEG, so none is converted.
    let result = rows(&sql(
        &db,
        &format!(
            "COPY (SELECT video, frame, thumbnail FROM frames ORDER BY frame) TO '{}/{{video}}/f_{{frame}}.jpg'",
            out.display()
        ),
    ));
    let expected: Vec<String> = frames
        .iter()
        .map(|f| format!("{}/{video}/f_{f}.jpg", out.display()))
        .collect();
    assert_eq!(
        result.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(result.iter().all(|r| r[2] == "false"));
    for (frame, file) in frames.iter().zip(&expected) {
        let cell = blob(
            &db,
            &format!("SELECT thumbnail FROM frames WHERE frame = {frame}"),
        );
        assert_eq!(&std::fs::read(file).unwrap(), &cell, "{file}");
    }

    // `COPY table TO`: the table's one BLOB column; PNG files are converted.
    let all = out.join("all");
    let result = rows(&sql(
        &db,
        &format!("COPY frames TO '{}/{{frame}}.png'", all.display()),
    ));
    assert_eq!(result.len(), frames.len());
    assert!(result.iter().all(|r| r[2] == "true"));
    let names: BTreeSet<String> = frames.iter().map(|f| format!("{f}.png")).collect();
    assert_eq!(tree(&all), names);

    // Of several BLOB columns, the one named image; no rows, no files (and no directory).
    let result = rows(&sql(
        &db,
        &format!(
            "COPY (SELECT frame, thumbnail, thumbnail AS image FROM frames WHERE frame = {}) TO '{}/named/{{frame}}.jpg'",
            frames[0],
            out.display()
        ),
    ));
    assert_eq!(result.len(), 1);
    let result = sql(
        &db,
        &format!(
            "COPY (SELECT frame, thumbnail FROM frames WHERE false) TO '{}/none/{{frame}}.jpg'",
            out.display()
        ),
    );
    assert_eq!(result.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    assert!(!out.join("none").exists());
    assert!(tree(&out).iter().all(|name| !name.contains(".reeldb-copy")));
}

#[test]
fn rows_that_cannot_become_files_are_refused_by_row_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let db = photo_frames(root.path());
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let frames = frames(&db);
    let [f1, f2, f3, f4, _] = &frames[..] else {
        panic!("{frames:?}")
    };
    // A file a failed statement would have replaced keeps its content.
    std::fs::write(out.join(format!("{f1}.png")), b"keep me").unwrap();
    let o = out.display();
    let thumbnails = |case: &str| {
        format!(
            "SELECT frame, CASE {case} ELSE thumbnail END AS thumbnail FROM frames ORDER BY frame"
        )
    };

    // Not an image: the row, its name values, and what the cell starts with. The other rows
    // were converted and written under temporary names on other cores first.
    let error = refused(
        &db,
        &out,
        &format!(
            "COPY ({}) TO '{o}/{{frame}}.png'",
            thumbnails(&format!(
                "WHEN frame = {f3} THEN CAST('not an image' AS BYTEA)"
            ))
        ),
    );
    assert_eq!(
        error,
        format!(
            "row 3 (frame = {f3}): the image cell is not a PNG or JPEG image (it starts with \
             6e 6f 74 20 61 6e 20 69 .., \"not an i\")"
        )
    );
    // A cut-off image cannot be converted.
    let cell = blob(
        &db,
        &format!("SELECT thumbnail FROM frames WHERE frame = {f2}"),
    );
    let half: String = cell[..cell.len() / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let error = refused(
        &db,
        &out,
        &format!(
            "COPY ({}) TO '{o}/{{frame}}.png'",
            thumbnails(&format!("WHEN frame = {f2} THEN X'{half}'"))
        ),
    );
    assert!(
        error.starts_with(&format!(
            "row 2 (frame = {f2}): the JPEG image cannot be converted to PNG: the file ends \
             before its image data does"
        )),
        "{error}"
    );
    // NULL image.
    let error = refused(
        &db,
        &out,
        &format!(
            "COPY ({}) TO '{o}/new/{{frame}}.jpg'",
            thumbnails(&format!("WHEN frame = {f4} THEN NULL"))
        ),
    );
    assert_eq!(
        error,
        format!(
            "row 4 (frame = {f4}): the image cell (thumbnail) is NULL; leave such rows out \
             (WHERE thumbnail IS NOT NULL)"
        )
    );
    // A value that would climb out of the directory, and one that is NULL.
    let named = |value: &str| {
        format!(
            "COPY (SELECT CASE WHEN frame = {f2} THEN {value} ELSE CAST(frame AS TEXT) END AS name, \
             thumbnail FROM frames ORDER BY frame) TO '{o}/v/{{name}}.jpg'"
        )
    };
    let error = refused(&db, &out, &named("'../x'"));
    assert_eq!(
        error,
        "row 2 (name = '../x'): {name} is '../x', which holds a path separator ('/' or '\\'), \
         so it cannot be part of a file name; change it in the query (replace(), or another \
         column)"
    );
    let error = refused(&db, &out, &named("NULL"));
    assert!(
        error.starts_with("row 2 (name = NULL): {name} is NULL") && error.contains("IS NOT NULL"),
        "{error}"
    );
    // Two rows, one name.
    let error = refused(
        &db,
        &out,
        &format!(
            "COPY (SELECT video, thumbnail FROM frames ORDER BY frame) TO '{o}/d/{{video}}.jpg'"
        ),
    );
    assert_eq!(
        error,
        format!(
            "rows 1 (video = 'photos') and 2 (video = 'photos') both name the file \
             '{o}/d/photos.jpg'; put a column that tells them apart in the name"
        )
    );
    // One file, several rows (or none).
    let error = refused(
        &db,
        &out,
        &format!("COPY (SELECT frame, thumbnail FROM frames) TO '{o}/s/sheet.png'"),
    );
    assert_eq!(
        error,
        format!(
            "the query returned 5 rows, but '{o}/s/sheet.png' names one file; put a column in \
             the name to write one file per row, as in '{o}/s/sheet_{{frame}}.png'"
        )
    );
    let error = refused(
        &db,
        &out,
        &format!("COPY (SELECT thumbnail FROM frames WHERE false) TO '{o}/sheet.png'"),
    );
    assert!(error.contains("returned no rows"), "{error}");
    // Columns: an unknown placeholder, no image column, two of them.
    let error = refused(
        &db,
        &out,
        &format!("COPY (SELECT frame, thumbnail FROM frames) TO '{o}/{{clustr}}.png'"),
    );
    assert!(
        error.ends_with("has the placeholder {clustr}, but the query returns no column 'clustr'; its columns are frame, thumbnail"),
        "{error}"
    );
    let error = refused(
        &db,
        &out,
        &format!("COPY (SELECT frame FROM frames) TO '{o}/{{frame}}.png'"),
    );
    assert!(
        error.contains("but the query returns none (its columns: frame BIGINT)"),
        "{error}"
    );
    let error = refused(
        &db,
        &out,
        &format!(
            "COPY (SELECT frame, thumbnail, thumbnail AS t FROM frames) TO '{o}/{{frame}}.png'"
        ),
    );
    assert!(error.contains("returns 2 (thumbnail, t); select only the one to write, or name it image (thumbnail AS image)"), "{error}");
    // A target that is a directory; clauses an image copy does not take.
    std::fs::create_dir_all(out.join(format!("dir/{f1}.jpg"))).unwrap();
    let error = refused(
        &db,
        &out,
        &format!(
            "COPY (SELECT frame, thumbnail FROM frames ORDER BY frame) TO '{o}/dir/{{frame}}.jpg'"
        ),
    );
    assert!(
        error.starts_with(&format!(
            "row 1 (frame = {f1}): '{o}/dir/{f1}.jpg' is a directory"
        )),
        "{error}"
    );
    let error = refused(
        &db,
        &out,
        &format!("COPY (SELECT thumbnail FROM frames) TO '{o}/p.png' PARTITIONED BY (frame)"),
    );
    assert!(error.contains("PARTITIONED BY"), "{error}");
    let error = refused(
        &db,
        &out,
        &format!("COPY (SELECT thumbnail FROM frames) TO '{o}/p.jpg' OPTIONS (quality 50)"),
    );
    assert!(error.contains("OPTIONS (quality ...)"), "{error}");
    assert_eq!(
        std::fs::read(out.join(format!("{f1}.png"))).unwrap(),
        b"keep me"
    );
}

#[test]
fn nothing_is_written_inside_the_database_directory() {
    let root = tempfile::tempdir().unwrap();
    let db = photo_frames(root.path());
    let inside: PathBuf = root.path().join("news.reeldb");
    let before = tree(&inside);
    for target in [
        format!("{}/sheet.jpg", inside.display()),
        format!("{}/data/{{frame}}.jpg", inside.display()),
        format!("{}/../news.reeldb/x/{{frame}}.jpg", inside.display()),
    ] {
        let error = refused(
            &db,
            &inside,
            &format!("COPY (SELECT frame, thumbnail FROM frames LIMIT 1) TO '{target}'"),
        );
        assert!(error.contains("inside the database"), "{target}: {error}");
    }
    assert_eq!(tree(&inside), before);
}

#[test]
fn rows_are_written_batch_by_batch_and_a_late_error_removes_the_early_files() {
    let root = tempfile::tempdir().unwrap();
    let db = photo_frames(root.path());
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = out.display();
    // Batches of 4 rows: 20 rows (each photo 4 times) come in 5 of them.
    sql(&db, "SET datafusion.execution.batch_size = 4");
    let rows_of = |image: &str| {
        format!(
            "SELECT n, {image} AS thumbnail FROM (SELECT row_number() OVER (ORDER BY frame, k) \
             AS n, frame, thumbnail FROM frames CROSS JOIN (VALUES (1), (2), (3), (4)) AS t(k)) \
             ORDER BY n"
        )
    };
    let error = refused(
        &db,
        &out,
        &format!(
            "COPY ({}) TO '{o}/late/{{n}}.png'",
            rows_of("CASE WHEN n = 18 THEN CAST('late' AS BYTEA) ELSE thumbnail END")
        ),
    );
    assert!(
        error.starts_with("row 18 (n = 18): the image cell is not a PNG or JPEG image"),
        "{error}"
    );
    // A name taken in the first batch is refused in the last.
    let error = refused(
        &db,
        &out,
        &format!(
            "COPY (SELECT CASE WHEN n = 19 THEN 2 ELSE n END AS m, thumbnail FROM ({}) ORDER BY \
             n) TO '{o}/taken/{{m}}.jpg'",
            rows_of("thumbnail")
        ),
    );
    assert_eq!(
        error,
        format!(
            "rows 2 (m = 2) and 19 (m = 2) both name the file '{o}/taken/2.jpg'; put a column that tells them apart in the name"
        )
    );
    let written = rows(&sql(
        &db,
        &format!("COPY ({}) TO '{o}/all/{{n}}.jpg'", rows_of("thumbnail")),
    ));
    assert_eq!(written.len(), 20);
    let names: BTreeSet<String> = (1..=20).map(|n| format!("{n}.jpg")).collect();
    assert_eq!(tree(&out.join("all")), names);
}
