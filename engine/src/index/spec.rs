//! `IndexSpec`: the parameters of a vector index, as `CREATE VECTOR INDEX ... WITH (...)` gives
//! them, checked with their ranges.

use reeldb_linalg::Metric;

use crate::error::{Error, Result};
use crate::manifest::VectorIndexEntry;

/// What a user asks for in `CREATE VECTOR INDEX ... WITH (...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    /// The index name, unique in the database.
    pub name: String,
    /// The vector column to index.
    pub column: String,
    /// The metric searches will use.
    pub metric: Metric,
    /// Links per node (HNSW's M).
    pub m: u32,
    /// Candidate list size while building.
    pub ef_construction: u32,
    /// Default candidate list size while searching.
    pub ef_search: u32,
}

impl IndexSpec {
    /// The defaults: cosine, m 16, ef_construction 200, ef_search 128.
    pub fn new(name: &str, column: &str) -> Self {
        IndexSpec {
            name: name.to_string(),
            column: column.to_string(),
            metric: Metric::Cosine,
            m: 16,
            ef_construction: 200,
            ef_search: 128,
        }
    }

    /// The spec an existing index was built with, to build it again.
    pub fn of_entry(index: &VectorIndexEntry) -> Result<Self> {
        Ok(IndexSpec {
            name: index.name.clone(),
            column: index.column.clone(),
            metric: index.metric.parse()?,
            m: index.m,
            ef_construction: index.ef_construction,
            ef_search: index.ef_search,
        })
    }

    /// Sets one `WITH (key = value)` parameter; the error names the allowed keys and ranges.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let number = |low: u32, high: u32| -> Result<u32> {
            value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (low..=high).contains(n))
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "vector index parameter {key} = '{value}': use a whole number from {low} to {high}"
                    ))
                })
        };
        match key.to_ascii_lowercase().as_str() {
            "metric" => self.metric = value.parse()?,
            "m" => self.m = number(2, 128)?,
            "ef_construction" => self.ef_construction = number(8, 4096)?,
            "ef_search" => self.ef_search = number(1, 65536)?,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown vector index parameter '{key}': use metric, m, ef_construction or ef_search"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked_with_their_ranges() {
        let mut spec = IndexSpec::new("i", "v");
        spec.set("M", "32").unwrap();
        spec.set("metric", "euclidean").unwrap();
        assert_eq!((spec.m, spec.metric), (32, Metric::L2));
        let err = spec.set("m", "1000").unwrap_err().to_string();
        assert!(err.contains("from 2 to 128"), "{err}");
        let err = spec.set("efsearch", "10").unwrap_err().to_string();
        assert!(
            err.contains("use metric, m, ef_construction or ef_search"),
            "{err}"
        );
    }
}
