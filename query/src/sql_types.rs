//! Arrow types written back as SQL, for `.schema` and error messages.

use arrow::datatypes::{DataType, Schema, TimeUnit};
use reeldb_engine::vector::vector_dimension;

/// The SQL name of an Arrow type, as `CREATE TABLE` accepts it.
pub fn sql_type_name(data_type: &DataType) -> String {
    if let Some(dim) = vector_dimension(data_type) {
        return format!("VECTOR({dim})");
    }
    match data_type {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "TINYINT UNSIGNED".into(),
        DataType::UInt16 => "SMALLINT UNSIGNED".into(),
        DataType::UInt32 => "INT UNSIGNED".into(),
        DataType::UInt64 => "BIGINT UNSIGNED".into(),
        DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "TEXT".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTEA".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(unit, tz) => {
            let precision = match unit {
                TimeUnit::Second => "(0)",
                TimeUnit::Millisecond => "(3)",
                TimeUnit::Microsecond => "",
                TimeUnit::Nanosecond => "(9)",
            };
            match tz {
                Some(_) => format!("TIMESTAMP{precision} WITH TIME ZONE"),
                None => format!("TIMESTAMP{precision}"),
            }
        }
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::List(item) | DataType::LargeList(item) => {
            format!("{}[]", sql_type_name(item.data_type()))
        }
        DataType::FixedSizeList(item, n) => format!("{}[{n}]", sql_type_name(item.data_type())),
        other => format!("\"{other}\""),
    }
}

/// A `CREATE TABLE` statement that recreates a table with `schema`.
pub fn create_table_sql(name: &str, schema: &Schema) -> String {
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| {
            let not_null = if f.is_nullable() { "" } else { " NOT NULL" };
            format!(
                "  {} {}{not_null}",
                quote(f.name()),
                sql_type_name(f.data_type())
            )
        })
        .collect();
    format!(
        "CREATE TABLE {} (\n{}\n);",
        quote(name),
        columns.join(",\n")
    )
}

fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}
