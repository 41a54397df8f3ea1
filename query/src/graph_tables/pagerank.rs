//! `pagerank(table, source, target [, weight] [, damping => 0.85] [, iterations => 100]
//! [, tolerance => 1e-6] [, directed => true])`: the PageRank of every node of an edge
//! table, as networkx 3.x's `pagerank` computes it (the algorithm and its choices are in
//! [`reeldb_linalg::graph::pagerank`]: weighted out-degrees, dangling nodes spread evenly,
//! duplicate edges summed, undirected edges both ways).
//!
//! Node ids are whole numbers or text; the result's `node` has the ids' type (BIGINT when
//! source and target are integers of different widths). Rows with a NULL source, target or
//! weight are left out. An empty table gives no rows.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion::catalog::{
    MemoryCatalogProvider, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::logical_expr::Documentation;
use reeldb_linalg::graph::{PageRankParams, pagerank};
use reeldb_udf::DOC_SECTION_GRAPH;
use reeldb_udf::analysis::params::{ParamKind, ParamSpec};

use super::{column_type, is_text, read_columns, resolve_table};
use crate::cluster_tables::computed::ComputedTable;
use crate::functions::{DocumentedTableFunction, with_param_arguments};
use crate::table::ReeldbTable;
use crate::table_function_args::TableArgs;

const NAME: &str = "pagerank";
const USAGE: &str = "pagerank('edge table', 'source column', 'target column' \
                     [, 'weight column'] [, damping => 0.85] [, iterations => 100] \
                     [, tolerance => 1e-6] [, directed => true])";

