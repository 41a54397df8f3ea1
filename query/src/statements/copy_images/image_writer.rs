//! Turns the query's batches into staged image files, one per row: the name from the pattern,
//! the bytes from the image column, checked row by row, encoded and written on all cores.

use std::collections::HashMap;
use std::path::PathBuf;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rayon::prelude::*;
use reeldb_engine::Database;

use super::file_pattern::FilePattern;
use super::image_encoding::{ImageFileFormat, encode_as};
use super::staged_files::{StagedFile, StagedFiles, WrittenFile};
use crate::error::{Error, Result, describe_key};

/// The state of one statement between batches: what is staged and which names are taken.
#[derive(Debug)]
pub(super) struct ImageWriter {
    db: Database,
    pattern: FilePattern,
    format: ImageFileFormat,
    image_column: usize,
    image_name: String,
    /// The names of the pattern's columns, and whether their values are text (quoted in
    /// messages).
    key_names: Vec<String>,
    key_is_text: Vec<bool>,
    staged: StagedFiles,
    /// Each file name given so far, with the row that gave it, to refuse a second one.
    taken: HashMap<PathBuf, (u64, Vec<(String, String)>)>,
    /// The number of rows seen so far.
    rows: u64,
}

impl ImageWriter {
    /// A writer of `format` files named by `pattern` from the `image_column` of rows of
    /// `schema`.
    pub(super) fn new(
        db: Database,
        pattern: FilePattern,
        format: ImageFileFormat,
        schema: &Schema,
        image_column: usize,
    ) -> Self {
        let fields = schema.fields();
        let key_names = pattern
            .columns()
            .iter()
            .map(|&c| fields[c].name().clone())
            .collect();
        let key_is_text = pattern
            .columns()
            .iter()
            .map(|&c| {
                matches!(
                    fields[c].data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            })
            .collect();
        ImageWriter {
            db,
            pattern,
            format,
            image_column,
            image_name: fields[image_column].name().clone(),
            key_names,
            key_is_text,
            staged: StagedFiles::default(),
            taken: HashMap::new(),
            rows: 0,
        }
    }

    /// Stages one file per row of `batch`. On an error, the files of this batch are deleted
    /// at once and those of earlier batches when the writer is dropped.
    pub(super) fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let options = FormatOptions::default();
        let formatters = self
            .pattern
            .columns()
            .iter()
            .map(|&c| ArrayFormatter::try_new(batch.column(c).as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let cells = ImageCells::new(batch.column(self.image_column).as_ref())?;
        let mut planned = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            let row = self.rows + i as u64 + 1;
            let values: Vec<Option<String>> = self
                .pattern
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(&c, formatter)| {
                    (!batch.column(c).is_null(i)).then(|| formatter.value(i).to_string())
                })
                .collect();
            let key = self.key(&values);
            let fail = |reason: String| Error::ImageRow {
                row,
                key: key.clone(),
                reason,
            };
            let names: Vec<&str> = self.key_names.iter().map(String::as_str).collect();
            let target = self.pattern.render(&values, &names).map_err(fail)?;
            let Some(cell) = cells.value(i) else {
                let column = &self.image_name;
                return Err(fail(format!(
                    "the image cell ({column}) is NULL; leave such rows out (WHERE {column} IS \
                     NOT NULL)"
                )));
            };
            if let Some((first, first_key)) = self.taken.get(&target) {
                return Err(Error::InvalidArgument(format!(
                    "rows {first}{} and {row}{} both name the file '{}'; put a column that \
                     tells them apart in the name",
                    describe_key(first_key),
                    describe_key(&key),
                    target.display()
                )));
            }
            self.db.check_outside(&target)?;
            if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
                return Err(fail(format!(
                    "'{}' is a directory, so no image can be written there",
                    target.display()
                )));
            }
            self.staged.prepare_directory(&target)?;
            self.taken.insert(target.clone(), (row, key.clone()));
            planned.push((row, key, target, cell));
        }
        let format = self.format;
        let written: Vec<Result<StagedFile>> = planned
            .into_par_iter()
            .map(|(row, key, target, cell)| {
                let (bytes, converted) = encode_as(format, cell)
                    .map_err(|reason| Error::ImageRow { row, key, reason })?;
                StagedFiles::write(&target, &bytes, converted)
            })
            .collect();
        for file in written {
            self.staged.push(file?);
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Puts every staged file in place.
    pub(super) fn publish(self) -> Result<Vec<WrittenFile>> {
        self.staged.publish()
    }

    /// A row's values of the pattern's columns, as messages show them.
    fn key(&self, values: &[Option<String>]) -> Vec<(String, String)> {
        values
            .iter()
            .zip(&self.key_names)
            .zip(&self.key_is_text)
            .map(|((value, name), &text)| {
                let shown = match value {
                    None => "NULL".to_string(),
                    Some(v) if text => format!("'{}'", v.escape_debug()),
                    Some(v) => v.clone(),
                };
                (name.clone(), shown)
            })
            .collect()
    }
}

/// The image column of a batch, whichever of the three binary types it has.
enum ImageCells<'a> {
    Binary(&'a arrow::array::BinaryArray),
    LargeBinary(&'a arrow::array::LargeBinaryArray),
    BinaryView(&'a arrow::array::BinaryViewArray),
}

impl<'a> ImageCells<'a> {
    fn new(array: &'a dyn Array) -> Result<Self> {
        match array.data_type() {
            DataType::Binary => Ok(ImageCells::Binary(array.as_binary())),
            DataType::LargeBinary => Ok(ImageCells::LargeBinary(array.as_binary())),
            DataType::BinaryView => Ok(ImageCells::BinaryView(array.as_binary_view())),
            other => Err(Error::Internal(format!(
                "the image column of COPY TO became {other} after planning"
            ))),
        }
    }

    fn value(&self, row: usize) -> Option<&'a [u8]> {
        match self {
            ImageCells::Binary(a) => a.is_valid(row).then(|| a.value(row)),
            ImageCells::LargeBinary(a) => a.is_valid(row).then(|| a.value(row)),
            ImageCells::BinaryView(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}
