//! The two tables `DETECT FACES` writes: one row per face, and one row per frame read (the
//! record that makes a re-run skip it, faces or not).
//!
//! Faces table (`INTO faces`):
//!
//! | column      | type            | what                                                  |
//! |-------------|-----------------|-------------------------------------------------------|
//! | `video`     | TEXT            | the frame's key, as in the frames table               |
//! | `frame`     | BIGINT          |                                                       |
//! | `ts`        | DOUBLE          |                                                       |
//! | `file`      | TEXT            |                                                       |
//! | `face`      | INT             | 0, 1, ... within the frame, strongest first           |
//! | `x`, `y`, `width`, `height` | FLOAT | the box, in pixels of the full-size frame      |
//! | `score`     | FLOAT           | detection confidence, 0 to 1                          |
//! | `landmarks` | VECTOR(10)      | eyes, nose tip, mouth corners as x, y (NULL without)  |
//! | `crop`      | BLOB            | JPEG of the face with a margin, longest side ≤ 160 px |
//! | `encoding`  | VECTOR(dim)     | the aligned face's vector, recording the encoder      |
//!
//! Frames table of the scan (`faces_frames` for `INTO faces`): `video`, `frame`, `file`,
//! `faces` (INT, how many were found), `source` (TEXT: `file`, `video` or `thumbnail`: what
//! the faces were found in).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, FixedSizeListArray, Float32Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use reeldb_engine::vector::{MODEL_METADATA_KEY, vector_item_field, vector_type};
use reeldb_engine::{Snapshot, WriteTransaction};
use reeldb_udf::model::face::DetectedFace;

use crate::error::{Error, Result};
use crate::ingest::frame_table::{FrameKey, existing_frame_keys};
use crate::ingest::table_rows::ensure_table;

/// The name of the vector column of a faces table.
pub const ENCODING_COLUMN: &str = "encoding";

/// What the frames table of a scan is called: the faces table's name and this.
pub const SCANNED_SUFFIX: &str = "_frames";

/// The landmark values per face: five points, x and y.
const LANDMARK_VALUES: usize = 10;

/// The name of the table that records the frames a scan into `faces` has read.
pub fn scanned_table(faces: &str) -> String {
    format!("{faces}{SCANNED_SUFFIX}")
}

/// What the faces of one frame were found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSource {
    /// The frame's image file.
    File,
    /// The frame decoded again from its video.
    Video,
    /// The thumbnail stored in the frames table (the original was not found).
    Thumbnail,
}

impl ImageSource {
    /// The word stored in the `source` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageSource::File => "file",
            ImageSource::Video => "video",
            ImageSource::Thumbnail => "thumbnail",
        }
    }
}

/// The key and place of one frame, as read from the frames table.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameRef {
    /// The video.
    pub video: String,
    /// Its number in the video.
    pub frame: Option<i64>,
    /// Seconds from the start of the video.
    pub ts: Option<f64>,
    /// The image file (relative to the ingested directory) or the video file.
    pub file: String,
    /// The frame's full size, where the frames table knows it.
    pub size: Option<(u32, u32)>,
}

impl FrameRef {
    /// The re-run key, the frames table's.
    pub fn key(&self) -> FrameKey {
        (self.video.clone(), self.file.clone(), self.frame)
    }

    /// How the frame is named in a report: `file`, or `file@12.000s` for a video's frame.
    pub fn describe(&self) -> String {
        match self.ts {
            Some(ts) if !is_image_file(&self.file) => format!("{}@{ts:.3}s", self.file),
            _ => self.file.clone(),
        }
    }
}

/// Whether `file` names a still image (by its extension), rather than a video.
pub fn is_image_file(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png"].iter().any(|e| lower.ends_with(e))
}

/// One face ready to be stored.
#[derive(Debug, Clone)]
pub struct FaceRow {
    /// The face, in full-size frame pixels.
    pub face: DetectedFace,
    /// JPEG of the face.
    pub crop: Vec<u8>,
}

