//! Parameters of the analysis functions, given by position or by name.
//!
//! Every clustering and projection entry point (`cluster()`, `project()`, `choose_k()`,
//! `cluster_similarity()` and the `CLUSTER` statement) takes its parameters the same way:
//! first by position, in the order the method lists them, then by name as text
//! (`'min_samples=3'`). The `CLUSTER` statement writes the named form as
//! `(min_samples = 3)`. NULL leaves a parameter at its default, so a later one can be given
//! by position: `cluster(v, 'hdbscan', 5, NULL, 'leaf')`.

use std::collections::BTreeMap;

use datafusion::common::{Result, ScalarValue, plan_err};

/// What a parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A number (`0.4`, `3`).
    Number,
    /// A whole number (`5`).
    Whole,
    /// Text (`'cosine'`).
    Text,
    /// `true` or `false`.
    Flag,
}

/// One parameter of a method: its name, what it holds, and what it means.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// The name, for the named form and for error messages.
    pub name: &'static str,
    /// What it holds.
    pub kind: ParamKind,
    /// Whether the call must give it.
    pub required: bool,
    /// Its meaning and default, for the docs and for errors.
    pub help: &'static str,
}

impl ParamSpec {
    /// A parameter the call must give.
    pub const fn required(name: &'static str, kind: ParamKind, help: &'static str) -> Self {
        ParamSpec {
            name,
            kind,
            required: true,
            help,
        }
    }

    /// A parameter with a default.
    pub const fn optional(name: &'static str, kind: ParamKind, help: &'static str) -> Self {
        ParamSpec {
            name,
            kind,
            required: false,
            help,
        }
    }
}

/// A value given for a parameter, converted to its kind.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Number(f64),
    Whole(i64),
    Text(String),
    Flag(bool),
}

/// The parameters of one call, checked against the method's [`ParamSpec`]s.
#[derive(Debug, Clone)]
pub struct Params {
    context: String,
    values: BTreeMap<&'static str, Value>,
}

impl Params {
    /// Reads `args`: values by position, then `'name=value'` texts. `context` names the call
    /// in errors (`"cluster(..., 'dbscan')"`).
    pub fn parse(context: &str, specs: &[ParamSpec], args: &[ScalarValue]) -> Result<Self> {
        let mut params = Params {
            context: context.to_string(),
            values: BTreeMap::new(),
        };
        let mut named_seen = false;
        for (position, arg) in args.iter().enumerate() {
            if let Some((name, text)) = named_argument(arg) {
                named_seen = true;
                let spec = params.spec_named(specs, &name)?;
                params.set(spec, &ScalarValue::Utf8(Some(text)), true)?;
                continue;
            }
            if named_seen {
                return plan_err!(
                    "{context}: a parameter by position ({arg}) follows one by name; give \
                     positional parameters first"
                );
            }
            let Some(spec) = specs.get(position) else {
                return plan_err!(
                    "{context}: too many parameters ({} given, it takes {}: {})",
                    args.len(),
                    specs.len(),
                    describe(specs)
                );
            };
            params.set(spec, arg, false)?;
        }
        params.check_required(specs)?;
        Ok(params)
    }

    /// Reads `name = value` pairs (the `CLUSTER` statement's form).
    pub fn parse_named(
        context: &str,
        specs: &[ParamSpec],
        pairs: &[(String, ScalarValue)],
    ) -> Result<Self> {
        let mut params = Params {
            context: context.to_string(),
            values: BTreeMap::new(),
        };
        for (name, value) in pairs {
            let spec = params.spec_named(specs, name)?;
            params.set(spec, value, true)?;
        }
        params.check_required(specs)?;
        Ok(params)
    }

