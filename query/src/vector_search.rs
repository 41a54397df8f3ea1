//! Nearest-neighbour queries in SQL: the optimizer rule that recognises them, the plan node
//! and operator that answer them from flat vector files or an HNSW index, and their session
//! settings.

pub mod exec;
pub mod knn;
pub mod lateral_exec;
pub mod lateral_node;
pub mod lateral_rule;
pub mod node;
pub mod options;
pub mod planner;
pub mod rows;
pub mod rule;

pub use knn::KnnFunction;
pub use lateral_rule::LateralVectorTopKRule;
pub use node::VectorTopKNode;
pub use options::ReeldbOptions;
pub use planner::ReeldbQueryPlanner;
pub use rule::VectorTopKRule;
