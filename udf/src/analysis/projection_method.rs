//! `ProjectionMethod`: a 2-D projection and its parameters, read from a `project()` call.

use datafusion::common::{Result, ScalarValue, plan_err};
use reeldb_linalg::Points;
use reeldb_linalg::neighbours::ClusterMetric;
use reeldb_linalg::projection::pca::pca;
use reeldb_linalg::projection::tsne::{TsneParams, tsne};

use super::params::{ParamKind, ParamSpec, Params};

/// The parameters of `tsne`, in positional order.
pub const TSNE_PARAMS: &[ParamSpec] = &[
    ParamSpec::optional(
        "perplexity",
        ParamKind::Number,
        "about how many neighbours each point keeps close; default 30, below the rows",
    ),
    ParamSpec::optional(
        "seed",
        ParamKind::Whole,
        "default 0; the map starts from PCA, so it is the same for every seed today",
    ),
    ParamSpec::optional("iterations", ParamKind::Whole, "default 1000"),
    ParamSpec::optional(
        "metric",
        ParamKind::Text,
        "'euclidean' (default) or 'cosine'",
    ),
    ParamSpec::optional(
        "learning_rate",
        ParamKind::Number,
        "default: rows / 48, at least 50 (scikit-learn's 'auto')",
    ),
    ParamSpec::optional(
        "theta",
        ParamKind::Number,
        "Barnes-Hut accuracy, 0 to 1: smaller is slower and more exact; default 0.5",
    ),
];

/// The methods, for error messages.
pub const PROJECTION_METHODS: &str = "'pca' or 'tsne'";

/// A projection to two dimensions with its parameters.
#[derive(Debug, Clone)]
pub enum ProjectionMethod {
    /// The two principal components.
    Pca,
    /// t-SNE (Barnes-Hut).
    Tsne(TsneParams),
}

impl ProjectionMethod {
    /// `method` with parameters by position and `'name=value'`.
    pub fn from_args(function: &str, method: &str, args: &[ScalarValue]) -> Result<Self> {
        let context = format!("{function}(..., '{method}')");
        match method.trim().to_ascii_lowercase().as_str() {
            "pca" => {
                Params::parse(&context, &[], args)?;
                Ok(ProjectionMethod::Pca)
            }
            "tsne" | "t-sne" => {
                let params = Params::parse(&context, TSNE_PARAMS, args)?;
                let mut tsne = TsneParams::new();
                if let Some(perplexity) = params.number("perplexity") {
                    if perplexity <= 0.0 {
                        return plan_err!(
                            "{context}: perplexity must be above 0, not {perplexity}"
                        );
                    }
                    tsne.perplexity = perplexity;
                }
                if let Some(seed) = params.whole("seed") {
                    tsne.seed = seed as u64;
                }
                if let Some(iterations) = params.count("iterations", 1)? {
                    tsne.iterations = iterations;
                }
                if let Some(metric) = params.text("metric") {
                    tsne.metric = ClusterMetric::parse(metric).map_err(|e| {
                        datafusion::error::DataFusionError::Plan(format!("{context}: {e}"))
                    })?;
                }
                if let Some(rate) = params.number("learning_rate") {
                    if rate <= 0.0 {
                        return plan_err!("{context}: learning_rate must be above 0, not {rate}");
                    }
                    tsne.learning_rate = Some(rate);
                }
                if let Some(theta) = params.number("theta") {
                    if !(0.0..=1.0).contains(&theta) {
                        return plan_err!("{context}: theta must be between 0 and 1, not {theta}");
                    }
                    tsne.theta = theta;
                }
                Ok(ProjectionMethod::Tsne(tsne))
            }
            "umap" => plan_err!(
                "{context}: UMAP is not available in reeldb yet; use 'tsne' to keep \
                 neighbourhoods (clusters) or 'pca' to keep the global layout"
            ),
            other => plan_err!("unknown projection '{other}': use {PROJECTION_METHODS}"),
        }
    }

    /// Projects `points` to 2-D: `x, y` for each point, row after row.
    pub fn run(&self, points: &Points<'_>) -> reeldb_linalg::Result<Vec<f32>> {
        match self {
            ProjectionMethod::Pca => pca(points, 2),
            ProjectionMethod::Tsne(params) => tsne(points, params),
        }
    }
}
