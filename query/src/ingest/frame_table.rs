//! The frames table that ingest fills: its columns, the check that an existing table can take
//! ingested rows, and what ingest reads back from it (the keys of the frames already in it,
//! a video's frame times), straight from the snapshot's Parquet files.
//!
//! | column      | type                     | what                                              |
//! |-------------|--------------------------|---------------------------------------------------|
//! | `video`     | TEXT                     | the video (broadcast) the frame belongs to        |
//! | `frame`     | BIGINT                   | its number in the video (NULL when unknown)       |
//! | `ts`        | DOUBLE                   | seconds from the start of the video               |
//! | `time`      | TIMESTAMP (ms, UTC)      | wall-clock time, where the broadcast start is known |
//! | `station`   | TEXT                     | broadcaster (TV News Archive names)               |
//! | `show`      | TEXT                     | show (TV News Archive names)                      |
//! | `file`      | TEXT                     | image file (relative to the ingested directory) or video file |
//! | `width`     | INT                      | the frame's size in pixels                        |
//! | `height`    | INT                      |                                                   |
//! | `phash`     | BIGINT                   | perceptual hash, as `phash()` computes it         |
//! | `thumbnail` | BLOB                     | JPEG, longest side 256 px                         |
//! | one per model, named after it | VECTOR(dim) | the model's embedding, recording the model |

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, FixedSizeListArray, Float32Array, Float64Array,
    Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, TimeUnit};
use reeldb_engine::vector::{MODEL_METADATA_KEY, vector_item_field, vector_type};
use reeldb_engine::{Snapshot, WriteTransaction};

use super::table_rows::{read_columns, same_columns};
use crate::error::{Error, Result};

/// The table ingest writes frames to unless told otherwise.
pub const DEFAULT_FRAMES_TABLE: &str = "frames";

/// The columns before the embeddings, in order.
const FIXED_COLUMNS: usize = 11;

/// The longest side of a stored thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;

/// A model whose embedding ingest stores: its name (also the column's) and dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingColumn {
    /// The model's name, which is also the column's.
    pub model: String,
    /// The length of its vectors.
    pub dim: usize,
}

