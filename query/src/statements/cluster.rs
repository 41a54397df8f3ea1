//! `CLUSTER table ON column USING method [(...)] [PARTITION BY column] INTO column`: clusters
//! a table's vectors and keeps the labels as a column.
//!
//! The statement is `cluster(column, method, ...) OVER (PARTITION BY ...)` written back into
//! the table, in one commit: the table is rewritten with the label column added (or, if it
//! exists, replaced), its rows in their order, its vector indexes rebuilt and its columns'
//! models kept. A failure leaves the table as it was.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::common::{Column, ScalarValue};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{Expr, ExprFunctionExt, SortExpr};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SessionConfig, SessionContext, lit};
use futures::StreamExt;
use reeldb_engine::vector::vector_dimension;
use reeldb_engine::{Database, IndexSpec};
use reeldb_udf::{ClusterMethod, cluster_udwf};

use super::batch_stream;
use crate::append::append_stream;
use crate::ast::{ClusterInto, OptionValue};
use crate::error::{Error, Result};
use crate::table::ReeldbTable;

/// The column that keeps the rows' order while they are clustered.
const ROW_COLUMN: &str = "__reeldb_row";

/// The new labels while they are matched with the old (`KEEP LABELS`).
const NEW_LABEL_COLUMN: &str = "__reeldb_new_label";

/// The partition, as text, while labels are matched.
const PARTITION_COLUMN: &str = "__reeldb_partition";

/// What a `CLUSTER` statement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ClusterReport {
    /// Rows written.
    rows: u64,
    /// Distinct clusters (over all partitions).
    clusters: u64,
    /// Rows labelled noise.
    noise: u64,
}

impl ClusterReport {
    /// The report as a one-row batch: `rows`, `clusters`, `noise`.
    fn to_batch(self) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("rows", DataType::UInt64, false),
            Field::new("clusters", DataType::UInt64, false),
            Field::new("noise", DataType::UInt64, false),
        ]));
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(UInt64Array::from(vec![self.rows])),
                Arc::new(UInt64Array::from(vec![self.clusters])),
                Arc::new(UInt64Array::from(vec![self.noise])),
            ],
        )?)
    }
}

