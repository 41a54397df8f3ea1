//! Results for formats that hold only flat text cells (CSV, Markdown): every type reeldb
//! returns becomes columns such a format can write.
//!
//! - A struct becomes one column per field, named `column.field` (recursively), so a map's
//!   `project(...) AS xy` is the two columns `xy.x` and `xy.y` a spreadsheet plots. A NULL
//!   struct gives NULL in each of its columns.
//! - A list, a vector (`FixedSizeList`) or a map becomes text: `[0.1, 0.2]` (which
//!   `COPY ... FROM` reads back into a vector column) or `{a: 1, b: 2}`.
//! - Binary values (thumbnails) become `\x` followed by hexadecimal digits, PostgreSQL's text
//!   form of `bytea`.
//!
//! Everything else is left as it is.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::Column;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, LogicalPlanBuilder, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};

/// `batch` with its nested and binary columns made flat text columns; see the module
/// documentation.
pub fn flatten_for_text(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !batch
        .columns()
        .iter()
        .any(|c| needs_flattening(c.data_type()))
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        flatten(field.name(), field, column, None, &mut fields, &mut columns)?;
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

pub(crate) fn needs_flattening(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Struct(_)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::ListView(_)
            | DataType::LargeListView(_)
            | DataType::FixedSizeList(_, _)
            | DataType::Map(_, _)
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    )
}

/// Appends the flat columns of `column` (named `name`), with the rows that `outer` (the NULLs
/// of enclosing structs) marks NULL made NULL.
fn flatten(
    name: &str,
    field: &Field,
    column: &ArrayRef,
    outer: Option<&NullBuffer>,
    fields: &mut Vec<Field>,
    columns: &mut Vec<ArrayRef>,
) -> Result<(), ArrowError> {
    match column.data_type() {
        DataType::Struct(children) => {
            let nulls = NullBuffer::union(outer, column.logical_nulls().as_ref());
            let structs = column.as_struct();
            for (child, values) in children.iter().zip(structs.columns()) {
                let child_name = format!("{name}.{}", child.name());
                flatten(&child_name, child, values, nulls.as_ref(), fields, columns)?;
            }
            Ok(())
        }
        data_type if needs_flattening(data_type) => {
            let nulls = NullBuffer::union(outer, column.logical_nulls().as_ref());
            let text = as_text(column, nulls.as_ref())?;
            fields.push(Field::new(name, DataType::Utf8, true));
            columns.push(Arc::new(text));
            Ok(())
        }
        _ => {
            let column = match outer {
                Some(outer) if outer.null_count() > 0 => with_nulls(column, outer)?,
                _ => Arc::clone(column),
            };
            fields.push(Field::new(name, field.data_type().clone(), true));
            columns.push(column);
            Ok(())
        }
    }
}

/// Each value of `column` as text (`None` where `nulls` says NULL).
pub(crate) fn as_text(
    column: &ArrayRef,
    nulls: Option<&NullBuffer>,
) -> Result<StringArray, ArrowError> {
    let is_null = |row: usize| nulls.is_some_and(|n| n.is_null(row));
    let binary = |value: &[u8]| {
        let mut text = String::with_capacity(2 + 2 * value.len());
        text.push_str("\\x");
        for byte in value {
            text.push_str(&format!("{byte:02x}"));
        }
        text
    };
    Ok(match column.data_type() {
        DataType::Binary => {
            let values = column.as_binary::<i32>();
            (0..column.len())
                .map(|row| (!is_null(row)).then(|| binary(values.value(row))))
                .collect()
        }
        DataType::LargeBinary => {
            let values = column.as_binary::<i64>();
            (0..column.len())
                .map(|row| (!is_null(row)).then(|| binary(values.value(row))))
                .collect()
        }
        DataType::BinaryView => {
            let values = column.as_binary_view();
            (0..column.len())
                .map(|row| (!is_null(row)).then(|| binary(values.value(row))))
                .collect()
        }
        DataType::FixedSizeBinary(_) => {
            let values = column.as_fixed_size_binary();
            (0..column.len())
                .map(|row| (!is_null(row)).then(|| binary(values.value(row))))
                .collect()
        }
        _ => {
            let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
            (0..column.len())
                .map(|row| (!is_null(row)).then(|| formatter.value(row).to_string()))
                .collect()
        }
    })
}

/// Leading elements a vector preview shows.
const VECTOR_PREVIEW: usize = 4;

/// Each vector of a `FixedSizeList` column shortened for people to read, as the shell's
/// table output and reports show it: `[0.1, 0.2, 0.3, 0.4, … 512 values]`, `NULL` for a
/// NULL vector. Other columns give `None`.
pub fn vector_previews(column: &ArrayRef) -> Option<Vec<String>> {
    let list = column.as_fixed_size_list_opt()?;
    let values = list.values();
    let Ok(formatter) = ArrayFormatter::try_new(values.as_ref(), &FormatOptions::default()) else {
        return Some(vec!["?".to_string(); list.len()]);
    };
    let dim = list.value_length() as usize;
    Some(
        (0..list.len())
            .map(|row| {
                if list.is_null(row) {
                    return "NULL".to_string();
                }
                let start = list.value_offset(row) as usize;
                let shown: Vec<String> = (start..start + dim.min(VECTOR_PREVIEW))
                    .map(|i| formatter.value(i).to_string())
                    .collect();
                if dim > VECTOR_PREVIEW {
                    format!("[{}, … {dim} values]", shown.join(", "))
                } else {
                    format!("[{}]", shown.join(", "))
                }
            })
            .collect(),
    )
}

