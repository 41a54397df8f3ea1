//! The picture functions checked on their pixels, without golden files: a contact sheet's
//! cells are its thumbnails, an image cloud puts each image where its coordinates say,
//! scatter colours follow labels, heatmap colours grow with the value, timeline lanes hold
//! their labels; and every bad input fails with an error that names it.

use arrow::array::{Array, AsArray, RecordBatch};
use image::imageops::FilterType;
use image::{Rgb, RgbImage};
use reeldb_tests::{fixture_image, rows, sql, sql_error};
use reeldb_udf::picture::image_cell::PLACEHOLDER;
use reeldb_udf::picture::palette::{NOISE, category};

fn database() -> (tempfile::TempDir, reeldb::Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("pictures.reeldb")).unwrap();
    (dir, db)
}

/// The fixture photos as a frames table with real thumbnails, ingested in two parts so
/// the table has several files (and aggregates run in partial and final steps).
fn photo_frames(dir: &tempfile::TempDir) -> reeldb::Database {
    let db = reeldb::Database::open(dir.path().join("photos.reeldb")).unwrap();
    let names = [
        "astronaut.png",
        "biden-1.jpg",
        "chelsea.png",
        "coffee.png",
        "hubble_deep_field.jpg",
        "motorcycle_left.png",
        "obama-1.jpg",
        "obama-2.jpg",
        "obama-3.jpg",
        "rocket.jpg",
    ];
    for (part, names) in names.chunks(5).enumerate() {
        let photos = dir.path().join(format!("photos-{part}"));
        std::fs::create_dir(&photos).unwrap();
        for name in names {
            std::fs::copy(fixture_image(name), photos.join(name)).unwrap();
        }
        sql(&db, &format!("INGEST FRAMES FROM '{}'", photos.display()));
    }
    db
}

/// The PNG in the first cell of `batches`, decoded.
fn picture(batches: &[RecordBatch]) -> RgbImage {
    let column = batches[0].column(0);
    let bytes = column.as_binary::<i32>().value(0);
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    image::load_from_memory(bytes).unwrap().to_rgb8()
}

fn blobs(batches: &[RecordBatch]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for batch in batches {
        let column = batch.column(0).as_binary::<i32>();
        for row in 0..column.len() {
            out.push(column.value(row).to_vec());
        }
    }
    out
}

/// The mean absolute difference per channel of `picture`'s region at (`x`, `y`) and `image`.
fn difference(picture: &RgbImage, x: u32, y: u32, image: &RgbImage) -> f64 {
    let mut total = 0u64;
    for (ix, iy, pixel) in image.enumerate_pixels() {
        let other = picture.get_pixel(x + ix, y + iy);
        for c in 0..3 {
            total += (pixel[c] as i64 - other[c] as i64).unsigned_abs();
        }
    }
    total as f64 / (image.width() * image.height() * 3) as f64
}

/// `image` fitted into `w` × `h` with its aspect kept, as a sheet's cell shows it.
fn fitted(image: &RgbImage, w: u32, h: u32) -> RgbImage {
    let scale = f64::min(
        w as f64 / image.width() as f64,
        h as f64 / image.height() as f64,
    );
    let fw = ((image.width() as f64 * scale).round() as u32).clamp(1, w);
    let fh = ((image.height() as f64 * scale).round() as u32).clamp(1, h);
    image::imageops::resize(image, fw, fh, FilterType::Triangle)
}

