//! Result cells as HTML: text escaped, vectors shortened, PNG and JPEG BLOBs as images.
//!
//! - A BLOB that holds a PNG or a JPEG (its signature, and a header the `image` crate reads)
//!   becomes an `<img>` whose source is a `data:` URI of its bytes, so the page needs no other
//!   file; its width and height are given, so the page does not move as it draws. Any other
//!   BLOB is shown as its size, `1,234 bytes`.
//! - A vector is shortened as the shell shows it: `[0.1, 0.2, 0.3, 0.4, … 512 values]`.
//! - Everything else is Arrow's text form, escaped, cut after [`CELL_TEXT_LIMIT`] characters.
//! - NULL is `NULL`, styled apart from the text `'NULL'`.

use std::io::Cursor;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use base64::Engine as _;
use image::ImageFormat;

use super::html::{escape_html, grouped};
use crate::text_columns::vector_previews;

/// Text cells are cut after this many characters (a plan, a long list): the page is for
/// reading, and the whole value is in the CSV or Parquet file a block can write.
pub const CELL_TEXT_LIMIT: usize = 1000;

/// An image found in a BLOB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Image {
    pub(crate) format: ImageFormat,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Image {
    /// The image `bytes` hold, if they are a PNG or a JPEG whose header reads.
    pub(crate) fn sniff(bytes: &[u8]) -> Option<Image> {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        const JPEG: &[u8] = b"\xff\xd8\xff";
        let format = if bytes.starts_with(PNG) {
            ImageFormat::Png
        } else if bytes.starts_with(JPEG) {
            ImageFormat::Jpeg
        } else {
            return None;
        };
        let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format)
            .into_dimensions()
            .ok()?;
        Some(Image {
            format,
            width,
            height,
        })
    }

    fn mime(self) -> &'static str {
        match self.format {
            ImageFormat::Png => "image/png",
            _ => "image/jpeg",
        }
    }

    fn name(self) -> &'static str {
        match self.format {
            ImageFormat::Png => "PNG",
            _ => "JPEG",
        }
    }

    /// An `<img>` of `bytes` (which hold this image) as a `data:` URI.
    pub(crate) fn tag(self, bytes: &[u8]) -> String {
        format!(
            "<img src=\"data:{};base64,{}\" width=\"{}\" height=\"{}\" alt=\"{} image, {} × {}\">",
            self.mime(),
            base64::engine::general_purpose::STANDARD.encode(bytes),
            self.width,
            self.height,
            self.name(),
            self.width,
            self.height
        )
    }
}

/// Whether a column's values are numbers (right-aligned in the page).
pub(crate) fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_numeric()
}

/// The bytes of each value of a binary column; `None` for other columns.
pub(crate) fn binary_values(column: &ArrayRef) -> Option<Vec<Option<&[u8]>>> {
    let rows = 0..column.len();
    Some(match column.data_type() {
        DataType::Binary => {
            let values = column.as_binary::<i32>();
            rows.map(|r| values.is_valid(r).then(|| values.value(r)))
                .collect()
        }
        DataType::LargeBinary => {
            let values = column.as_binary::<i64>();
            rows.map(|r| values.is_valid(r).then(|| values.value(r)))
                .collect()
        }
        DataType::BinaryView => {
            let values = column.as_binary_view();
            rows.map(|r| values.is_valid(r).then(|| values.value(r)))
                .collect()
        }
        DataType::FixedSizeBinary(_) => {
            let values = column.as_fixed_size_binary();
            rows.map(|r| values.is_valid(r).then(|| values.value(r)))
                .collect()
        }
        _ => return None,
    })
}

const NULL_CELL: &str = "<span class=\"null\">NULL</span>";

/// Each cell of `column` as HTML; see the [module docs](self).
pub(crate) fn html_cells(column: &ArrayRef) -> Result<Vec<String>, ArrowError> {
    if let Some(values) = binary_values(column) {
        return Ok(values
            .into_iter()
            .map(|value| match value {
                None => NULL_CELL.to_string(),
                Some(bytes) => match Image::sniff(bytes) {
                    Some(image) => image.tag(bytes),
                    None => format!(
                        "<span class=\"bytes\">{} bytes</span>",
                        grouped(bytes.len())
                    ),
                },
            })
            .collect());
    }
    if let Some(previews) = vector_previews(column) {
        return Ok(previews
            .into_iter()
            .enumerate()
            .map(|(row, text)| {
                if column.is_null(row) {
                    NULL_CELL.to_string()
                } else {
                    escape_html(&text)
                }
            })
            .collect());
    }
    let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
    Ok((0..column.len())
        .map(|row| {
            if column.is_null(row) {
                return NULL_CELL.to_string();
            }
            let text = formatter.value(row).to_string();
            match text.char_indices().nth(CELL_TEXT_LIMIT) {
                Some((cut, _)) => format!("{}…", escape_html(&text[..cut])),
                None => escape_html(&text),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{BinaryArray, FixedSizeListArray, Float32Array, Int64Array, StringArray};
    use arrow::datatypes::Field;

    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn images_become_data_uris_and_other_blobs_their_size() {
        let picture = png(3, 2);
        let column: ArrayRef = Arc::new(BinaryArray::from(vec![
            Some(picture.as_slice()),
            Some(&b"\x89PNG\r\n\x1a\nbroken"[..]),
            Some(&[0u8; 1234][..]),
            None,
        ]));
        let cells = html_cells(&column).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&picture);
        assert_eq!(
            cells[0],
            format!(
                "<img src=\"data:image/png;base64,{encoded}\" width=\"3\" height=\"2\" \
                 alt=\"PNG image, 3 × 2\">"
            )
        );
        assert_eq!(
            cells[1], "<span class=\"bytes\">14 bytes</span>",
            "a signature alone"
        );
        assert_eq!(cells[2], "<span class=\"bytes\">1,234 bytes</span>");
        assert_eq!(cells[3], NULL_CELL);
    }

    #[test]
    fn text_is_escaped_and_cut_and_vectors_shortened() {
        let long = "x".repeat(CELL_TEXT_LIMIT + 5);
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some("<b>&\"'"),
            Some(long.as_str()),
            Some("NULL"),
            None,
        ]));
        let cells = html_cells(&text).unwrap();
        assert_eq!(cells[0], "&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(cells[1], format!("{}…", "x".repeat(CELL_TEXT_LIMIT)));
        assert_eq!(cells[2], "NULL");
        assert_eq!(cells[3], NULL_CELL);
        let vectors: ArrayRef = Arc::new(FixedSizeListArray::new(
            Arc::new(Field::new("item", DataType::Float32, false)),
            6,
            Arc::new(Float32Array::from(vec![
                0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ])),
            Some(vec![true, false].into()),
        ));
        let cells = html_cells(&vectors).unwrap();
        assert_eq!(cells, ["[0.5, 1.0, 1.5, 2.0, … 6 values]", NULL_CELL]);
        let numbers: ArrayRef = Arc::new(Int64Array::from(vec![12345]));
        assert_eq!(html_cells(&numbers).unwrap(), ["12345"]);
        assert!(is_numeric(numbers.data_type()));
    }
}
