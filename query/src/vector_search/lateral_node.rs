//! `LateralVectorTopK`: the logical plan node that stands for "for each input row, the k rows
//! of a table nearest to a vector computed from that row".
//!
//! [`super::lateral_rule::LateralVectorTopKRule`] puts it in place of a lateral join whose
//! subquery ranks a table by `similarity(outer vector, column)`. It outputs each input row
//! joined with its neighbours' columns, nearest first within the row's group; the subquery's
//! projections stay above it as ordinary projections.

use datafusion::datasource::TableProvider;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

use datafusion::common::{DFSchema, DFSchemaRef, Result, TableReference, internal_err};
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNodeCore};
use reeldb_engine::SearchMode;
use reeldb_linalg::distance::Metric;

use super::node::TableHandle;

/// See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LateralVectorTopKNode {
    /// The outer rows.
    pub input: LogicalPlan,
    /// The query vector of each outer row, an expression over `input`'s columns.
    pub query: Expr,
    /// The name the subquery gives the searched table (its alias, or the table's name).
    pub table_name: TableReference,
    /// The searched table's provider.
    pub table: TableHandle,
    /// The table columns output after the outer row's (table positions).
    pub projection: Vec<usize>,
    /// The vector column searched.
    pub column: String,
    /// The ranking function's name (`similarity` or `distance`), for error messages.
    pub function: String,
    /// The metric to rank by.
    pub metric: Metric,
    /// How many neighbours each outer row gets.
    pub k: usize,
    /// How many of the nearest rows to skip first (the subquery's `OFFSET`).
    pub skip: usize,
    /// Predicates on the table's columns alone (qualified by `table_name`).
    pub filters: Vec<Expr>,
    /// Predicates that also read the outer row, over this node's output schema.
    pub correlated_filters: Vec<Expr>,
    /// Whether rows whose score is NULL rank first (SQL's default for DESC).
    pub nulls_first: bool,
    /// Index or exact scan.
    pub search: SearchMode,
    /// Whether flat vector files may be written (false for read-only databases).
    pub cache_vector_files: bool,
    /// `input`'s columns, then the table columns `projection` qualified by `table_name`.
    pub schema: DFSchemaRef,
}

impl LateralVectorTopKNode {
    /// The output schema for `input`: its columns, then the table's columns `projection`.
    pub fn joined_schema(
        input: &LogicalPlan,
        table_name: &TableReference,
        table: &TableHandle,
        projection: &[usize],
    ) -> Result<DFSchemaRef> {
        let inner = table.0.schema().project(projection)?;
        let inner = DFSchema::try_from_qualified_schema(table_name.clone(), &inner)?;
        Ok(Arc::new(input.schema().join(&inner)?))
    }

    /// The node's parameters as EXPLAIN shows them (shared with the physical plan).
    pub fn describe(&self, f: &mut impl fmt::Write) -> fmt::Result {
        write!(
            f,
            "query={} table={} column={} metric={} k={}",
            self.query, self.table_name, self.column, self.metric, self.k
        )?;
        if self.skip > 0 {
            write!(f, " skip={}", self.skip)?;
        }
        write!(f, " {}", self.search)?;
        for (label, filters) in [
            ("filter", &self.filters),
            ("correlated_filter", &self.correlated_filters),
        ] {
            if !filters.is_empty() {
                let filters: Vec<String> = filters.iter().map(ToString::to_string).collect();
                write!(f, " {label}=[{}]", filters.join(", "))?;
            }
        }
        if self.nulls_first {
            write!(f, " nulls_first")?;
        }
        Ok(())
    }
}

impl PartialOrd for LateralVectorTopKNode {
    fn partial_cmp(&self, _other: &Self) -> Option<Ordering> {
        // Plans holding these nodes are compared for equality only.
        None
    }
}

impl UserDefinedLogicalNodeCore for LateralVectorTopKNode {
    fn name(&self) -> &str {
        "LateralVectorTopK"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    /// Only the query vector: the filters read the searched table's columns, which the
    /// optimizer, resolving expressions against the input's schema, does not know. They were
    /// analysed and type-checked with the subquery they came from.
    fn expressions(&self) -> Vec<Expr> {
        vec![self.query.clone()]
    }

    /// Predicates on the outer row's columns may go below the node (to the outer rows); those
    /// naming the table's columns may not. Columns are compared by name, so an outer column
    /// that shares a name with a table column is kept here too.
    fn prevent_predicate_push_down_columns(&self) -> HashSet<String> {
        let input_columns = self.input.schema().fields().len();
        self.schema
            .fields()
            .iter()
            .skip(input_columns)
            .map(|field| field.name().clone())
            .collect()
    }

    /// The input columns the output passes on, and those the correlated filters read (the
    /// query vector's are added by the optimizer from [`Self::expressions`]).
    fn necessary_children_exprs(&self, output_columns: &[usize]) -> Option<Vec<Vec<usize>>> {
        let input_schema = self.input.schema();
        let input_columns = input_schema.fields().len();
        let mut needed: BTreeSet<usize> = output_columns
            .iter()
            .copied()
            .filter(|&index| index < input_columns)
            .collect();
        for filter in &self.correlated_filters {
            for column in filter.column_refs() {
                if let Some(index) = input_schema.maybe_index_of_column(column) {
                    needed.insert(index);
                }
            }
        }
        Some(vec![needed.into_iter().collect()])
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "LateralVectorTopK: ")?;
        self.describe(f)
    }

    fn with_exprs_and_inputs(
        &self,
        mut exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        let (Some(query), Some(input), true, true) = (
            exprs.pop(),
            inputs.pop(),
            exprs.is_empty(),
            inputs.is_empty(),
        ) else {
            return internal_err!("LateralVectorTopK takes one expression and one input");
        };
        let schema = Self::joined_schema(&input, &self.table_name, &self.table, &self.projection)?;
        Ok(LateralVectorTopKNode {
            input,
            query,
            schema,
            ..self.clone()
        })
    }
}