#[test]
fn a_contact_sheet_is_its_thumbnails_in_order_in_a_grid() {
    let dir = tempfile::tempdir().unwrap();
    let db = photo_frames(&dir);
    let thumbnails: Vec<RgbImage> = blobs(&sql(&db, "SELECT thumbnail FROM frames ORDER BY file"))
        .iter()
        .map(|bytes| image::load_from_memory(bytes).unwrap().to_rgb8())
        .collect();
    assert_eq!(thumbnails.len(), 10);
    let (columns, cell_w, cell_h, gap) = (4u32, 120u32, 90u32, 3u32);
    let sheet = picture(&sql(
        &db,
        &format!(
            "SELECT contact_sheet(thumbnail, columns => {columns}, cell_width => {cell_w}, \
             cell_height => {cell_h}, gap => {gap} ORDER BY file) FROM frames"
        ),
    ));
    // 4 columns, 3 rows.
    assert_eq!(
        sheet.dimensions(),
        (4 * cell_w + 5 * gap, 3 * cell_h + 4 * gap)
    );
    for (index, thumbnail) in thumbnails.iter().enumerate() {
        let cell = fitted(thumbnail, cell_w, cell_h);
        let x = gap + (index as u32 % columns) * (cell_w + gap) + (cell_w - cell.width()) / 2;
        let y = gap + (index as u32 / columns) * (cell_h + gap) + (cell_h - cell.height()) / 2;
        let diff = difference(&sheet, x, y, &cell);
        assert!(
            diff < 1.0,
            "cell {index} differs from its thumbnail by {diff}"
        );
        // Not just any image: another thumbnail does not match this cell.
        let other = fitted(&thumbnails[(index + 1) % thumbnails.len()], cell_w, cell_h);
        if other.dimensions() == cell.dimensions() {
            assert!(
                difference(&sheet, x, y, &other) > 5.0,
                "cell {index} matches another"
            );
        }
    }
    // The cells after the last are background.
    assert_eq!(
        *sheet.get_pixel(sheet.width() - 5, sheet.height() - 5),
        Rgb([255, 255, 255])
    );

    // ORDER BY DESC reverses the grid: the first cell is the last thumbnail.
    let reversed = picture(&sql(
        &db,
        &format!(
            "SELECT contact_sheet(thumbnail, columns => {columns}, cell_width => {cell_w}, \
             cell_height => {cell_h}, gap => {gap} ORDER BY file DESC) FROM frames"
        ),
    ));
    let last = fitted(&thumbnails[9], cell_w, cell_h);
    let diff = difference(
        &reversed,
        gap + (cell_w - last.width()) / 2,
        gap + (cell_h - last.height()) / 2,
        &last,
    );
    assert!(diff < 1.0, "{diff}");
}

#[test]
fn captions_are_drawn_on_their_cells_and_groups_make_one_sheet_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = photo_frames(&dir);
    let plain = picture(&sql(
        &db,
        "SELECT contact_sheet(thumbnail, cell_width => 160, cell_height => 120 ORDER BY file) \
         FROM frames",
    ));
    let captioned = picture(&sql(
        &db,
        "SELECT contact_sheet(thumbnail, caption => 'Sim: ' || round(0.5, 3), cell_width => 160, \
         cell_height => 120 ORDER BY file) FROM frames",
    ));
    assert_eq!(plain.dimensions(), captioned.dimensions());
    // The caption band darkens the top-left corner of the first cell, and only there.
    let band = difference(
        &captioned,
        2,
        2,
        &image::imageops::crop_imm(&plain, 2, 2, 40, 12).to_image(),
    );
    assert!(band > 20.0, "{band}");
    let elsewhere = difference(
        &captioned,
        60,
        60,
        &image::imageops::crop_imm(&plain, 60, 60, 60, 40).to_image(),
    );
    assert_eq!(elsewhere, 0.0);

    // One sheet per group, each as large as its group.
    let sheets = sql(
        &db,
        "SELECT file LIKE 'obama%' AS obama, contact_sheet(thumbnail, columns => 10, \
         cell_width => 50, cell_height => 50, gap => 0) AS sheet FROM frames GROUP BY 1 ORDER BY 1",
    );
    let widths: Vec<u32> = blobs(
        &sheets
            .iter()
            .map(|b| b.project(&[1]).unwrap())
            .collect::<Vec<_>>(),
    )
    .iter()
    .map(|bytes| image::load_from_memory(bytes).unwrap().width())
    .collect();
    assert_eq!(widths, [7 * 50, 3 * 50]);
}

#[test]
fn a_null_image_is_a_placeholder_and_bytes_that_are_no_image_are_an_error() {
    let (_dir, db) = database();
    let red = png(32, 24, Rgb([255, 0, 0]));
    sql(&db, "CREATE TABLE t (id BIGINT, image BYTEA)");
    sql(
        &db,
        &format!(
            "INSERT INTO t VALUES (1, X'{}'), (2, NULL), (3, X'{}')",
            hex(&red),
            hex(&red)
        ),
    );
    let sheet = picture(&sql(
        &db,
        "SELECT contact_sheet(image, cell_width => 64, cell_height => 48, gap => 0, columns => 3 \
         ORDER BY id) FROM t",
    ));
    assert_eq!(sheet.dimensions(), (192, 48));
    assert_eq!(*sheet.get_pixel(32, 24), Rgb([255, 0, 0]));
    assert_eq!(*sheet.get_pixel(64 + 3, 3), PLACEHOLDER);
    assert_eq!(*sheet.get_pixel(128 + 32, 24), Rgb([255, 0, 0]));

    sql(&db, "INSERT INTO t VALUES (4, X'00010203')");
    let error = sql_error(&db, "SELECT contact_sheet(image, id ORDER BY id) FROM t");
    assert!(
        error.contains("image 4 ('4') is not an image") && error.contains("00 01 02 03"),
        "{error}"
    );
    let error = sql_error(
        &db,
        "SELECT image_cloud(image, id, id) FROM t WHERE id <> 2",
    );
    assert!(error.contains("is not an image"), "{error}");
}

