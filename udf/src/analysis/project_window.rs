//! `project(vector, method [, parameters...]) OVER (...)`: a 2-D position `{x, y}` for each
//! row's vector, computed over its window partition (PCA or t-SNE), for maps.

use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Float64Builder, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::literal_args::{literal_args, method_arg};
use super::partition_vectors::PartitionVectors;
use super::projection_method::{PROJECTION_METHODS, ProjectionMethod};
use crate::DOC_SECTION_ANALYSIS;
use crate::vector_arg::check_vector_type;

const NAME: &str = "project";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_ANALYSIS,
        "A position {x, y} on a 2-D map for each row's vector, computed over the rows of its \
         window partition; NULL for a NULL vector. pca: the two principal components \
         (centred). tsne: Barnes-Hut t-SNE (perplexity 30, seed 0, iterations 1000, metric \
         'euclidean'|'cosine', learning_rate, theta 0.5); it starts from PCA, so the map is \
         the same on every run. Read the \
         coordinates as xy['x'] and xy['y'].",
        "project(vector, method [, parameter ...]) OVER ([PARTITION BY ...])",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, project(embedding, 'pca') OVER () AS xy FROM frames WHERE video = 'news' ORDER BY id;
+----+---------------------------------------------------+
| id | xy                                                |
+----+---------------------------------------------------+
| 1  | {x: -0.7071067690849304, y: 0.047140419483184814} |
| 2  | {x: -0.5656853914260864, y: 0.047140419483184814} |
| 3  | {x: -0.5656854510307312, y: -0.0942809134721756}  |
| 4  | {x: 0.7071067690849304, y: 0.047140419483184814}  |
| 5  | {x: 0.5656853914260864, y: 0.047140419483184814}  |
| 6  | {x: 0.5656854510307312, y: -0.0942809134721756}   |
+----+---------------------------------------------------+
```"#,
    )
    .with_argument("vector", "A vector column")
    .with_argument("method", "'pca' or 'tsne'")
    .with_argument(
        "parameter",
        "The method's parameters, constants, in order or 'name=value'",
    )
    .with_related_udf("cluster")
    .build()
});

static UDWF: LazyLock<Arc<WindowUDF>> =
    LazyLock::new(|| Arc::new(WindowUDF::new_from_impl(ProjectFunc::new())));

/// The `project` window function.
pub fn project_udwf() -> Arc<WindowUDF> {
    Arc::clone(&UDWF)
}

/// The fields of a projected point.
fn point_fields() -> Fields {
    Fields::from(vec![
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
    ])
}

/// `project(vector, method, ...)` as a DataFusion window function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ProjectFunc {
    signature: Signature,
}

impl ProjectFunc {
    /// The function.
    pub fn new() -> Self {
        ProjectFunc {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl Default for ProjectFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowUDFImpl for ProjectFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let constants = literal_args(NAME, args.input_exprs(), 1)?;
        let method = method_arg(NAME, &constants, PROJECTION_METHODS)?;
        let method = ProjectionMethod::from_args(NAME, &method, &constants[1..])?;
        Ok(Box::new(ProjectEvaluator { method }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        let inputs = field_args.input_fields();
        if inputs.len() < 2 {
            return plan_err!(
                "{NAME}() takes a vector and a method ({PROJECTION_METHODS}), then the \
                 method's parameters: project(vector, method [, parameter ...]) OVER (...)"
            );
        }
        check_vector_type(NAME, 1, inputs[0].data_type())?;
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Struct(point_fields()),
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// Projects one partition at a time.
#[derive(Debug)]
struct ProjectEvaluator {
    method: ProjectionMethod,
}

impl PartitionEvaluator for ProjectEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let vectors = PartitionVectors::read(NAME, 1, &values[0])?;
        if vectors.row_count() != num_rows {
            return exec_err!(
                "{NAME}(): {num_rows} rows but {} vectors",
                vectors.row_count()
            );
        }
        let positions = match vectors.points() {
            Some(points) => self.method.run(&points).map_err(|e| {
                datafusion::error::DataFusionError::Execution(format!("{NAME}(): {e}"))
            })?,
            None => Vec::new(),
        };
        let mut x = Float64Builder::with_capacity(num_rows);
        let mut y = Float64Builder::with_capacity(num_rows);
        let mut valid = Vec::with_capacity(num_rows);
        for position in vectors.values_by_row(&positions, 2) {
            match position {
                Some(xy) => {
                    x.append_value(xy[0] as f64);
                    y.append_value(xy[1] as f64);
                }
                // A NULL row's children still need a value; the struct's null hides it.
                None => {
                    x.append_value(0.0);
                    y.append_value(0.0);
                }
            }
            valid.push(position.is_some());
        }
        let array = StructArray::try_new(
            point_fields(),
            vec![Arc::new(x.finish()), Arc::new(y.finish())],
            Some(NullBuffer::from(valid)),
        )?;
        Ok(Arc::new(array))
    }
}
