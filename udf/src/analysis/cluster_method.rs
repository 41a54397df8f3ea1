//! `ClusterMethod`: a clustering algorithm and its parameters, read from a call.
//!
//! Shared by the `cluster()` window function and the `CLUSTER` statement, so that both take
//! the same methods and parameters with the same defaults and errors.

use datafusion::common::{Result, ScalarValue, plan_err};
use reeldb_linalg::Points;
use reeldb_linalg::cluster::dbscan::{DbscanParams, NeighbourSearch, dbscan};
use reeldb_linalg::cluster::hdbscan::{ClusterSelection, HdbscanParams, hdbscan};
use reeldb_linalg::cluster::kmeans::{KMeansParams, kmeans};
use reeldb_linalg::neighbours::ClusterMetric;

use super::params::{ParamKind, ParamSpec, Params};

/// The parameters of `dbscan`, in positional order.
pub const DBSCAN_PARAMS: &[ParamSpec] = &[
    ParamSpec::required(
        "eps",
        ParamKind::Number,
        "required: the neighbourhood radius, in the metric's distance",
    ),
    ParamSpec::optional(
        "min_samples",
        ParamKind::Whole,
        "points within eps, itself included, that make a core point; default 5",
    ),
    ParamSpec::optional(
        "metric",
        ParamKind::Text,
        "'euclidean' (default) or 'cosine'",
    ),
    ParamSpec::optional(
        "neighbours",
        ParamKind::Text,
        "'exact' (default: a scan) or 'hnsw' (an approximate graph; on clustered data the scan is faster)",
    ),
];

/// The parameters of `hdbscan`, in positional order.
pub const HDBSCAN_PARAMS: &[ParamSpec] = &[
    ParamSpec::optional(
        "min_cluster_size",
        ParamKind::Whole,
        "the smallest group that counts as a cluster; default 5",
    ),
    ParamSpec::optional(
        "min_samples",
        ParamKind::Whole,
        "neighbours that make a point dense; default min_cluster_size",
    ),
    ParamSpec::optional(
        "selection",
        ParamKind::Text,
        "'eom' (excess of mass, default) or 'leaf' (finer clusters)",
    ),
    ParamSpec::optional(
        "metric",
        ParamKind::Text,
        "'euclidean' (default) or 'cosine'",
    ),
    ParamSpec::optional(
        "epsilon",
        ParamKind::Number,
        "clusters closer than this are merged; default 0",
    ),
    ParamSpec::optional(
        "allow_single_cluster",
        ParamKind::Flag,
        "whether all points may form one cluster; default false",
    ),
];

/// The parameters of `kmeans`, in positional order.
pub const KMEANS_PARAMS: &[ParamSpec] = &[
    ParamSpec::required("k", ParamKind::Whole, "required: the number of clusters"),
    ParamSpec::optional(
        "seed",
        ParamKind::Whole,
        "of the k-means++ start; default 0",
    ),
    ParamSpec::optional(
        "n_init",
        ParamKind::Whole,
        "runs from different starts, the best kept; default 1",
    ),
    ParamSpec::optional(
        "max_iter",
        ParamKind::Whole,
        "iterations per run; default 300",
    ),
    ParamSpec::optional(
        "tolerance",
        ParamKind::Number,
        "convergence, relative to the data's variance; default 0.0001",
    ),
    ParamSpec::optional(
        "metric",
        ParamKind::Text,
        "'euclidean' (default) or 'cosine' (vectors scaled to unit length first)",
    ),
];

/// The methods, for error messages.
pub const CLUSTER_METHODS: &str = "'dbscan', 'hdbscan' or 'kmeans'";

/// A clustering algorithm with its parameters.
#[derive(Debug, Clone)]
pub enum ClusterMethod {
    /// DBSCAN.
    Dbscan(DbscanParams),
    /// HDBSCAN.
    Hdbscan(HdbscanParams),
    /// k-means; with the cosine metric, vectors are scaled to unit length first.
    KMeans {
        /// The algorithm's parameters.
        params: KMeansParams,
        /// Euclidean, or cosine (unit vectors).
        metric: ClusterMetric,
    },
}

