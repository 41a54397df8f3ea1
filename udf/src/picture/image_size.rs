//! `image_size(image)`: the width, height and format of image bytes, read from the header
//! alone (nothing is decoded): to check a picture function's result, or to find cells that
//! hold no image (`WHERE image_size(thumbnail) IS NULL`).

use std::io::Cursor;
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder, StructArray, UInt32Builder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use image::ImageReader;

use crate::DOC_SECTION_PICTURE;

/// The SQL name.
pub const NAME: &str = "image_size";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_PICTURE,
        "The width, height and format (png, jpeg, ...) of image bytes, read from the image's \
         header without decoding it. NULL for NULL and for bytes that are not an image of a \
         known format.",
        "image_size(image)",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, image_size(thumbnail) AS size FROM thumbnails ORDER BY id LIMIT 2;
+----+--------------------------------------+
| id | size                                 |
+----+--------------------------------------+
| 1  | {width: 16, height: 9, format: png}  |
| 2  | {width: 16, height: 12, format: png} |
+----+--------------------------------------+
```"#,
    )
    .with_argument("image", "Image bytes (a BLOB)")
    .with_related_udf("contact_sheet")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(ImageSizeFunc::new())));

/// The `image_size` scalar function.
pub fn image_size_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}

/// `image_size(image)` as a DataFusion scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ImageSizeFunc {
    signature: Signature,
}

impl ImageSizeFunc {
    /// The function.
    pub fn new() -> Self {
        ImageSizeFunc {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for ImageSizeFunc {
    fn default() -> Self {
        Self::new()
    }
}

fn fields() -> Fields {
    Fields::from(vec![
        Field::new("width", DataType::UInt32, true),
        Field::new("height", DataType::UInt32, true),
        Field::new("format", DataType::Utf8, true),
    ])
}

/// The size and format of `bytes`, if they are an image of a known format.
pub fn read_size(bytes: &[u8]) -> Option<(u32, u32, &'static str)> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let format = reader.format()?;
    let name = format.extensions_str().first().copied().unwrap_or("image");
    let name = if name == "jpg" { "jpeg" } else { name };
    let (width, height) = reader.into_dimensions().ok()?;
    Some((width, height, name))
}

impl ScalarUDFImpl for ImageSizeFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match &arg_types[0] {
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Null => {
                Ok(DataType::Struct(fields()))
            }
            other => plan_err!(
                "{NAME}(): the argument must be image bytes (a BLOB such as a thumbnail), not \
                 {other}"
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (array, scalar) = match &args.args[0] {
            ColumnarValue::Array(array) => (Arc::clone(array), false),
            ColumnarValue::Scalar(value) => (value.to_array_of_size(1)?, true),
        };
        let binary = cast(&array, &DataType::Binary)?;
        let binary = binary.as_binary::<i32>();
        let mut widths = UInt32Builder::with_capacity(binary.len());
        let mut heights = UInt32Builder::with_capacity(binary.len());
        let mut formats = StringBuilder::with_capacity(binary.len(), binary.len() * 4);
        let mut valid = Vec::with_capacity(binary.len());
        for bytes in binary.iter() {
            match bytes.and_then(read_size) {
                Some((width, height, format)) => {
                    widths.append_value(width);
                    heights.append_value(height);
                    formats.append_value(format);
                    valid.push(true);
                }
                None => {
                    widths.append_null();
                    heights.append_null();
                    formats.append_null();
                    valid.push(false);
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(widths.finish()),
            Arc::new(heights.finish()),
            Arc::new(formats.finish()),
        ];
        let result: ArrayRef =
            Arc::new(StructArray::try_new(fields(), columns, Some(valid.into()))?);
        if scalar {
            return Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&result, 0)?,
            ));
        }
        Ok(ColumnarValue::Array(result))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