/// The schema of a frames table with one embedding column per model.
pub fn frames_schema(models: &[EmbeddingColumn]) -> Result<SchemaRef> {
    let mut fields = vec![
        Field::new("video", DataType::Utf8, true),
        Field::new("frame", DataType::Int64, true),
        Field::new("ts", DataType::Float64, true),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("station", DataType::Utf8, true),
        Field::new("show", DataType::Utf8, true),
        Field::new("file", DataType::Utf8, true),
        Field::new("width", DataType::Int32, true),
        Field::new("height", DataType::Int32, true),
        Field::new("phash", DataType::Int64, true),
        Field::new("thumbnail", DataType::Binary, true),
    ];
    debug_assert_eq!(fields.len(), FIXED_COLUMNS);
    for model in models {
        let dim = i32::try_from(model.dim).map_err(|_| {
            Error::InvalidArgument(format!("model '{}' has too many dimensions", model.model))
        })?;
        fields.push(
            Field::new(&model.model, vector_type(dim), true)
                .with_metadata([(MODEL_METADATA_KEY.to_string(), model.model.clone())].into()),
        );
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Creates `table` for frames with `models`' embeddings, or checks that the existing one has
/// exactly those columns (ingest appends by position).
pub fn ensure_frames_table(
    txn: &mut WriteTransaction,
    table: &str,
    models: &[EmbeddingColumn],
) -> Result<SchemaRef> {
    let wanted = frames_schema(models)?;
    if txn.manifest().table(table).is_none() {
        txn.create_table(table, &wanted)?;
        return Ok(wanted);
    }
    let existing = txn.table(table)?.schema()?;
    let describe = |schema: &Schema| {
        schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !same_columns(&existing, &wanted) {
        let models_there: Vec<&str> = existing
            .fields()
            .iter()
            .skip(FIXED_COLUMNS)
            .map(|f| f.name().as_str())
            .collect();
        let fix = if existing.fields().len() > FIXED_COLUMNS
            && existing.fields()[..FIXED_COLUMNS]
                .iter()
                .zip(&wanted.fields()[..FIXED_COLUMNS])
                .all(|(a, b)| a.name() == b.name())
        {
            format!(
                "ingest with the models it has (model = '{}'), or into another table",
                models_there.join(",")
            )
        } else {
            "ingest into another table (option table = '...')".to_string()
        };
        return Err(Error::InvalidArgument(format!(
            "table '{table}' has the columns ({}), but this ingest writes ({}): {fix}",
            describe(&existing),
            describe(&wanted)
        )));
    }
    Ok(existing)
}

/// What identifies a frame for a re-run: its video, file and number.
pub type FrameKey = (String, String, Option<i64>);

/// The keys of the frames already in `table` of `snapshot` (none if it does not exist).
pub fn existing_frame_keys(snapshot: &Snapshot, table: &str) -> Result<HashSet<FrameKey>> {
    if snapshot.manifest().table(table).is_none() {
        return Ok(HashSet::new());
    }
    let mut keys = HashSet::new();
    let columns = [
        ("video", DataType::Utf8),
        ("file", DataType::Utf8),
        ("frame", DataType::Int64),
    ];
    read_columns(snapshot, table, &columns, |columns| {
        let video = columns[0].as_string::<i32>();
        let file = columns[1].as_string::<i32>();
        let frame = columns[2].as_primitive::<Int64Type>();
        for row in 0..video.len() {
            keys.insert((
                video.value(row).to_string(),
                file.value(row).to_string(),
                frame.is_valid(row).then(|| frame.value(row)),
            ));
        }
        Ok(())
    })?;
    Ok(keys)
}

/// The `(frame, ts)` pairs of the frames of `video` in `table` of `snapshot` that have both,
/// ordered by time (then frame).
pub fn frame_times(snapshot: &Snapshot, table: &str, video: &str) -> Result<Vec<(i64, f64)>> {
    if snapshot.manifest().table(table).is_none() {
        return Err(Error::InvalidArgument(format!(
            "there is no table '{table}' of frames to align the transcript with: ingest the \
             video's frames first (INGEST FRAMES or INGEST VIDEO)"
        )));
    }
    let mut times = Vec::new();
    let columns = [
        ("video", DataType::Utf8),
        ("frame", DataType::Int64),
        ("ts", DataType::Float64),
    ];
    read_columns(snapshot, table, &columns, |columns| {
        let videos = columns[0].as_string::<i32>();
        let frame = columns[1].as_primitive::<Int64Type>();
        let ts = columns[2].as_primitive::<Float64Type>();
        for row in 0..videos.len() {
            if videos.is_valid(row)
                && videos.value(row) == video
                && frame.is_valid(row)
                && ts.is_valid(row)
            {
                times.push((frame.value(row), ts.value(row)));
            }
        }
        Ok(())
    })?;
    times.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    Ok(times)
}

/// The first `limit` videos of `table` of `snapshot`, in name order.
pub fn first_videos(snapshot: &Snapshot, table: &str, limit: usize) -> Result<Vec<String>> {
    let mut videos = BTreeSet::new();
    read_columns(snapshot, table, &[("video", DataType::Utf8)], |columns| {
        videos.extend(
            columns[0]
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string),
        );
        Ok(())
    })?;
    Ok(videos.into_iter().take(limit).collect())
}

/// One frame ready to be written.
#[derive(Debug, Clone)]
pub struct FrameRow {
    /// Where the frame comes from.
    pub meta: FrameMeta,
    /// Its size in pixels.
    pub width: u32,
    /// Its size in pixels.
    pub height: u32,
    /// `phash()` of the frame.
    pub phash: i64,
    /// The JPEG thumbnail.
    pub thumbnail: Vec<u8>,
    /// One embedding per model, in the table's order.
    pub embeddings: Vec<Vec<f32>>,
}

/// Where a frame comes from and when it was shown.
#[derive(Debug, Clone, Default)]
pub struct FrameMeta {
    /// The video's id.
    pub video: String,
    /// The frame's number in its video.
    pub frame: Option<i64>,
    /// Seconds from the video's start.
    pub ts: Option<f64>,
    /// Wall-clock time in ms since the epoch (UTC).
    pub time_ms: Option<i64>,
    /// Broadcaster.
    pub station: Option<String>,
    /// Show.
    pub show: Option<String>,
    /// Image file (relative to the ingested directory) or video file.
    pub file: String,
}

impl FrameMeta {
    /// The frame's re-run key.
    pub fn key(&self) -> FrameKey {
        (self.video.clone(), self.file.clone(), self.frame)
    }
}

/// The record batch for `rows`, in the columns of [`frames_schema`].
pub fn frames_batch(schema: &SchemaRef, rows: &[FrameRow]) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&FrameRow) -> Option<&str>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let mut thumbnails =
        BinaryBuilder::with_capacity(rows.len(), rows.iter().map(|r| r.thumbnail.len()).sum());
    for row in rows {
        thumbnails.append_value(&row.thumbnail);
    }
    let time_zone = match schema.field(3).data_type() {
        DataType::Timestamp(_, zone) => zone.clone(),
        _ => None,
    };
    let mut columns: Vec<ArrayRef> = vec![
        text(&|r| Some(r.meta.video.as_str())),
        Arc::new(rows.iter().map(|r| r.meta.frame).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.meta.ts).collect::<Float64Array>()),
        Arc::new(
            rows.iter()
                .map(|r| r.meta.time_ms)
                .collect::<TimestampMillisecondArray>()
                .with_timezone_opt(time_zone),
        ),
        text(&|r| r.meta.station.as_deref()),
        text(&|r| r.meta.show.as_deref()),
        text(&|r| Some(r.meta.file.as_str())),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.width as i32))
                .collect::<Int32Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.height as i32))
                .collect::<Int32Array>(),
        ),
        Arc::new(rows.iter().map(|r| Some(r.phash)).collect::<Int64Array>()),
        Arc::new(thumbnails.finish()),
    ];
    for (position, field) in schema.fields().iter().enumerate().skip(FIXED_COLUMNS) {
        let model = position - FIXED_COLUMNS;
        // The schema passed ensure_frames_table: every column after the fixed ones is one.
        let DataType::FixedSizeList(_, dim) = field.data_type() else {
            return Err(Error::Internal(format!(
                "frames column '{}' is not a vector",
                field.name()
            )));
        };
        let mut values = Vec::with_capacity(rows.len() * *dim as usize);
        for row in rows {
            values.extend_from_slice(&row.embeddings[model]);
        }
        columns.push(Arc::new(FixedSizeListArray::try_new(
            Arc::new(vector_item_field()),
            *dim,
            Arc::new(Float32Array::from(values)),
            None,
        )?));
    }
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_are_one_videos_timed_frames_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = reeldb_engine::Database::open(dir.path().join("times.reeldb")).unwrap();
        let schema = Schema::new(vec![
            Field::new("video", DataType::Utf8, true),
            Field::new("frame", DataType::Int64, true),
            Field::new("ts", DataType::Float64, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema.clone()),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("it's"),
                    Some("it's"),
                    Some("other"),
                    None,
                    Some("it's"),
                    Some("it's"),
                ])),
                Arc::new(Int64Array::from(vec![
                    Some(2),
                    Some(1),
                    Some(0),
                    Some(5),
                    None,
                    Some(3),
                ])),
                Arc::new(Float64Array::from(vec![
                    Some(8.0),
                    Some(4.0),
                    Some(0.0),
                    Some(1.0),
                    Some(2.0),
                    None,
                ])),
            ],
        )
        .unwrap();
        let mut txn = db.begin_write().unwrap();
        txn.create_table("frames", &schema).unwrap();
        txn.append("frames", &batch).unwrap();
        txn.commit().unwrap();

        let snapshot = db.snapshot().unwrap();
        // A quote in the name is just a character: no SQL is written.
        assert_eq!(
            frame_times(&snapshot, "frames", "it's").unwrap(),
            [(1, 4.0), (2, 8.0)]
        );
        assert_eq!(
            first_videos(&snapshot, "frames", 6).unwrap(),
            ["it's", "other"]
        );
        assert!(
            frame_times(&snapshot, "missing", "it's")
                .unwrap_err()
                .to_string()
                .contains("there is no table 'missing' of frames")
        );
    }
}