    fn spec_named<'s>(&self, specs: &'s [ParamSpec], name: &str) -> Result<&'s ParamSpec> {
        let wanted = name.trim().to_ascii_lowercase();
        match specs.iter().find(|spec| spec.name == wanted) {
            Some(spec) => Ok(spec),
            None => plan_err!(
                "{}: unknown parameter '{}'; it takes {}",
                self.context,
                name.trim(),
                describe(specs)
            ),
        }
    }

    fn set(&mut self, spec: &ParamSpec, value: &ScalarValue, by_name: bool) -> Result<()> {
        if value.is_null() {
            return Ok(());
        }
        let converted = convert(spec.kind, value).ok_or_else(|| {
            datafusion::error::DataFusionError::Plan(format!(
                "{}: {} must be {}, not {value}",
                self.context,
                spec.name,
                kind_name(spec.kind)
            ))
        })?;
        if self.values.insert(spec.name, converted).is_some() && by_name {
            return plan_err!(
                "{}: {} is given twice; give each parameter once",
                self.context,
                spec.name
            );
        }
        Ok(())
    }

    fn check_required(&self, specs: &[ParamSpec]) -> Result<()> {
        match specs
            .iter()
            .find(|spec| spec.required && !self.values.contains_key(spec.name))
        {
            Some(missing) => plan_err!(
                "{}: {} is required ({}); it takes {}",
                self.context,
                missing.name,
                missing.help,
                describe(specs)
            ),
            None => Ok(()),
        }
    }

    /// The call, for error messages.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// A number parameter, if given.
    pub fn number(&self, name: &str) -> Option<f64> {
        match self.values.get(name) {
            Some(Value::Number(n)) => Some(*n),
            Some(Value::Whole(n)) => Some(*n as f64),
            _ => None,
        }
    }

    /// A whole-number parameter, if given.
    pub fn whole(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(Value::Whole(n)) => Some(*n),
            _ => None,
        }
    }

    /// A whole-number parameter that must be at least `min`, if given.
    pub fn count(&self, name: &str, min: i64) -> Result<Option<usize>> {
        match self.whole(name) {
            Some(n) if n < min => {
                plan_err!("{}: {name} must be at least {min}, not {n}", self.context)
            }
            Some(n) => Ok(Some(n as usize)),
            None => Ok(None),
        }
    }

    /// A text parameter, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Value::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// A flag parameter, if given.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(Value::Flag(flag)) => Some(*flag),
            _ => None,
        }
    }
}

/// `'name=value'` as a name and the value's text; `None` for any other argument.
fn named_argument(arg: &ScalarValue) -> Option<(String, String)> {
    let text = match arg {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::Utf8View(Some(text))
        | ScalarValue::LargeUtf8(Some(text)) => text,
        _ => return None,
    };
    let (name, value) = text.split_once('=')?;
    let name = name.trim();
    let is_identifier =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_identifier.then(|| (name.to_string(), value.trim().to_string()))
}

fn convert(kind: ParamKind, value: &ScalarValue) -> Option<Value> {
    let text = match value {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::Utf8View(Some(text))
        | ScalarValue::LargeUtf8(Some(text)) => Some(text.trim().to_string()),
        _ => None,
    };
    match kind {
        ParamKind::Text => text.map(Value::Text),
        ParamKind::Flag => match (value, text.as_deref()) {
            (ScalarValue::Boolean(Some(flag)), _) => Some(Value::Flag(*flag)),
            (_, Some(t)) if t.eq_ignore_ascii_case("true") => Some(Value::Flag(true)),
            (_, Some(t)) if t.eq_ignore_ascii_case("false") => Some(Value::Flag(false)),
            _ => None,
        },
        ParamKind::Number => {
            let number = match text {
                Some(t) => t.parse::<f64>().ok()?,
                None => match value.cast_to(&arrow::datatypes::DataType::Float64).ok()? {
                    ScalarValue::Float64(Some(n)) if value.data_type().is_numeric() => n,
                    _ => return None,
                },
            };
            number.is_finite().then_some(Value::Number(number))
        }
        ParamKind::Whole => {
            let number = match text {
                Some(t) => t.parse::<f64>().ok()?,
                None if value.data_type().is_numeric() => {
                    match value.cast_to(&arrow::datatypes::DataType::Float64).ok()? {
                        ScalarValue::Float64(Some(n)) => n,
                        _ => return None,
                    }
                }
                None => return None,
            };
            (number.is_finite() && number.fract() == 0.0 && number.abs() < 9.0e15)
                .then_some(Value::Whole(number as i64))
        }
    }
}

fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Number => "a number",
        ParamKind::Whole => "a whole number",
        ParamKind::Text => "text",
        ParamKind::Flag => "true or false",
    }
}

/// `eps (required: ...), min_samples (...)`, for errors.
pub fn describe(specs: &[ParamSpec]) -> String {
    if specs.is_empty() {
        return "no parameters".into();
    }
    specs
        .iter()
        .map(|spec| format!("{} ({})", spec.name, spec.help))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::required("eps", ParamKind::Number, "the radius"),
        ParamSpec::optional("min_samples", ParamKind::Whole, "default 5"),
        ParamSpec::optional("metric", ParamKind::Text, "default euclidean"),
        ParamSpec::optional("exact", ParamKind::Flag, "default true"),
    ];

    fn text(t: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(t.into()))
    }

    #[test]
    fn positional_then_named_parameters_are_read() {
        let params = Params::parse(
            "f",
            SPECS,
            &[
                ScalarValue::Float64(Some(0.5)),
                text("metric = cosine"),
                text("exact=false"),
            ],
        )
        .unwrap();
        assert_eq!(params.number("eps"), Some(0.5));
        assert_eq!(params.text("metric"), Some("cosine"));
        assert_eq!(params.flag("exact"), Some(false));
        assert_eq!(params.whole("min_samples"), None);
    }

    #[test]
    fn null_keeps_the_default_and_integers_are_numbers() {
        let params = Params::parse(
            "f",
            SPECS,
            &[
                ScalarValue::Int64(Some(2)),
                ScalarValue::Null,
                text("cosine"),
            ],
        )
        .unwrap();
        assert_eq!(params.number("eps"), Some(2.0));
        assert_eq!(params.whole("min_samples"), None);
        assert_eq!(params.text("metric"), Some("cosine"));
    }

    #[test]
    fn mistakes_are_named() {
        let error = |args: &[ScalarValue]| Params::parse("f", SPECS, args).unwrap_err().to_string();
        assert!(error(&[]).contains("eps is required"));
        assert!(error(&[text("wide")]).contains("eps must be a number"));
        assert!(error(&[text("eps=1"), text("eps=2")]).contains("given twice"));
        assert!(error(&[text("colour=red")]).contains("unknown parameter 'colour'"));
        assert!(
            error(&[text("eps=1"), ScalarValue::Int64(Some(3))]).contains("follows one by name")
        );
        assert!(
            error(&[
                ScalarValue::Float64(Some(0.5)),
                ScalarValue::Float64(Some(2.5))
            ])
            .contains("min_samples must be a whole number")
        );
        let too_many = [
            ScalarValue::Float64(Some(0.5)),
            ScalarValue::Int64(Some(5)),
            text("cosine"),
            ScalarValue::Boolean(Some(true)),
            ScalarValue::Int64(Some(1)),
        ];
        assert!(error(&too_many).contains("too many parameters"));
    }

    #[test]
    fn counts_have_a_minimum() {
        let params = Params::parse("f", SPECS, &[text("eps=1"), text("min_samples=0")]).unwrap();
        let error = params.count("min_samples", 1).unwrap_err().to_string();
        assert!(error.contains("at least 1"), "{error}");
    }

    #[test]
    fn the_statement_form_is_read_by_name() {
        let params = Params::parse_named(
            "CLUSTER",
            SPECS,
            &[("eps".into(), ScalarValue::Float64(Some(0.3)))],
        )
        .unwrap();
        assert_eq!(params.number("eps"), Some(0.3));
    }
}
