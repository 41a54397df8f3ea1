//! `face_cooccurrence(table, label [, window => 1] [, min_weight => 2] [, directed => false]
//! [, group => 'column'])`: the co-occurrence graph of the identities of a faces table, as
//! the GDELT face networks build it (the rules are in
//! [`reeldb_linalg::graph::cooccurrence`]).
//!
//! The table needs `video` and `frame` (a whole number: consecutive samples of a video are
//! consecutive numbers), as `DETECT FACES` writes them, and a whole-number label column
//! (`CLUSTER faces ON encoding ... INTO person`). Rows with a NULL video, frame, label or
//! group are left out, and so is noise (-1). An empty table (or one with only noise) gives
//! no rows, not an error: a video with nobody recognised has no graph.
//!
//! With `group`, labels are only comparable within a value of that column (clusters made
//! `PARTITION BY video`): each value is a graph of its own, counted and normalised alone, and
//! the column comes first in the result.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::catalog::{
    MemoryCatalogProvider, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::logical_expr::Documentation;
use reeldb_linalg::graph::{CooccurrenceEdge, CooccurrenceParams, FrameLabels, cooccurrence};
use reeldb_udf::DOC_SECTION_GRAPH;
use reeldb_udf::analysis::params::{ParamKind, ParamSpec};

use super::{column_type, read_columns, resolve_table};
use crate::cluster_tables::computed::ComputedTable;
use crate::functions::{DocumentedTableFunction, with_param_arguments};
use crate::table::ReeldbTable;
use crate::table_function_args::TableArgs;

const NAME: &str = "face_cooccurrence";
const USAGE: &str = "face_cooccurrence('faces table', 'label column' [, window => 1] \
                     [, min_weight => 2] [, directed => false] [, group => 'column'])";

/// The column of the video a face is in.
pub const VIDEO_COLUMN: &str = "video";
/// The column of the frame (sample number within the video) a face is in.
pub const FRAME_COLUMN: &str = "frame";
/// The result's columns after the group column.
const RESULT_COLUMNS: [&str; 4] = ["a", "b", "frames", "weight"];

