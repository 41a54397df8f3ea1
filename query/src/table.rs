//! A DataFusion table over one table of one snapshot.
//!
//! Scans read the snapshot's Parquet files through DataFusion's Parquet source, so projection
//! pushdown, row-group pruning with statistics, page indexes and late materialisation all come
//! from DataFusion. Filters are reported `Inexact`: DataFusion keeps its filter above the scan
//! and pushes the predicate into the Parquet source for pruning.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::object_store::path::Path as ObjectPath;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use reeldb_engine::{DataFileEntry, Snapshot};

use crate::error::external;

/// One table of a snapshot, or a subset of its files.
#[derive(Debug)]
pub struct ReeldbTable {
    snapshot: Arc<Snapshot>,
    name: String,
    schema: SchemaRef,
    files: Vec<DataFileEntry>,
}

impl ReeldbTable {
    /// The table `name` of `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>, name: &str) -> reeldb_engine::Result<Self> {
        let table = snapshot.table(name)?;
        let schema = table.schema()?;
        let files = table.files.clone();
        Ok(ReeldbTable {
            snapshot,
            name: name.to_string(),
            schema,
            files,
        })
    }

    /// The same table restricted to one of its data files.
    pub fn with_files(&self, files: Vec<DataFileEntry>) -> Self {
        ReeldbTable {
            snapshot: Arc::clone(&self.snapshot),
            name: self.name.clone(),
            schema: Arc::clone(&self.schema),
            files,
        }
    }

    /// The snapshot the table belongs to.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this provider reads every data file of its table (not a subset).
    pub fn reads_whole_table(&self) -> bool {
        self.snapshot
            .table(&self.name)
            .is_ok_and(|t| t.files == self.files)
    }

    /// The data files this provider reads.
    pub fn files(&self) -> &[DataFileEntry] {
        &self.files
    }

    /// Splits the files into at most `partitions` groups of similar byte size.
    fn file_groups(&self, partitions: usize) -> Result<Vec<FileGroup>> {
        let partitions = partitions.clamp(1, self.files.len().max(1));
        let mut groups: Vec<(u64, Vec<PartitionedFile>)> = vec![(0, Vec::new()); partitions];
        let mut files: Vec<&DataFileEntry> = self.files.iter().collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.bytes));
        for file in files {
            let (size, group) = groups
                .iter_mut()
                .min_by_key(|(size, _)| *size)
                .expect("at least one group");
            *size += file.bytes;
            // From the file system path, not from text: the object store would otherwise
            // percent-encode a '%' or ' ' in the database's path a second time.
            let path = self.snapshot.data_file_path(file);
            let location = ObjectPath::from_filesystem_path(&path).map_err(|e| {
                DataFusionError::External(Box::new(reeldb_engine::Error::corrupt(
                    &path,
                    format!("cannot address the data file: {e}"),
                )))
            })?;
            let mut partitioned = PartitionedFile::new(String::new(), file.bytes);
            partitioned.object_meta.location = location;
            group.push(partitioned);
        }
        Ok(groups
            .into_iter()
            .filter(|(_, g)| !g.is_empty())
            .map(|(_, g)| FileGroup::new(g))
            .collect())
    }
}

#[async_trait]
impl TableProvider for ReeldbTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        for file in &self.files {
            self.snapshot.check_data_file(file).map_err(external)?;
        }
        if self.files.is_empty() {
            let schema = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => Arc::clone(&self.schema),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let source = format.file_source(Arc::clone(&self.schema).into());
        let config = FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), source)
            .with_file_groups(self.file_groups(state.config().target_partitions())?)
            .with_statistics(self.row_statistics())
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        format.create_physical_plan(state, config).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    fn statistics(&self) -> Option<Statistics> {
        Some(self.row_statistics())
    }
}

impl ReeldbTable {
    fn row_statistics(&self) -> Statistics {
        let rows: u64 = self.files.iter().map(|f| f.rows).sum();
        let bytes: u64 = self.files.iter().map(|f| f.bytes).sum();
        let mut statistics = Statistics::new_unknown(&self.schema);
        statistics.num_rows = Precision::Exact(rows as usize);
        statistics.total_byte_size = Precision::Inexact(bytes as usize);
        statistics
    }
}
