//! What the clustering table functions read: a table's vector column, optionally with a
//! label and a partition column, grouped by partition.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::catalog::{MemoryCatalogProvider, TableProvider};
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::prelude::SessionContext;
use reeldb_engine::vector::vector_dimension;
use reeldb_udf::vector_arg::VectorColumn;

use crate::catalog::bound_snapshot;
use crate::table::ReeldbTable;

/// The vectors (and labels) of one partition, in table order; rows with a NULL vector (or
/// label) are left out.
#[derive(Debug, Default)]
pub struct PartitionRows {
    /// The vectors, row after row.
    pub values: Vec<f32>,
    /// The label of each vector, when a label column was read.
    pub labels: Vec<i64>,
}

/// A table's rows grouped by the text of their partition value (`None`: one group, `""`).
#[derive(Debug)]
pub struct TableInput {
    /// The dimension of the vector column.
    pub dim: usize,
    /// The groups, in order of their partition value.
    pub partitions: BTreeMap<String, PartitionRows>,
}

/// The columns a table function reads.
#[derive(Debug, Clone)]
pub struct InputColumns {
    /// The table.
    pub table: Arc<ReeldbTable>,
    /// Its vector column.
    pub vector: String,
    /// A whole-number label column.
    pub label: Option<String>,
    /// A column whose values split the rows into partitions.
    pub partition: Option<String>,
}

impl InputColumns {
    /// Resolves `table` in the statement's snapshot and checks that the columns exist;
    /// `function` names the call in errors.
    pub fn resolve(
        function: &str,
        catalog: &MemoryCatalogProvider,
        table: &str,
        vector: &str,
        label: Option<&str>,
        partition: Option<&str>,
    ) -> Result<Self> {
        let table = ReeldbTable::new(bound_snapshot(catalog)?, table)
            .map_err(|e| DataFusionError::Plan(format!("{function}(): {e}")))?;
        let table_schema = table.schema();
        let columns = || {
            table_schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let is_vector = table_schema
            .field_with_name(vector)
            .is_ok_and(|f| vector_dimension(f.data_type()).is_some());
        if !is_vector {
            return plan_err!(
                "{function}(): table '{}' has no vector column '{vector}'; its columns are {}",
                table.name(),
                columns()
            );
        };
        for (what, name) in [("label", label), ("partition", partition)] {
            let Some(name) = name else { continue };
            match table_schema.field_with_name(name) {
                Err(_) => {
                    return plan_err!(
                        "{function}(): table '{}' has no {what} column '{name}'; its columns are {}",
                        table.name(),
                        columns()
                    );
                }
                Ok(field) if what == "label" && !field.data_type().is_integer() => {
                    return plan_err!(
                        "{function}(): the label column '{name}' is {}, not whole-number \
                         cluster labels (as cluster() or CLUSTER write them)",
                        field.data_type()
                    );
                }
                Ok(_) => {}
            }
        }
        Ok(InputColumns {
            table: Arc::new(table),
            vector: vector.to_string(),
            label: label.map(str::to_string),
            partition: partition.map(str::to_string),
        })
    }

    /// Reads the columns, grouped by partition.
    pub async fn read(&self, function: &str) -> Result<TableInput> {
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::clone(&self.table) as _)?;
        let mut names = vec![self.vector.as_str()];
        names.extend(self.label.as_deref());
        names.extend(self.partition.as_deref());
        let batches = ctx
            .table("t")
            .await?
            .select_columns(&names)?
            .collect()
            .await?;
        let mut input = TableInput {
            dim: 0,
            partitions: BTreeMap::new(),
        };
        for batch in batches {
            let vectors = VectorColumn::new(function, 1, batch.column(0))?;
            let labels = match self.label {
                Some(_) => Some(cast(batch.column(1), &DataType::Int64)?),
                None => None,
            };
            let partitions = match self.partition {
                Some(_) => Some(cast(batch.column(names.len() - 1), &DataType::Utf8)?),
                None => None,
            };
            for row in 0..batch.num_rows() {
                let Some(vector) = vectors.get(row) else {
                    continue;
                };
                let label = match &labels {
                    Some(labels) if labels.is_null(row) => continue,
                    Some(labels) => Some(labels.as_primitive::<Int64Type>().value(row)),
                    None => None,
                };
                let key = match &partitions {
                    Some(values) if values.is_null(row) => continue,
                    Some(values) => values.as_string::<i32>().value(row).to_string(),
                    None => String::new(),
                };
                if vector.iter().any(|v| !v.is_finite()) {
                    return exec_err!(
                        "{function}(): a vector in '{}' has a NaN or infinite value; filter it \
                         out or fix it",
                        self.vector
                    );
                }
                input.dim = vector.len();
                let group = input.partitions.entry(key).or_default();
                group.values.extend_from_slice(vector);
                group.labels.extend(label);
            }
        }
        Ok(input)
    }
}