/// One frame's result.
#[derive(Debug, Clone)]
pub struct ScannedFrame {
    /// The frame.
    pub frame: FrameRef,
    /// What its faces were found in.
    pub source: ImageSource,
    /// Its faces, strongest first.
    pub faces: Vec<FaceRow>,
}

/// The faces table's schema; `encoder` is the encoder's name and dimension.
pub fn faces_schema(encoder: Option<(&str, usize)>) -> Result<SchemaRef> {
    let float = |name: &str| Field::new(name, DataType::Float32, true);
    let mut fields = vec![
        Field::new("video", DataType::Utf8, true),
        Field::new("frame", DataType::Int64, true),
        Field::new("ts", DataType::Float64, true),
        Field::new("file", DataType::Utf8, true),
        Field::new("face", DataType::Int32, true),
        float("x"),
        float("y"),
        float("width"),
        float("height"),
        float("score"),
        Field::new("landmarks", vector_type(LANDMARK_VALUES as i32), true),
        Field::new("crop", DataType::Binary, true),
    ];
    if let Some((model, dim)) = encoder {
        let dim = i32::try_from(dim).map_err(|_| {
            Error::InvalidArgument(format!("face encoder '{model}' has too many dimensions"))
        })?;
        fields.push(
            Field::new(ENCODING_COLUMN, vector_type(dim), true)
                .with_metadata([(MODEL_METADATA_KEY.to_string(), model.to_string())].into()),
        );
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The scan's frames table schema.
pub fn scanned_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("video", DataType::Utf8, true),
        Field::new("frame", DataType::Int64, true),
        Field::new("file", DataType::Utf8, true),
        Field::new("faces", DataType::Int32, false),
        Field::new("source", DataType::Utf8, false),
    ]))
}

/// Creates the faces table and the scan's frames table, or checks that existing ones have the
/// right columns and that their faces were encoded by the same encoder. Returns the schemas.
pub fn ensure_face_tables(
    txn: &mut WriteTransaction,
    faces: &str,
    encoder: Option<(&str, usize)>,
) -> Result<(SchemaRef, SchemaRef)> {
    let faces_schema = faces_schema(encoder)?;
    if txn.manifest().table(faces).is_some() {
        let existing = txn.table(faces)?.schema()?;
        let recorded = existing
            .field_with_name(ENCODING_COLUMN)
            .ok()
            .and_then(|f| f.metadata().get(MODEL_METADATA_KEY).cloned());
        let wanted = encoder.map(|(name, _)| name.to_string());
        if existing.field_with_name("face").is_ok() && recorded != wanted {
            let was = recorded.map_or("no encoder".to_string(), |m| format!("encoder '{m}'"));
            let now = wanted.map_or("no encoder".to_string(), |m| format!("encoder '{m}'"));
            return Err(Error::InvalidArgument(format!(
                "table '{faces}' holds faces found with {was}, and this scan uses {now}: scan \
                 into another table (INTO ...), or drop '{faces}' and its '{}' to start again",
                scanned_table(faces)
            )));
        }
    }
    ensure_table(txn, faces, &faces_schema)?;
    let scanned = scanned_schema();
    ensure_table(txn, &scanned_table(faces), &scanned)?;
    Ok((faces_schema, scanned))
}

/// The keys of the frames a scan into `faces` has already read (none on a first run): they
/// are keyed as the frames table keys its rows.
pub fn scanned_keys(snapshot: &Snapshot, faces: &str) -> Result<HashSet<FrameKey>> {
    existing_frame_keys(snapshot, &scanned_table(faces))
}