#[test]
fn a_sheet_too_large_is_refused_before_its_images_fill_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = photo_frames(&dir);
    // 100,000 real thumbnails (10 frames × 10,000): refused on the first batch.
    let error = sql_error(
        &db,
        "SELECT contact_sheet(f.thumbnail) FROM frames f CROSS JOIN (SELECT * FROM range(10000)) r",
    );
    assert!(error.contains("too many for one sheet"), "{error}");
    assert!(
        error.contains("megapixels") && error.contains("LIMIT"),
        "{error}"
    );
    // Options out of bounds, unknown options, and misused arguments.
    for (statement, expected) in [
        (
            "SELECT contact_sheet(thumbnail, cell_width => 100000) FROM frames",
            "cell_width must be from 8 to 4096",
        ),
        (
            "SELECT contact_sheet(thumbnail, colums => 3) FROM frames",
            "unknown parameter 'colums'",
        ),
        (
            "SELECT contact_sheet(file) FROM frames",
            "must be image bytes",
        ),
        (
            "SELECT contact_sheet(thumbnail, background => 'mauve') FROM frames",
            "must be a colour",
        ),
        (
            "SELECT image_cloud(thumbnail, frame) FROM frames",
            "takes the row arguments (image, x, y)",
        ),
        (
            "SELECT image_cloud(thumbnail, frame, frame, size => 99999) FROM frames",
            "size must be from 64 to 16384",
        ),
    ] {
        let error = sql_error(&db, statement);
        assert!(error.contains(expected), "{statement}: {error}");
    }
}