/// The parameters after the table and label column, in positional order.
pub const FACE_COOCCURRENCE_PARAMS: &[ParamSpec] = &[
    ParamSpec::optional(
        "window",
        ParamKind::Whole,
        "how many earlier frames a frame's identities link to; default 1 (the prior frame), \
         0 = the same frame only",
    ),
    ParamSpec::optional(
        "min_weight",
        ParamKind::Whole,
        "pairs counted fewer times are left out; default 2",
    ),
    ParamSpec::optional(
        "directed",
        ParamKind::Flag,
        "keep (a, b) and (b, a) apart, in the seed script's key order; default false",
    ),
    ParamSpec::optional(
        "group",
        ParamKind::Text,
        "a column (such as video) whose values each have labels of their own: one graph each",
    ),
];

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    let builder = Documentation::builder(
        DOC_SECTION_GRAPH,
        "The graph of which identities appear together, from a faces table with `video`, \
         `frame` (the sample number within the video) and a whole-number label column (as \
         `CLUSTER ... INTO person` writes it). Per video, each pair of different labels in a \
         frame counts once, as `(smaller, larger)`, and each label of a frame with each \
         different label of the `window` frames before it counts once per frame pair, this \
         frame's label first. Undirected (the default), `(a, b)` and `(b, a)` are added \
         together as `a < b`. One row per pair: `a`, `b`, `frames` (the count) and `weight` \
         (the count over the largest count, before pairs under `min_weight` are left out), \
         most frames first. Noise (-1) and NULLs are left out; an empty table gives no rows. \
         With `group`, each value of that column is a graph of its own and the column comes \
         first. Parameters after the label go by position, as `name => value` or as \
         'name=value'.",
        "face_cooccurrence(table, label [, window => 1] [, min_weight => 2] \
         [, directed => false] [, group => 'column'])",
    )
    .with_sql_example(
        r#"```sql
> SELECT a, b, frames, weight FROM face_cooccurrence('faces', 'person');
+---+---+--------+--------+
| a | b | frames | weight |
+---+---+--------+--------+
| 0 | 1 | 5      | 1.0    |
| 1 | 2 | 3      | 0.6    |
+---+---+--------+--------+
```"#,
    )
    .with_argument(
        "table",
        "The faces table's name, as text; it needs `video` and `frame` columns",
    )
    .with_argument(
        "label",
        "The name of its identity label column (whole numbers, -1 = noise), as text",
    );
    with_param_arguments(builder, FACE_COOCCURRENCE_PARAMS)
        .with_related_udf("pagerank")
        .with_related_udf("cluster")
        .build()
});

/// The `face_cooccurrence` table function of a session.
#[derive(Debug)]
pub struct FaceCooccurrenceFunction {
    catalog: Arc<MemoryCatalogProvider>,
}

impl FaceCooccurrenceFunction {
    /// The function over the tables the session binds in `catalog`.
    pub fn new(catalog: Arc<MemoryCatalogProvider>) -> Self {
        FaceCooccurrenceFunction { catalog }
    }
}

impl DocumentedTableFunction for FaceCooccurrenceFunction {
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
    label: String,
    group: Option<String>,
    params: CooccurrenceParams,
}

impl TableFunctionImpl for FaceCooccurrenceFunction {
    fn call_with_args(&self, call: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let args = TableArgs::new(NAME, USAGE, &call);
        args.expect_at_least(2)?;
        let table_name = args.text(0, "faces table name")?;
        let label = args.text(1, "label column name")?;
        let params = args.params(
            &format!("{NAME}('{table_name}', '{label}', ...)"),
            FACE_COOCCURRENCE_PARAMS,
            2,
        )?;
        let defaults = CooccurrenceParams::default();
        let counting = CooccurrenceParams {
            window: params
                .count("window", 0)?
                .map_or(defaults.window, |w| w as u64),
            min_weight: params
                .count("min_weight", 0)?
                .map_or(defaults.min_weight, |w| w as u64),
            directed: params.flag("directed").unwrap_or(defaults.directed),
        };
        let group = params.text("group").map(str::to_string);

        let table = resolve_table(NAME, &self.catalog, &table_name)?;
        for (column, what) in [
            (
                VIDEO_COLUMN,
                "the video of each face, as DETECT FACES writes it",
            ),
            (
                FRAME_COLUMN,
                "the sample number of each face within its video, as DETECT FACES writes it",
            ),
        ] {
            column_type(NAME, &table, column, what)?;
        }
        let frame_type = column_type(NAME, &table, FRAME_COLUMN, "the frame")?;
        if !frame_type.is_integer() {
            return plan_err!(
                "{NAME}(): the frame column '{FRAME_COLUMN}' is {frame_type}, not whole \
                 sample numbers; CAST it to BIGINT into a new table, or use the table DETECT \
                 FACES wrote"
            );
        }
        let label_type = column_type(NAME, &table, &label, "the identity labels")?;
        if !label_type.is_integer() {
            return plan_err!(
                "{NAME}(): the label column '{label}' is {label_type}, not whole-number \
                 identity labels (as CLUSTER ... INTO writes them); give the column CLUSTER \
                 wrote"
            );
        }
        let mut fields = Vec::new();
        if let Some(group) = &group {
            let group_type = column_type(NAME, &table, group, "the group")?;
            if RESULT_COLUMNS.contains(&group.as_str()) {
                return plan_err!(
                    "{NAME}(): the group column '{group}' has the name of a result column \
                     ({}); rename it first",
                    RESULT_COLUMNS.join(", ")
                );
            }
            fields.push(Field::new(group, group_type, false));
        }
        fields.extend([
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Int64, false),
            Field::new("frames", DataType::Int64, false),
            Field::new("weight", DataType::Float64, false),
        ]);
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let description = format!(
            "{NAME}: table={table_name} label={label} window={} min_weight={} directed={}{}",
            counting.window,
            counting.min_weight,
            counting.directed,
            group
                .as_deref()
                .map(|g| format!(" group={g}"))
                .unwrap_or_default()
        );
        let input = Input {
            table,
            label,
            group,
            params: counting,
        };
        let result_schema = Arc::clone(&schema);
        let compute = Arc::new(move || {
            let input = input.clone();
            let schema = Arc::clone(&result_schema);
            Box::pin(async move { compute(&input, schema).await }) as _
        });
        Ok(Arc::new(ComputedTable::new(description, schema, compute)))
    }
}

/// The frames of each video, for one group.
#[derive(Default)]
struct Group {
    /// The group's value, as the result shows it.
    value: Option<ScalarValue>,
    videos: BTreeMap<String, FrameLabels>,
}

async fn compute(input: &Input, schema: SchemaRef) -> Result<RecordBatch> {
    // Each column read once (the group may be the video column itself).
    fn position<'a>(columns: &mut Vec<&'a str>, name: &'a str) -> usize {
        match columns.iter().position(|c| *c == name) {
            Some(i) => i,
            None => {
                columns.push(name);
                columns.len() - 1
            }
        }
    }
    let mut columns: Vec<&str> = Vec::new();
    let video_at = position(&mut columns, VIDEO_COLUMN);
    let frame_at = position(&mut columns, FRAME_COLUMN);
    let label_at = position(&mut columns, &input.label);
    let group_at = input
        .group
        .as_deref()
        .map(|group| position(&mut columns, group));
    let batches = read_columns(&input.table, &columns).await?;
    // Groups keyed by their value as text; `None` (no group column) is one group.
    let mut groups: BTreeMap<Option<String>, Group> = BTreeMap::new();
    for batch in &batches {
        let videos = cast(batch.column(video_at), &DataType::Utf8)?;
        let frames = cast(batch.column(frame_at), &DataType::Int64)?;
        let labels = cast(batch.column(label_at), &DataType::Int64)?;
        let group_keys = match group_at {
            Some(at) => Some(cast(batch.column(at), &DataType::Utf8)?),
            None => None,
        };
        let (videos, frames, labels) = (
            videos.as_string::<i32>(),
            frames.as_primitive::<Int64Type>(),
            labels.as_primitive::<Int64Type>(),
        );
        for row in 0..batch.num_rows() {
            if videos.is_null(row) || frames.is_null(row) || labels.is_null(row) {
                continue;
            }
            let key = match &group_keys {
                Some(keys) if keys.is_null(row) => continue,
                Some(keys) => Some(keys.as_string::<i32>().value(row).to_string()),
                None => None,
            };
            let group = groups.entry(key).or_default();
            if let (None, Some(at)) = (&group.value, group_at) {
                group.value = Some(ScalarValue::try_from_array(batch.column(at), row)?);
            }
            group
                .videos
                .entry(videos.value(row).to_string())
                .or_default()
                .insert(frames.value(row), labels.value(row));
        }
    }
    let mut graphs: Vec<(Option<ScalarValue>, Vec<CooccurrenceEdge>)> = Vec::new();
    for group in groups.into_values() {
        let videos: Vec<FrameLabels> = group.videos.into_values().collect();
        let edges = cooccurrence(&videos, &input.params)
            .map_err(|e| DataFusionError::Execution(format!("{NAME}(): {e}")))?;
        graphs.push((group.value, edges));
    }
    // In the order of the group column's values (numbers as numbers), not of their text.
    graphs.sort_by(|(x, _), (y, _)| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
    let edges = || graphs.iter().flat_map(|(_, edges)| edges);
    let mut arrays: Vec<ArrayRef> = Vec::new();
    if input.group.is_some() {
        let values = graphs.iter().flat_map(|(value, edges)| {
            std::iter::repeat_n(value.clone().unwrap_or(ScalarValue::Null), edges.len())
        });
        let values: Vec<ScalarValue> = values.collect();
        let array = if values.is_empty() {
            arrow::array::new_empty_array(schema.field(0).data_type())
        } else {
            ScalarValue::iter_to_array(values)?
        };
        arrays.push(array);
    }
    arrays.push(Arc::new(edges().map(|e| e.a).collect::<Int64Array>()));
    arrays.push(Arc::new(edges().map(|e| e.b).collect::<Int64Array>()));
    arrays.push(Arc::new(
        edges().map(|e| e.frames as i64).collect::<Int64Array>(),
    ));
    arrays.push(Arc::new(
        edges().map(|e| e.weight).collect::<Float64Array>(),
    ));
    Ok(RecordBatch::try_new(schema, arrays)?)
}