/// `column` with the rows `nulls` marks NULL made NULL too.
fn with_nulls(column: &ArrayRef, nulls: &NullBuffer) -> Result<ArrayRef, ArrowError> {
    let keep = arrow::array::BooleanArray::new(nulls.inner().clone(), None);
    // `nullif` makes NULL where its mask is true: the rows that are not valid.
    let mask = arrow::compute::not(&keep)?;
    arrow::compute::nullif(column.as_ref(), &mask)
}

/// The logical form of [`flatten_for_text`], for a plan whose result DataFusion writes itself
/// (`COPY (...) TO 'x.csv'`): `plan` under a projection of flat columns, struct fields as
/// `column.field` columns and nested or binary values through [`text_form_udf`].
pub(crate) fn flatten_plan(plan: LogicalPlan) -> datafusion::common::Result<LogicalPlan> {
    let schema = Arc::clone(plan.schema());
    if !schema
        .fields()
        .iter()
        .any(|f| needs_flattening(f.data_type()))
    {
        return Ok(plan);
    }
    let mut exprs = Vec::new();
    for (qualifier, field) in schema.iter() {
        let column = Expr::Column(Column::from((qualifier, field)));
        flatten_expr(column, field.name(), field.data_type(), &mut exprs);
    }
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}

fn flatten_expr(expr: Expr, name: &str, data_type: &DataType, out: &mut Vec<Expr>) {
    match data_type {
        DataType::Struct(children) => {
            for child in children {
                let value = get_field(expr.clone(), child.name().as_str());
                let child_name = format!("{name}.{}", child.name());
                flatten_expr(value, &child_name, child.data_type(), out);
            }
        }
        data_type if needs_flattening(data_type) => {
            out.push(text_form_udf().call(vec![expr]).alias(name));
        }
        _ => out.push(expr.alias(name)),
    }
}

/// An internal function that gives a value's flat text form, as [`flatten_for_text`] writes
/// it: lists and vectors as `[0.1, 0.2]`, maps as `{a: 1}`, binary values as `\x` and hex.
pub(crate) fn text_form_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(TextForm::default())));
    Arc::clone(&UDF)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TextForm {
    signature: Signature,
}

impl Default for TextForm {
    fn default() -> Self {
        TextForm {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TextForm {
    fn name(&self) -> &str {
        "reeldb_text_form"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let [value] = &args.args[..] else {
            return datafusion::common::internal_err!("reeldb_text_form takes one argument");
        };
        let array = value.to_array(args.number_rows)?;
        let text = as_text(&array, array.logical_nulls().as_ref())?;
        Ok(ColumnarValue::Array(Arc::new(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BinaryArray, Float64Array, Int64Array, ListArray, StructArray};
    use arrow::datatypes::{Fields, Float64Type};

    #[test]
    fn structs_become_columns_and_lists_binaries_text() {
        let xy = StructArray::new(
            Fields::from(vec![
                Field::new("x", DataType::Float64, true),
                Field::new("y", DataType::Float64, true),
            ]),
            vec![
                Arc::new(Float64Array::from(vec![1.5, 2.0])) as ArrayRef,
                Arc::new(Float64Array::from(vec![-1.0, 3.0])),
            ],
            Some(NullBuffer::from(vec![true, false])),
        );
        let list = ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
            Some(vec![Some(0.25), Some(0.5)]),
            None,
        ]);
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("xy", Arc::new(xy)),
            ("v", Arc::new(list)),
            (
                "thumb",
                Arc::new(BinaryArray::from(vec![Some(&[0xffu8, 0x01][..]), None])),
            ),
        ])
        .unwrap();
        let flat = flatten_for_text(&batch).unwrap();
        let names: Vec<&str> = flat
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["id", "xy.x", "xy.y", "v", "thumb"]);
        let x = flat.column(1).as_primitive::<Float64Type>();
        assert_eq!(
            (x.value(0), x.is_null(1)),
            (1.5, true),
            "a NULL struct's fields"
        );
        let v = flat.column(3).as_string::<i32>();
        assert_eq!((v.value(0), v.is_null(1)), ("[0.25, 0.5]", true));
        let thumb = flat.column(4).as_string::<i32>();
        assert_eq!((thumb.value(0), thumb.is_null(1)), ("\\xff01", true));
        // Flat batches pass through untouched.
        let plain = flat.project(&[0, 1]).unwrap();
        assert_eq!(flatten_for_text(&plain).unwrap(), plain);
    }
}