/// A `width` × `height` PNG of one colour.
fn png(width: u32, height: u32, colour: Rgb<u8>) -> Vec<u8> {
    let mut bytes = Vec::new();
    RgbImage::from_pixel(width, height, colour)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_image_cloud_puts_each_image_at_its_coordinates() {
    let (_dir, db) = database();
    sql(
        &db,
        "CREATE TABLE points (id BIGINT, image BYTEA, x DOUBLE, y DOUBLE)",
    );
    let tiles = [
        (1, Rgb([255, 0, 0]), 0.0, 0.0),
        (2, Rgb([0, 255, 0]), 10.0, 0.0),
        (3, Rgb([0, 0, 255]), 0.0, 10.0),
        (4, Rgb([255, 255, 0]), 5.0, 5.0),
    ];
    for (id, colour, x, y) in tiles {
        sql(
            &db,
            &format!(
                "INSERT INTO points VALUES ({id}, X'{}', {x}, {y})",
                hex(&png(40, 40, colour))
            ),
        );
    }
    let cloud = picture(&sql(
        &db,
        "SELECT image_cloud(image, x, y, size => 400, thumb => 40 ORDER BY id) FROM points",
    ));
    assert_eq!(cloud.dimensions(), (400, 400));
    // The drawable square keeps thumb / 2 + 2 = 22 pixels from the edges; y grows upward.
    let at = |x: f64, y: f64| {
        let scale = (400.0 - 44.0) / 10.0;
        let (px, py) = (200.0 + (x - 5.0) * scale, 200.0 - (y - 5.0) * scale);
        *cloud.get_pixel(px.round() as u32, py.round() as u32)
    };
    for (_, colour, x, y) in tiles {
        assert_eq!(at(x, y), colour, "the tile at ({x}, {y})");
    }
    // Far from every point: background.
    assert_eq!(*cloud.get_pixel(200, 30), Rgb([255, 255, 255]));

    // Drawn in ORDER BY order: the last lies on top where two overlap.
    sql(
        &db,
        &format!(
            "INSERT INTO points VALUES (5, X'{}', 5.0, 5.0)",
            hex(&png(40, 40, Rgb([0, 0, 0])))
        ),
    );
    let top = |order: &str| {
        let cloud = picture(&sql(
            &db,
            &format!(
                "SELECT image_cloud(image, x, y, size => 400, thumb => 40 ORDER BY id {order}) FROM points"
            ),
        ));
        *cloud.get_pixel(200, 200)
    };
    assert_eq!(top("ASC"), Rgb([0, 0, 0]));
    assert_eq!(top("DESC"), Rgb([255, 255, 0]));

    sql(
        &db,
        &format!(
            "INSERT INTO points VALUES (6, X'{}', NULL, 1.0)",
            hex(&png(4, 4, Rgb([0, 0, 0])))
        ),
    );
    let error = sql_error(
        &db,
        "SELECT image_cloud(image, x, y ORDER BY id) FROM points",
    );
    assert!(
        error.contains("image 6 has no finite coordinates"),
        "{error}"
    );
}

/// The pixels of `picture` of exactly `colour`.
fn pixels_of(picture: &RgbImage, colour: Rgb<u8>) -> Vec<(u32, u32)> {
    picture
        .enumerate_pixels()
        .filter(|(_, _, p)| **p == colour)
        .map(|(x, y, _)| (x, y))
        .collect()
}

#[test]
fn scatter_colours_each_point_by_its_label_and_noise_grey() {
    let (_dir, db) = database();
    sql(&db, "CREATE TABLE p (x DOUBLE, y DOUBLE, label BIGINT)");
    let mut values = Vec::new();
    for i in 0..20 {
        let t = i as f64 / 20.0;
        values.push(format!("({t}, {t}, 0)"));
        values.push(format!("({}, {t}, 1)", 9.0 + t));
        values.push(format!("(5.0, {}, -1)", 9.0 + t));
    }
    sql(&db, &format!("INSERT INTO p VALUES {}", values.join(", ")));
    let chart = picture(&sql(
        &db,
        "SELECT scatter(x, y, label, width => 600, height => 400) FROM p",
    ));
    assert_eq!(chart.dimensions(), (600, 400));
    // Clusters 0 and 1 lie low, left and right; noise high in the middle. The legend (top
    // right) uses the same colours, so only the lower half is looked at.
    let low = |colour| -> Vec<(u32, u32)> {
        pixels_of(&chart, colour)
            .into_iter()
            .filter(|&(_, y)| y > 200)
            .collect()
    };
    let zero = low(category(0));
    let one = low(category(1));
    assert!(
        zero.len() > 50 && one.len() > 50,
        "{} {}",
        zero.len(),
        one.len()
    );
    assert!(
        zero.iter().all(|&(x, _)| x < 200),
        "label 0 drawn right of the left third"
    );
    assert!(
        one.iter().all(|&(x, _)| x > 400),
        "label 1 drawn left of the right third"
    );
    let noise = pixels_of(&chart, NOISE);
    assert!(
        noise
            .iter()
            .any(|&(x, y)| y < 150 && (250..350).contains(&x)),
        "no grey noise"
    );
    // A colour of no label is not used.
    assert!(pixels_of(&chart, category(2)).is_empty());
}

#[test]
fn heatmap_colours_grow_with_the_value() {
    let (_dir, db) = database();
    sql(&db, "CREATE TABLE h (r TEXT, c TEXT, v DOUBLE)");
    sql(
        &db,
        "INSERT INTO h VALUES ('x', 'a', 0.1), ('x', 'b', 0.3), ('x', 'c', 0.5), ('x', 'd', 0.7), \
         ('x', 'e', 0.9)",
    );
    let map = picture(&sql(
        &db,
        "SELECT heatmap(r, c, v, width => 700, height => 200, annotate => false) FROM h",
    ));
    // Across the middle of the plot (the colour bar is the last 90 pixels): five runs of
    // one colour each, growing lighter from left to right.
    let y = map.height() / 2;
    let mut runs: Vec<(Rgb<u8>, u32)> = Vec::new();
    for x in 0..map.width() - 90 {
        let pixel = *map.get_pixel(x, y);
        match runs.last_mut() {
            Some((colour, length)) if *colour == pixel => *length += 1,
            _ => runs.push((pixel, 1)),
        }
    }
    let cells: Vec<Rgb<u8>> = runs
        .into_iter()
        .filter(|(colour, length)| *length > 30 && *colour != Rgb([255, 255, 255]))
        .map(|(colour, _)| colour)
        .collect();
    assert_eq!(cells.len(), 5, "{cells:?}");
    let luminance =
        |c: &Rgb<u8>| 0.2126 * c[0] as f64 + 0.7152 * c[1] as f64 + 0.0722 * c[2] as f64;
    assert!(
        cells
            .windows(2)
            .all(|w| luminance(&w[1]) > luminance(&w[0])),
        "{cells:?}"
    );

    sql(&db, "INSERT INTO h VALUES ('x', 'a', 0.2)");
    let error = sql_error(&db, "SELECT heatmap(r, c, v) FROM h");
    assert!(
        error.contains("(row x, column a) is given twice"),
        "{error}"
    );
}

#[test]
fn a_timeline_draws_each_label_in_its_lane_when_it_holds() {
    let (_dir, db) = database();
    sql(&db, "CREATE TABLE frames (ts DOUBLE, label TEXT)");
    let values: Vec<String> = (0..20)
        .map(|i| {
            format!(
                "({}, '{}')",
                i as f64 * 4.0,
                if i < 10 { "studio" } else { "weather" }
            )
        })
        .collect();
    sql(
        &db,
        &format!("INSERT INTO frames VALUES {}", values.join(", ")),
    );
    let chart = picture(&sql(
        &db,
        "SELECT timeline(ts, label, width => 800) FROM frames",
    ));
    let mean = |points: &[(u32, u32)]| {
        let n = points.len().max(1) as f64;
        (
            points.iter().map(|p| p.0 as f64).sum::<f64>() / n,
            points.iter().map(|p| p.1 as f64).sum::<f64>() / n,
        )
    };
    let studio = pixels_of(&chart, category(0));
    let weather = pixels_of(&chart, category(1));
    assert!(studio.len() > 1000 && weather.len() > 1000);
    let (studio, weather) = (mean(&studio), mean(&weather));
    // Studio first (left) in the upper lane, weather later in the lower one.
    assert!(
        studio.0 < weather.0 && studio.1 < weather.1,
        "{studio:?} {weather:?}"
    );
    assert_eq!(
        rows(&sql(
            &db,
            "SELECT timeline(ts, label) IS NULL FROM frames WHERE false"
        )),
        [["true"]]
    );
}

#[test]
fn every_picture_refuses_what_it_cannot_draw_and_says_what_to_change() {
    let (_dir, db) = database();
    sql(
        &db,
        "CREATE TABLE t (id BIGINT, image BYTEA, label TEXT, v DOUBLE)",
    );
    let red = png(32, 24, Rgb([255, 0, 0]));
    sql(
        &db,
        &format!(
            "INSERT INTO t VALUES (1, X'{}', NULL, NULL), (2, X'{}', 'a', 1.0)",
            hex(&red[..red.len() / 2]),
            hex(&red)
        ),
    );
    for (statement, expected) in [
        // A cut-off image: its format is known, its pixels are not all there.
        (
            "SELECT contact_sheet(image ORDER BY id) FROM t",
            "image 1 cannot be decoded",
        ),
        // Too many rows, each refused as the rows arrive (NULL images cost nothing to hold).
        (
            "SELECT image_cloud(CAST(NULL AS BYTEA), 1.0, 1.0) FROM range(50001)",
            "too many for one cloud",
        ),
        (
            "SELECT scatter(value, value) FROM range(2000001)",
            "too many for one chart",
        ),
        (
            "SELECT heatmap(value, value, 1.0) FROM range(250001)",
            "too many for one heatmap",
        ),
        (
            "SELECT timeline(value, 'a') FROM range(1000001)",
            "too many for one timeline",
        ),
        (
            "SELECT timeline(value, value) FROM range(201)",
            "201 labels are too many lanes",
        ),
        // Nothing to draw, or a cell without its labels.
        (
            "SELECT scatter(v, v) FROM t WHERE id = 1",
            "no row has both coordinates",
        ),
        (
            "SELECT timeline(v, label) FROM t WHERE id = 1",
            "no row has both a time and a label",
        ),
        (
            "SELECT heatmap(label, label, v) FROM t",
            "has a NULL row or column label",
        ),
        (
            "SELECT heatmap(label, label, v, min => 2, max => 1) FROM t WHERE id = 2",
            "max (1) must be above min (2)",
        ),
        (
            "SELECT scatter(v, v, width => 10) FROM t",
            "width must be from 200 to 8192",
        ),
    ] {
        let error = sql_error(&db, statement);
        assert!(error.contains(expected), "{statement}: {error}");
    }
}