/// The parameters after the table, source and target columns, in positional order.
pub const PAGERANK_PARAMS: &[ParamSpec] = &[
    ParamSpec::optional(
        "weight",
        ParamKind::Text,
        "a numeric column of edge weights (0 or more); default: every edge weighs 1",
    ),
    ParamSpec::optional(
        "damping",
        ParamKind::Number,
        "the chance of following an edge rather than jumping to any node, in [0, 1]; \
         default 0.85",
    ),
    ParamSpec::optional(
        "iterations",
        ParamKind::Whole,
        "power iterations before giving up with an error; default 100",
    ),
    ParamSpec::optional(
        "tolerance",
        ParamKind::Number,
        "stop when the ranks change by less than nodes x tolerance (L1); default 1e-6",
    ),
    ParamSpec::optional(
        "directed",
        ParamKind::Flag,
        "false: every edge counts both ways; default true",
    ),
];

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    let builder = Documentation::builder(
        DOC_SECTION_GRAPH,
        "The PageRank of every node of an edge table, as networkx 3.x's `pagerank` computes \
         it: each node's rank flows along its out-edges in proportion to their weights, a \
         node without out-edges spreads its rank over all nodes, and the power iteration \
         stops when the ranks change by less than nodes x `tolerance` (an error if that takes \
         more than `iterations`). An edge given twice weighs the sum of its weights (networkx \
         on a MultiDiGraph); with `directed => false` every edge counts both ways. One row per \
         node, highest rank first: `node` (the ids' type: whole numbers or text) and `rank` \
         (the ranks sum to 1). Rows with a NULL id or weight are left out. Parameters after \
         the target go by position, as `name => value` or as 'name=value'.",
        "pagerank(table, source, target [, weight] [, damping => 0.85] \
         [, iterations => 100] [, tolerance => 1e-6] [, directed => true])",
    )
    .with_sql_example(
        r#"```sql
> SELECT node, round(rank, 4) AS rank FROM pagerank('edges', 'source', 'target', 'weight');
+--------+--------+
| node   | rank   |
+--------+--------+
| anchor | 0.3974 |
| guest  | 0.3878 |
| expert | 0.2148 |
+--------+--------+
```"#,
    )
    .with_argument("table", "The edge table's name, as text")
    .with_argument("source", "The name of its column of edge sources, as text")
    .with_argument("target", "The name of its column of edge targets, as text");
    with_param_arguments(builder, PAGERANK_PARAMS)
        .with_related_udf("face_cooccurrence")
        .build()
});

/// The `pagerank` table function of a session.
#[derive(Debug)]
pub struct PageRankFunction {
    catalog: Arc<MemoryCatalogProvider>,
}

impl PageRankFunction {
    /// The function over the tables the session binds in `catalog`.
    pub fn new(catalog: Arc<MemoryCatalogProvider>) -> Self {
        PageRankFunction { catalog }
    }
}

impl DocumentedTableFunction for PageRankFunction {
    fn name(&self) -> &'static str {
        NAME
    }

    fn documentation(&self) -> &Documentation {
        &DOCUMENTATION
    }
}

/// What one call reads.
#[derive(Debug, Clone)]
struct Input {
    table: Arc<ReeldbTable>,
    source: String,
    target: String,
    weight: Option<String>,
    /// The type of the ids, as read and as the result shows them.
    ids: DataType,
    params: PageRankParams,
}

impl TableFunctionImpl for PageRankFunction {
    fn call_with_args(&self, call: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let args = TableArgs::new(NAME, USAGE, &call);
        args.expect_at_least(3)?;
        let table_name = args.text(0, "edge table name")?;
        let source = args.text(1, "source column name")?;
        let target = args.text(2, "target column name")?;
        let params = args.params(
            &format!("{NAME}('{table_name}', '{source}', '{target}', ...)"),
            PAGERANK_PARAMS,
            3,
        )?;
        let defaults = PageRankParams::default();
        let ranking = PageRankParams {
            damping: params.number("damping").unwrap_or(defaults.damping),
            max_iterations: params
                .count("iterations", 1)?
                .unwrap_or(defaults.max_iterations),
            tolerance: params.number("tolerance").unwrap_or(defaults.tolerance),
            directed: params.flag("directed").unwrap_or(defaults.directed),
        };
        ranking
            .check()
            .map_err(|e| DataFusionError::Plan(format!("{}: {e}", params.context())))?;
        let weight = params.text("weight").map(str::to_string);

        let table = resolve_table(NAME, &self.catalog, &table_name)?;
        let source_type = column_type(NAME, &table, &source, "the edge sources")?;
        let target_type = column_type(NAME, &table, &target, "the edge targets")?;
        for (column, data_type) in [(&source, &source_type), (&target, &target_type)] {
            if !(data_type.is_integer() || is_text(data_type)) {
                return plan_err!(
                    "{NAME}(): the node id column '{column}' is {data_type}; node ids must be \
                     whole numbers or text"
                );
            }
        }
        let ids = if source_type == target_type {
            source_type
        } else if source_type.is_integer() && target_type.is_integer() {
            DataType::Int64
        } else if is_text(&source_type) && is_text(&target_type) {
            DataType::Utf8
        } else {
            return plan_err!(
                "{NAME}(): the source '{source}' is {source_type} but the target '{target}' \
                 is {target_type}; node ids must be all whole numbers or all text (CAST one \
                 of them into a new table)"
            );
        };
        if let Some(weight) = &weight {
            let weight_type = column_type(NAME, &table, weight, "the edge weights")?;
            if !weight_type.is_numeric() {
                return plan_err!(
                    "{NAME}(): the weight column '{weight}' is {weight_type}, not numbers"
                );
            }
        }
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("node", ids.clone(), false),
            Field::new("rank", DataType::Float64, false),
        ]));
        let description = format!(
            "{NAME}: table={table_name} source={source} target={target}{} damping={} \
             iterations={} tolerance={} directed={}",
            weight
                .as_deref()
                .map(|w| format!(" weight={w}"))
                .unwrap_or_default(),
            ranking.damping,
            ranking.max_iterations,
            ranking.tolerance,
            ranking.directed
        );
        let input = Input {
            table,
            source,
            target,
            weight,
            ids,
            params: ranking,
        };
        let result_schema = Arc::clone(&schema);
        let compute = Arc::new(move || {
            let input = input.clone();
            let schema = Arc::clone(&result_schema);
            Box::pin(async move {
                let batches = {
                    let mut columns = vec![input.source.as_str(), input.target.as_str()];
                    columns.extend(input.weight.as_deref());
                    read_columns(&input.table, &columns).await?
                };
                tokio::task::spawn_blocking(move || rank(&input, &batches, schema))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
            }) as _
        });
        Ok(Arc::new(ComputedTable::new(description, schema, compute)))
    }
}

/// Node ids, numbered in order of first appearance.
#[derive(Default)]
struct Nodes<K> {
    index: HashMap<K, usize>,
    ids: Vec<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Nodes<K> {
    fn number(&mut self, id: K) -> usize {
        if let Some(&n) = self.index.get(&id) {
            return n;
        }
        let n = self.ids.len();
        self.index.insert(id.clone(), n);
        self.ids.push(id);
        n
    }
}

fn rank(input: &Input, batches: &[RecordBatch], schema: SchemaRef) -> Result<RecordBatch> {
    let text_ids = is_text(&input.ids);
    let key_type = if text_ids {
        DataType::Utf8
    } else {
        DataType::Int64
    };
    let mut numbers: Nodes<i64> = Nodes::default();
    let mut texts: Nodes<String> = Nodes::default();
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    for batch in batches {
        let sources = cast(batch.column(0), &key_type)?;
        let targets = cast(batch.column(1), &key_type)?;
        let weights = match input.weight {
            Some(_) => Some(cast(batch.column(2), &DataType::Float64)?),
            None => None,
        };
        for row in 0..batch.num_rows() {
            if sources.is_null(row) || targets.is_null(row) {
                continue;
            }
            let weight = match &weights {
                Some(w) if w.is_null(row) => continue,
                Some(w) => w.as_primitive::<Float64Type>().value(row),
                None => 1.0,
            };
            let (source, target) = if text_ids {
                let (s, t) = (sources.as_string::<i32>(), targets.as_string::<i32>());
                (
                    texts.number(s.value(row).to_string()),
                    texts.number(t.value(row).to_string()),
                )
            } else {
                let (s, t) = (
                    sources.as_primitive::<Int64Type>(),
                    targets.as_primitive::<Int64Type>(),
                );
                (numbers.number(s.value(row)), numbers.number(t.value(row)))
            };
            edges.push((source, target, weight));
        }
    }
    let count = if text_ids {
        texts.ids.len()
    } else {
        numbers.ids.len()
    };
    let ranks = pagerank(count, &edges, &input.params).map_err(|e| {
        let hint = match &input.weight {
            Some(weight) => format!(" (weights from '{weight}')"),
            None => String::new(),
        };
        DataFusionError::Execution(format!("{NAME}(){hint}: {e}"))
    })?;
    let mut order: Vec<usize> = (0..count).collect();
    // Highest rank first; equal ranks by id, so the order is the same on every run.
    if text_ids {
        order.sort_by(|&x, &y| {
            ranks[y]
                .total_cmp(&ranks[x])
                .then(texts.ids[x].cmp(&texts.ids[y]))
        });
    } else {
        order.sort_by(|&x, &y| {
            ranks[y]
                .total_cmp(&ranks[x])
                .then(numbers.ids[x].cmp(&numbers.ids[y]))
        });
    }
    let nodes: ArrayRef = if text_ids {
        Arc::new(
            order
                .iter()
                .map(|&i| Some(texts.ids[i].as_str()))
                .collect::<StringArray>(),
        )
    } else {
        Arc::new(
            order
                .iter()
                .map(|&i| numbers.ids[i])
                .collect::<Int64Array>(),
        )
    };
    let nodes = cast(&nodes, &input.ids)?;
    let ranks: ArrayRef = Arc::new(order.iter().map(|&i| ranks[i]).collect::<Float64Array>());
    Ok(RecordBatch::try_new(schema, vec![nodes, ranks])?)
}
