//! Scalar functions: one file per function; `pairwise` holds what similarity and distance
//! share, `model_args` what the model functions share, and `vector_math` what the vector
//! arithmetic shares (with `vector_mean`, the one aggregate here, kept beside the scalar
//! functions whose results it averages).

/// The constructor and identity of a function over a [`ModelRegistry`]
/// (`crate::model::registry::ModelRegistry`): a struct with fields `registry` and `signature`.
/// Two instances are equal when they share the registry, as DataFusion compares functions.
macro_rules! model_function {
    ($function:ident) => {
        impl $function {
            /// The function, finding models in `registry`.
            pub fn new(registry: Arc<ModelRegistry>) -> Self {
                $function {
                    registry,
                    signature: Signature::user_defined(Volatility::Immutable),
                }
            }
        }

        impl PartialEq for $function {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.registry, &other.registry)
            }
        }

        impl Eq for $function {}

        impl std::hash::Hash for $function {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                std::hash::Hash::hash(self.name(), state);
            }
        }
    };
}

pub mod classify;
pub mod detect_faces;
pub mod distance;
pub mod embed;
pub mod embed_image;
pub mod model_args;
pub mod normalize;
pub mod pairwise;
pub mod phash;
pub mod similarity;
pub mod top_label;
pub mod vector_add;
pub mod vector_concat;
pub mod vector_math;
pub mod vector_mean;
pub mod vector_scale;
pub mod vector_sub;