/// Runs `statement` on `db` in one write transaction; the result is the report's row.
pub(crate) async fn cluster_into(
    db: &Database,
    statement: &ClusterInto,
) -> Result<SendableRecordBatchStream> {
    let pairs: Vec<(String, ScalarValue)> = statement
        .options
        .iter()
        .map(|(name, value)| (name.clone(), option_scalar(value)))
        .collect();
    // Checks the method and its parameters before any work.
    ClusterMethod::from_named(&statement.method, &pairs)?;

    let mut txn = db.begin_write()?;
    let entry = txn.table(&statement.table)?.clone();
    let old_schema = entry.schema()?;
    let names: Vec<&str> = old_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let Ok(vector_field) = old_schema.field_with_name(&statement.column) else {
        return Err(Error::InvalidArgument(format!(
            "CLUSTER: table '{}' has no column '{}'; its columns are {}",
            statement.table,
            statement.column,
            names.join(", ")
        )));
    };
    if vector_dimension(vector_field.data_type()).is_none() {
        return Err(Error::InvalidArgument(format!(
            "CLUSTER: column '{}' is {}, not a vector column",
            statement.column,
            vector_field.data_type()
        )));
    }
    if let Some(partition) = &statement.partition
        && old_schema.field_with_name(partition).is_err()
    {
        return Err(Error::InvalidArgument(format!(
            "CLUSTER: table '{}' has no column '{partition}' to partition by; its columns are {}",
            statement.table,
            names.join(", ")
        )));
    }
    if statement.into == statement.column || Some(&statement.into) == statement.partition.as_ref() {
        return Err(Error::InvalidArgument(format!(
            "CLUSTER: the labels cannot go INTO '{}', which the statement reads; name a new \
             column",
            statement.into
        )));
    }
    if let Ok(existing) = old_schema.field_with_name(&statement.into)
        && existing.data_type() != &DataType::Int64
    {
        return Err(Error::InvalidArgument(format!(
            "CLUSTER: column '{}' exists and holds {}, not labels; name a new column (or drop \
             that one first)",
            statement.into,
            existing.data_type()
        )));
    }

    let keeps_labels = statement.keep_labels;
    if keeps_labels && old_schema.field_with_name(&statement.into).is_err() {
        return Err(Error::InvalidArgument(format!(
            "CLUSTER ... KEEP LABELS: table '{}' has no column '{}' whose labels could be kept; \
             run the statement without KEEP LABELS first",
            statement.table, statement.into
        )));
    }

    // The new layout: the old columns, the label column replaced in place or added last.
    let label_field = Field::new(&statement.into, DataType::Int64, true);
    let mut fields: Vec<Field> = old_schema
        .fields()
        .iter()
        .map(|f| {
            if f.name() == &statement.into {
                label_field.clone()
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    if old_schema.field_with_name(&statement.into).is_err() {
        fields.push(label_field);
    }
    let new_schema = Schema::new(fields);

    // Read through a one-partition context so that the row numbers follow the table's order.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    ctx.register_udwf(cluster_udwf().as_ref().clone());
    let table = Arc::new(ReeldbTable::new(Arc::clone(txn.base()), &statement.table)?);
    let partition_by: Vec<Expr> = statement.partition.iter().map(|p| column(p)).collect();
    let labels = cluster_udwf()
        .call(cluster_args(statement, &pairs))
        .partition_by(partition_by)
        .build()?
        .alias(&statement.into);
    let kept: Vec<Expr> = new_schema
        .fields()
        .iter()
        .map(|f| column(f.name()))
        .collect();
    let mut read: Vec<Expr> = old_schema
        .fields()
        .iter()
        .filter(|f| f.name() != &statement.into)
        .map(|f| column(f.name()))
        .collect();
    read.push(row_number().alias(ROW_COLUMN));
    let frame = ctx
        .read_table(table)?
        .select(read)?
        .window(vec![labels])?
        .sort(vec![SortExpr::new(column(ROW_COLUMN), true, false)])?
        .select(kept)?;
    let stream = frame.execute_stream().await?;
    // KEEP LABELS: the clustering runs once more first, on the label columns only, to match
    // the new clusters with the old labels (it gives the same labels both times: results
    // depend only on the vectors and the parameters).
    let kept_labels = if keeps_labels {
        let matching = ctx
            .read_table(Arc::new(ReeldbTable::new(
                Arc::clone(txn.base()),
                &statement.table,
            )?))?
            .window(vec![
                cluster_udwf()
                    .call(cluster_args(statement, &pairs))
                    .partition_by(statement.partition.iter().map(|p| column(p)).collect())
                    .build()?
                    .alias(NEW_LABEL_COLUMN),
            ])?
            .select(vec![
                match &statement.partition {
                    Some(p) => column(p),
                    None => lit(ScalarValue::Utf8(None)),
                }
                .alias(PARTITION_COLUMN),
                column(&statement.into),
                column(NEW_LABEL_COLUMN),
            ])?;
        Some(LabelMatching::from_batches(&matching.collect().await?)?)
    } else {
        None
    };

    // Counts clusters and noise as the rows go by.
    let noise = Arc::new(AtomicU64::new(0));
    let clusters = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let label_index = new_schema.index_of(&statement.into)?;
    let partition_index = match &statement.partition {
        Some(p) => Some(new_schema.index_of(p)?),
        None => None,
    };
    let (noise_tally, cluster_tally) = (Arc::clone(&noise), Arc::clone(&clusters));
    let schema = stream.schema();
    let counted = stream.map(move |batch| {
        let mut batch = batch?;
        let partitions = partition_index
            .map(|i| arrow::compute::cast(batch.column(i), &DataType::Utf8))
            .transpose()?;
        if let Some(matching) = &kept_labels {
            let labels = batch.column(label_index).as_primitive::<Int64Type>();
            let kept: Int64Array = (0..labels.len())
                .map(|row| {
                    labels.is_valid(row).then(|| {
                        let partition = partitions
                            .as_ref()
                            .filter(|p| p.is_valid(row))
                            .map(|p| p.as_string::<i32>().value(row));
                        matching.label(partition, labels.value(row))
                    })
                })
                .collect();
            let mut columns = batch.columns().to_vec();
            columns[label_index] = Arc::new(kept);
            batch = RecordBatch::try_new(batch.schema(), columns)?;
        }
        let labels = batch.column(label_index).as_primitive::<Int64Type>();
        let mut seen = cluster_tally.lock().unwrap_or_else(|p| p.into_inner());
        for row in 0..labels.len() {
            if labels.is_null(row) {
                continue;
            }
            let label = labels.value(row);
            if label < 0 {
                noise_tally.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let partition = partitions
                .as_ref()
                .filter(|p| p.is_valid(row))
                .map(|p| p.as_string::<i32>().value(row).to_string());
            seen.insert((partition, label));
        }
        drop(seen);
        Ok(batch)
    });
    let stream = Box::pin(RecordBatchStreamAdapter::new(schema, counted));

    let specs: Vec<IndexSpec> = entry
        .indexes
        .iter()
        .map(IndexSpec::of_entry)
        .collect::<reeldb_engine::Result<_>>()?;
    txn.drop_table(&statement.table)?;
    txn.create_table(&statement.table, &new_schema)?;
    let (mut txn, rows) = append_stream(txn, &statement.table, stream).await?;
    for spec in &specs {
        txn.create_vector_index(&statement.table, spec)?;
    }
    txn.commit()?;
    let clusters = clusters.lock().unwrap_or_else(|p| p.into_inner()).len() as u64;
    let report = ClusterReport {
        rows,
        clusters,
        noise: noise.load(Ordering::Relaxed),
    };
    batch_stream(report.to_batch()?)
}

fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

/// The arguments of `cluster(column, method, 'name=value', ...)` for `statement`.
fn cluster_args(statement: &ClusterInto, pairs: &[(String, ScalarValue)]) -> Vec<Expr> {
    let mut args = vec![column(&statement.column), lit(statement.method.clone())];
    args.extend(
        pairs
            .iter()
            .map(|(name, value)| lit(format!("{name}={}", scalar_text(value)))),
    );
    args
}

/// The new cluster labels matched with the old ones, per partition, for `KEEP LABELS`.
///
/// Pairs of (new cluster, old label) are taken by how many rows they share, most first (ties:
/// the smaller new, then old label): each new cluster takes the old label it shares most rows
/// with that no larger overlap took. A new cluster with no old label left gets the next number
/// above the partition's largest old label, in the order of the new labels. Noise stays noise.
#[derive(Debug, Default)]
struct LabelMatching {
    labels: HashMap<(Option<String>, i64), i64>,
}

impl LabelMatching {
    /// From batches of (partition as text, old label, new label).
    fn from_batches(batches: &[RecordBatch]) -> Result<Self> {
        type Overlaps = BTreeMap<(i64, i64), u64>;
        let mut partitions: HashMap<Option<String>, (Overlaps, BTreeSet<i64>, i64)> =
            HashMap::new();
        for batch in batches {
            let partition = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
            let partition = partition.as_string::<i32>();
            let old = arrow::compute::cast(batch.column(1), &DataType::Int64)?;
            let old = old.as_primitive::<Int64Type>();
            let new = batch.column(2).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                let key = partition
                    .is_valid(row)
                    .then(|| partition.value(row).to_string());
                let (overlaps, clusters, largest) = partitions
                    .entry(key)
                    .or_insert_with(|| (BTreeMap::new(), BTreeSet::new(), -1));
                let old = old
                    .is_valid(row)
                    .then(|| old.value(row))
                    .filter(|l| *l >= 0);
                if let Some(old) = old {
                    *largest = (*largest).max(old);
                }
                let Some(new) = new
                    .is_valid(row)
                    .then(|| new.value(row))
                    .filter(|l| *l >= 0)
                else {
                    continue;
                };
                clusters.insert(new);
                if let Some(old) = old {
                    *overlaps.entry((new, old)).or_default() += 1;
                }
            }
        }
        let mut labels = HashMap::new();
        for (partition, (overlaps, clusters, largest)) in partitions {
            let mut pairs: Vec<((i64, i64), u64)> = overlaps.into_iter().collect();
            pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut taken = BTreeSet::new();
            for ((new, old), _) in pairs {
                let key = (partition.clone(), new);
                if !labels.contains_key(&key) && taken.insert(old) {
                    labels.insert(key, old);
                }
            }
            let mut next = largest + 1;
            for new in clusters {
                labels.entry((partition.clone(), new)).or_insert_with(|| {
                    next += 1;
                    next - 1
                });
            }
        }
        Ok(LabelMatching { labels })
    }

    /// The label a row of `partition` in new cluster `new` gets (noise stays as it is).
    fn label(&self, partition: Option<&str>, new: i64) -> i64 {
        if new < 0 {
            return new;
        }
        self.labels
            .get(&(partition.map(str::to_string), new))
            .copied()
            .unwrap_or(new)
    }
}

fn option_scalar(value: &OptionValue) -> ScalarValue {
    match value {
        OptionValue::Number(n) => ScalarValue::Float64(Some(*n)),
        OptionValue::String(text) | OptionValue::Word(text) => {
            ScalarValue::Utf8(Some(text.clone()))
        }
    }
}

/// The text of a parameter value, for the `'name=value'` form of the window function.
fn scalar_text(value: &ScalarValue) -> String {
    match value {
        ScalarValue::Utf8(Some(text)) => text.clone(),
        ScalarValue::Float64(Some(n)) => n.to_string(),
        other => other.to_string(),
    }
}