impl ClusterMethod {
    /// The parameters of `method`, in positional order.
    pub fn specs(method: &str) -> Result<&'static [ParamSpec]> {
        match method.trim().to_ascii_lowercase().as_str() {
            "dbscan" => Ok(DBSCAN_PARAMS),
            "hdbscan" => Ok(HDBSCAN_PARAMS),
            "kmeans" | "k-means" | "k_means" => Ok(KMEANS_PARAMS),
            other => plan_err!("unknown clustering method '{other}': use {CLUSTER_METHODS}"),
        }
    }

    /// `method` with parameters by position and `'name=value'` (function calls).
    pub fn from_args(function: &str, method: &str, args: &[ScalarValue]) -> Result<Self> {
        let specs = Self::specs(method)?;
        let context = format!("{function}(..., '{method}')");
        Self::from_params(method, &Params::parse(&context, specs, args)?)
    }

    /// `method` with parameters by name (the `CLUSTER` statement).
    pub fn from_named(method: &str, pairs: &[(String, ScalarValue)]) -> Result<Self> {
        let specs = Self::specs(method)?;
        let context = format!("CLUSTER ... USING {method}");
        Self::from_params(method, &Params::parse_named(&context, specs, pairs)?)
    }

    fn from_params(method: &str, params: &Params) -> Result<Self> {
        let metric = match params.text("metric") {
            Some(text) => ClusterMetric::parse(text).map_err(|e| {
                datafusion::error::DataFusionError::Plan(format!("{}: {e}", params.context()))
            })?,
            None => ClusterMetric::Euclidean,
        };
        match method.trim().to_ascii_lowercase().as_str() {
            "dbscan" => {
                let eps = params.number("eps").unwrap_or_default();
                if eps <= 0.0 {
                    return plan_err!(
                        "{}: eps must be above 0, not {eps}; it is the radius within which \
                         points are neighbours",
                        params.context()
                    );
                }
                let mut dbscan = DbscanParams::new(eps as f32);
                if let Some(min_samples) = params.count("min_samples", 1)? {
                    dbscan.min_samples = min_samples;
                }
                dbscan.metric = metric;
                dbscan.search = match params.text("neighbours").map(str::to_ascii_lowercase) {
                    None => NeighbourSearch::Exact,
                    Some(text) if text == "exact" => NeighbourSearch::Exact,
                    Some(text) if text == "hnsw" => NeighbourSearch::Hnsw,
                    Some(other) => {
                        return plan_err!(
                            "{}: neighbours must be 'exact' or 'hnsw', not '{other}'",
                            params.context()
                        );
                    }
                };
                Ok(ClusterMethod::Dbscan(dbscan))
            }
            "hdbscan" => {
                let mut hdbscan =
                    HdbscanParams::new(params.count("min_cluster_size", 2)?.unwrap_or(5));
                hdbscan.min_samples = params.count("min_samples", 1)?;
                hdbscan.selection = match params.text("selection").map(str::to_ascii_lowercase) {
                    None => ClusterSelection::ExcessOfMass,
                    Some(text) if text == "eom" || text == "excess_of_mass" => {
                        ClusterSelection::ExcessOfMass
                    }
                    Some(text) if text == "leaf" => ClusterSelection::Leaf,
                    Some(other) => {
                        return plan_err!(
                            "{}: selection must be 'eom' (excess of mass) or 'leaf', not '{other}'",
                            params.context()
                        );
                    }
                };
                hdbscan.metric = metric;
                if let Some(epsilon) = params.number("epsilon") {
                    if epsilon < 0.0 {
                        return plan_err!(
                            "{}: epsilon must be 0 or more, not {epsilon}",
                            params.context()
                        );
                    }
                    hdbscan.cluster_selection_epsilon = epsilon;
                }
                if let Some(allow) = params.flag("allow_single_cluster") {
                    hdbscan.allow_single_cluster = allow;
                }
                Ok(ClusterMethod::Hdbscan(hdbscan))
            }
            _ => {
                let k = params.count("k", 1)?.unwrap_or(1);
                let mut kmeans = KMeansParams::new(k);
                if let Some(seed) = params.whole("seed") {
                    kmeans.seed = seed as u64;
                }
                if let Some(n_init) = params.count("n_init", 1)? {
                    kmeans.n_init = n_init;
                }
                if let Some(max_iter) = params.count("max_iter", 1)? {
                    kmeans.max_iter = max_iter;
                }
                if let Some(tolerance) = params.number("tolerance") {
                    if tolerance < 0.0 {
                        return plan_err!(
                            "{}: tolerance must be 0 or more, not {tolerance}",
                            params.context()
                        );
                    }
                    kmeans.tolerance = tolerance;
                }
                Ok(ClusterMethod::KMeans {
                    params: kmeans,
                    metric,
                })
            }
        }
    }

    /// Clusters `points`: one label per point, noise -1.
    pub fn run(&self, points: &Points<'_>) -> reeldb_linalg::Result<Vec<i64>> {
        match self {
            ClusterMethod::Dbscan(params) => dbscan(points, params),
            ClusterMethod::Hdbscan(params) => hdbscan(points, params),
            ClusterMethod::KMeans { params, metric } => match metric {
                ClusterMetric::Euclidean => Ok(kmeans(points, params)?.labels),
                ClusterMetric::Cosine => {
                    let unit = unit_rows(points);
                    let unit = Points::new(&unit, points.dim())?;
                    Ok(kmeans(&unit, params)?.labels)
                }
            },
        }
    }
}

/// The rows scaled to unit length (zero rows stay zero), for cosine k-means.
fn unit_rows(points: &Points<'_>) -> Vec<f32> {
    let mut data = points.data().to_vec();
    for row in data.chunks_exact_mut(points.dim()) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    data
}
