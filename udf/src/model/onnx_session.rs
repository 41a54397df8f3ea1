//! One ONNX model file, opened in ONNX Runtime, with the checks that turn its failures into
//! errors a user can act on.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use datafusion::common::{DataFusionError, Result};
use ort::logging::LogLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::runtime::runtime;

/// An input or output of a model: its name, element type and shape (-1 where dynamic).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    /// The name the graph gives it.
    pub name: String,
    /// The element type, as ONNX names it (`f32`, `i64`, ...).
    pub element: Option<TensorElementType>,
    /// The dimensions; -1 for a dynamic one.
    pub shape: Vec<i64>,
}

/// The names of `specs`, comma-separated, for error messages.
pub fn tensor_names(specs: &[TensorSpec]) -> String {
    specs
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An input tensor for [`OnnxSession::run`]: borrowed data and its shape.
pub enum InputTensor<'a> {
    /// 32-bit floats.
    F32(&'a [f32], Vec<usize>),
    /// 64-bit integers (token ids, attention masks).
    I64(&'a [i64], Vec<usize>),
}

/// An ONNX model file opened in ONNX Runtime.
///
/// ONNX Runtime runs one call at a time per session here (`Session::run` takes `&mut`); calls
/// from several threads queue on the mutex, and each call already uses every core.
pub struct OnnxSession {
    path: PathBuf,
    session: Mutex<Session>,
    inputs: Vec<TensorSpec>,
    outputs: Vec<TensorSpec>,
}

impl std::fmt::Debug for OnnxSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxSession")
            .field("path", &self.path)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl OnnxSession {
    /// Opens the model at `path`. A missing runtime, a missing file or a file that is not a
    /// valid ONNX model are errors that name the file.
    pub fn open(path: &Path) -> Result<Self> {
        let runtime = runtime()?;
        if !path.is_file() {
            return Err(DataFusionError::Execution(format!(
                "model file '{}' does not exist",
                path.display()
            )));
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let failed = |e: ort::Error| {
            DataFusionError::Execution(format!(
                "cannot load the ONNX model '{}': {e}. Is it a complete ONNX file? \
                 (A partial download or a different format gives this error.)",
                path.display()
            ))
        };
        let session = Session::builder(&runtime.environment)
            .map_err(failed)?
            .with_intra_threads(threads)
            .map_err(|e| failed(e.into()))?
            .with_log_level(LogLevel::Error)
            .map_err(|e| failed(e.into()))?
            .commit_from_file(path)
            .map_err(failed)?;
        let describe = |name: &str, dtype: &ValueType| TensorSpec {
            name: name.to_string(),
            element: dtype.tensor_type(),
            shape: dtype.tensor_shape().map(|s| s.to_vec()).unwrap_or_default(),
        };
        let inputs = session
            .inputs()
            .iter()
            .map(|o| describe(o.name(), o.dtype()))
            .collect();
        let outputs = session
            .outputs()
            .iter()
            .map(|o| describe(o.name(), o.dtype()))
            .collect();
        Ok(OnnxSession {
            path: path.to_path_buf(),
            session: Mutex::new(session),
            inputs,
            outputs,
        })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The graph's inputs.
    pub fn inputs(&self) -> &[TensorSpec] {
        &self.inputs
    }

    /// The graph's outputs.
    pub fn outputs(&self) -> &[TensorSpec] {
        &self.outputs
    }

    /// The input called `name`.
    pub fn input(&self, name: &str) -> Option<&TensorSpec> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// The output called `name`.
    pub fn output(&self, name: &str) -> Option<&TensorSpec> {
        self.outputs.iter().find(|o| o.name == name)
    }

    /// The input called `name`, or an error listing the inputs there are.
    pub fn require_input(&self, name: &str) -> Result<&TensorSpec> {
        self.input(name)
            .ok_or_else(|| self.missing("input", name, &self.inputs))
    }

    /// The output called `name`, or an error listing the outputs there are.
    pub fn require_output(&self, name: &str) -> Result<&TensorSpec> {
        self.output(name)
            .ok_or_else(|| self.missing("output", name, &self.outputs))
    }

    fn missing(&self, what: &str, name: &str, there: &[TensorSpec]) -> DataFusionError {
        DataFusionError::Plan(format!(
            "the ONNX model '{}' has no {what} '{name}'; its {what}s are: {}",
            self.path.display(),
            tensor_names(there)
        ))
    }

    /// Runs the model on `inputs` (by name) and returns the requested `outputs` as `f32`
    /// values with their shapes, in the order asked.
    pub fn run(
        &self,
        inputs: &[(&str, InputTensor<'_>)],
        outputs: &[&str],
    ) -> Result<Vec<(Vec<usize>, Vec<f32>)>> {
        let failed = |e: ort::Error| {
            DataFusionError::Execution(format!(
                "running the ONNX model '{}' failed: {e}",
                self.path.display()
            ))
        };
        let mut values: Vec<(std::borrow::Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(inputs.len());
        for (name, tensor) in inputs {
            let value: SessionInputValue<'_> = match tensor {
                InputTensor::F32(data, shape) => TensorRef::from_array_view((shape.clone(), *data))
                    .map_err(failed)?
                    .into(),
                InputTensor::I64(data, shape) => TensorRef::from_array_view((shape.clone(), *data))
                    .map_err(failed)?
                    .into(),
            };
            values.push(((*name).into(), value));
        }
        let mut session = self
            .session
            .lock()
            .map_err(|_| DataFusionError::Execution("an ONNX session panicked earlier".into()))?;
        let results = session.run(values).map_err(failed)?;
        let mut extracted = Vec::with_capacity(outputs.len());
        for name in outputs {
            let value = results.get(*name).ok_or_else(|| {
                DataFusionError::Execution(format!(
                    "the ONNX model '{}' has no output '{name}'",
                    self.path.display()
                ))
            })?;
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(failed)?;
            let shape = shape.iter().map(|&d| d.max(0) as usize).collect();
            extracted.push((shape, data.to_vec()));
        }
        Ok(extracted)
    }
}
