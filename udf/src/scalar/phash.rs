//! `phash(image)`: an image's 64-bit perceptual hash, and `hamming(a, b)`: the bits in which
//! two hashes differ.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, AsArray, Int32Array, Int64Array};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::model_args::{as_array, image_sources, is_image_type};
use crate::model::image_input::decode_all;
use crate::model::phash::{hamming_distance, perceptual_hash};

static PHASH_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        crate::DOC_SECTION_MODEL,
        "The 64-bit perceptual hash (pHash) of an image, as a BIGINT: the low frequencies of \
         its greyscale DCT against their median. Near-duplicates (re-encoded, rescaled, lightly \
         edited) differ in a few bits, unrelated images in about 32; compare with hamming().",
        "phash(image)",
    )
    .with_sql_example(
        r#"```sql
> SELECT phash('photos/obama-1.jpg') AS hash;
+----------------------+
| hash                 |
+----------------------+
| -2334971587329581942 |
+----------------------+
```"#,
    )
    .with_argument(
        "image",
        "A path to a JPEG or PNG file (text) or the file's bytes",
    )
    .with_related_udf("hamming")
    .build()
});

static HAMMING_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        crate::DOC_SECTION_MODEL,
        "The number of bits in which two 64-bit hashes differ (0 to 64).",
        "hamming(a, b)",
    )
    .with_sql_example(
        r#"```sql
> SELECT hamming(7, 0) AS bits, hamming(phash('photos/obama-1.jpg'), phash('photos/obama-2.jpg')) AS two_photos;
+------+------------+
| bits | two_photos |
+------+------------+
| 3    | 34         |
+------+------------+
```"#,
    )
    .with_argument("a", "A BIGINT hash, such as phash() makes")
    .with_argument("b", "Another")
    .with_related_udf("phash")
    .build()
});

/// `phash(image)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PhashFunc {
    signature: Signature,
}

impl ScalarUDFImpl for PhashFunc {
    fn name(&self) -> &str {
        "phash"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [image] if is_image_type(image) => Ok(arg_types.to_vec()),
            _ => plan_err!("phash() takes one image: a file path (text) or the file's bytes"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (array, scalar) = as_array(&args.args[0])?;
        let sources = image_sources(&array)?;
        let hashes = decode_all(&sources, |image| Ok(perceptual_hash(&image)))?;
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::Int64(hashes[0])));
        }
        Ok(ColumnarValue::Array(Arc::new(Int64Array::from(hashes))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&PHASH_DOCUMENTATION)
    }
}

/// `hamming(a, b)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct HammingFunc {
    signature: Signature,
}

impl ScalarUDFImpl for HammingFunc {
    fn name(&self) -> &str {
        "hamming"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 2 || !arg_types.iter().all(|t| t.is_integer() || t.is_null()) {
            return plan_err!("hamming() takes two BIGINT hashes, such as phash() makes");
        }
        Ok(vec![DataType::Int64, DataType::Int64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let a = arrays[0].as_primitive::<Int64Type>();
        let b = arrays[1].as_primitive::<Int64Type>();
        let result: Int32Array = (0..a.len())
            .map(|i| {
                (a.is_valid(i) && b.is_valid(i))
                    .then(|| hamming_distance(a.value(i), b.value(i)) as i32)
            })
            .collect();
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?));
        }
        Ok(ColumnarValue::Array(Arc::new(result)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&HAMMING_DOCUMENTATION)
    }
}

static PHASH: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(PhashFunc {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
});

static HAMMING: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(HammingFunc {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
});

/// The `phash` function.
pub fn phash_udf() -> Arc<ScalarUDF> {
    Arc::clone(&PHASH)
}

/// The `hamming` function.
pub fn hamming_udf() -> Arc<ScalarUDF> {
    Arc::clone(&HAMMING)
}
