//! `VectorTopK`: the logical plan node that stands for "the k rows of a table nearest to a
//! query vector, among those matching some filters".
//!
//! [`super::rule::VectorTopKRule`] puts it in place of a `Filter`/`TableScan` under
//! `ORDER BY similarity(col, q) DESC LIMIT k`. The node outputs the scan's columns for (at
//! most, and whenever that many match, exactly) the top k rows in no particular order; the
//! `Sort` above it stays, so ordering, ties and the reported scores are the ordinary SQL ones.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::common::{DFSchemaRef, Result, TableReference};
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNodeCore};
use reeldb_engine::SearchMode;
use reeldb_linalg::distance::Metric;

use crate::table::ReeldbTable;

/// The table a node reads; compared by identity (one provider per table per statement).
#[derive(Debug, Clone)]
pub struct TableHandle(pub Arc<ReeldbTable>);

impl PartialEq for TableHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TableHandle {}

impl Hash for TableHandle {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0), state);
    }
}

/// A query vector, compared and hashed by its bits.
#[derive(Debug, Clone)]
pub struct QueryVector(pub Vec<f32>);

impl PartialEq for QueryVector {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for QueryVector {}

impl Hash for QueryVector {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for value in &self.0 {
            value.to_bits().hash(state);
        }
    }
}

/// See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VectorTopKNode {
    /// The table, as the query named it.
    pub table_name: TableReference,
    /// The table's provider.
    pub table: TableHandle,
    /// The table columns the node outputs (`None`: all), as in the `TableScan` it replaces.
    pub projection: Option<Vec<usize>>,
    /// The output schema (that of the replaced `TableScan`).
    pub schema: DFSchemaRef,
    /// The vector column searched.
    pub column: String,
    /// The query vector.
    pub query: QueryVector,
    /// The metric to rank by.
    pub metric: Metric,
    /// How many rows to return.
    pub k: usize,
    /// Predicates on the table's columns that returned rows satisfy.
    pub filters: Vec<Expr>,
    /// Whether rows whose score is NULL rank first (SQL's default for DESC).
    pub nulls_first: bool,
    /// Index or exact scan.
    pub search: SearchMode,
    /// Whether flat vector files may be written (false for read-only databases).
    pub cache_vector_files: bool,
}

impl PartialOrd for VectorTopKNode {
    fn partial_cmp(&self, _other: &Self) -> Option<Ordering> {
        // Plans holding these nodes are compared for equality only.
        None
    }
}

impl UserDefinedLogicalNodeCore for VectorTopKNode {
    fn name(&self) -> &str {
        "VectorTopK"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        Vec::new()
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        self.filters.clone()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "VectorTopK: ")?;
        self.describe(f)
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, _inputs: Vec<LogicalPlan>) -> Result<Self> {
        Ok(VectorTopKNode {
            filters: exprs,
            ..self.clone()
        })
    }
}

impl VectorTopKNode {
    /// The node's parameters as EXPLAIN shows them (shared with the physical plan).
    pub fn describe(&self, f: &mut impl fmt::Write) -> fmt::Result {
        write!(
            f,
            "table={} column={} metric={} k={}",
            self.table_name, self.column, self.metric, self.k
        )?;
        write!(f, " {}", self.search)?;
        if !self.filters.is_empty() {
            let filters: Vec<String> = self.filters.iter().map(ToString::to_string).collect();
            write!(f, " filter=[{}]", filters.join(", "))?;
        }
        if self.nulls_first {
            write!(f, " nulls_first")?;
        }
        Ok(())
    }
}