/// The faces batch and the scan's frames batch of `frames`, with the faces' encodings (`dim`
/// values each, in the order of the faces) when an encoder ran.
pub fn face_batches(
    schemas: &(SchemaRef, SchemaRef),
    frames: &[ScannedFrame],
    encodings: Option<(&[f32], usize)>,
) -> Result<(RecordBatch, RecordBatch)> {
    let faces: Vec<(&FrameRef, usize, &FaceRow)> = frames
        .iter()
        .flat_map(|f| {
            f.faces
                .iter()
                .enumerate()
                .map(move |(i, face)| (&f.frame, i, face))
        })
        .collect();
    let float = |value: fn(&DetectedFace) -> f32| -> ArrayRef {
        Arc::new(Float32Array::from_iter_values(
            faces.iter().map(|(_, _, row)| value(&row.face)),
        ))
    };
    let landmarks: Vec<Option<&[f32]>> = faces
        .iter()
        .map(|(_, _, row)| row.face.landmarks.as_ref().map(|l| l.as_flattened()))
        .collect();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            faces.iter().map(|(f, _, _)| f.video.as_str()),
        )),
        Arc::new(Int64Array::from_iter(faces.iter().map(|(f, _, _)| f.frame))),
        Arc::new(Float64Array::from_iter(faces.iter().map(|(f, _, _)| f.ts))),
        Arc::new(StringArray::from_iter_values(
            faces.iter().map(|(f, _, _)| f.file.as_str()),
        )),
        Arc::new(Int32Array::from_iter_values(
            faces.iter().map(|(_, i, _)| *i as i32),
        )),
        float(|f| f.x),
        float(|f| f.y),
        float(|f| f.width),
        float(|f| f.height),
        float(|f| f.score),
        Arc::new(fixed_vectors(LANDMARK_VALUES, &landmarks)?),
        Arc::new(BinaryArray::from_iter_values(
            faces.iter().map(|(_, _, row)| row.crop.as_slice()),
        )),
    ];
    if let Some((values, dim)) = encodings {
        if values.len() != faces.len() * dim {
            return Err(Error::Internal(format!(
                "{} face vectors for {} faces",
                values.len() / dim.max(1),
                faces.len()
            )));
        }
        let vectors: Vec<Option<&[f32]>> = values.chunks_exact(dim).map(Some).collect();
        columns.push(Arc::new(fixed_vectors(dim, &vectors)?));
    }
    let faces_batch = RecordBatch::try_new(Arc::clone(&schemas.0), columns)?;
    let scanned_columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            frames.iter().map(|f| f.frame.video.as_str()),
        )),
        Arc::new(Int64Array::from_iter(frames.iter().map(|f| f.frame.frame))),
        Arc::new(StringArray::from_iter_values(
            frames.iter().map(|f| f.frame.file.as_str()),
        )),
        Arc::new(Int32Array::from_iter_values(
            frames.iter().map(|f| f.faces.len() as i32),
        )),
        Arc::new(StringArray::from_iter_values(
            frames.iter().map(|f| f.source.as_str()),
        )),
    ];
    let scanned_batch = RecordBatch::try_new(Arc::clone(&schemas.1), scanned_columns)?;
    Ok((faces_batch, scanned_batch))
}

/// A `VECTOR(dim)` column of `rows` (NULL for `None`).
fn fixed_vectors(dim: usize, rows: &[Option<&[f32]>]) -> Result<FixedSizeListArray> {
    let mut values = Vec::with_capacity(rows.len() * dim);
    for row in rows {
        match row {
            Some(v) if v.len() == dim => values.extend_from_slice(v),
            Some(v) => {
                return Err(Error::Internal(format!(
                    "a vector of {} values in a column of {dim}",
                    v.len()
                )));
            }
            None => values.extend(std::iter::repeat_n(0.0, dim)),
        }
    }
    let nulls: arrow::buffer::NullBuffer = rows.iter().map(Option::is_some).collect();
    Ok(FixedSizeListArray::try_new(
        Arc::new(vector_item_field()),
        dim as i32,
        Arc::new(Float32Array::from(values)),
        (nulls.null_count() > 0).then_some(nulls),
    )?)
}
