//! [`PictureAggregate`]: one DataFusion aggregate for every [`Picture`]. It splits a call's
//! arguments into row arguments and named options, collects the rows (with their `ORDER BY`
//! values, so that partial results from several partitions merge into the right order), and
//! hands the sorted rows to the picture to draw.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use image::RgbImage;

use super::canvas::encode_png;
use super::collected_rows::{CollectedRows, Rows};
use crate::analysis::params::{ParamSpec, Params};

/// What a row argument holds; values are converted to it as rows arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// Image bytes (a BLOB: PNG, JPEG, ...).
    Image,
    /// A number; timestamps become seconds since 1970.
    Number,
    /// Text; other values are shown as text (a cluster number `3` is `'3'`).
    Text,
}

impl RowKind {
    /// The Arrow type the values are kept as.
    pub fn data_type(self) -> DataType {
        match self {
            RowKind::Image => DataType::Binary,
            RowKind::Number => DataType::Float64,
            RowKind::Text => DataType::Utf8,
        }
    }
}

/// One argument of a picture function that comes from the rows.
#[derive(Debug, Clone, Copy)]
pub struct RowArg {
    /// Its name, for errors and for naming it in a call (`caption => ...`).
    pub name: &'static str,
    /// What it holds.
    pub kind: RowKind,
    /// Whether a call must give it.
    pub required: bool,
}

impl RowArg {
    /// A row argument a call must give.
    pub const fn required(name: &'static str, kind: RowKind) -> Self {
        RowArg {
            name,
            kind,
            required: true,
        }
    }

    /// A row argument a call may leave out (only after the required ones).
    pub const fn optional(name: &'static str, kind: RowKind) -> Self {
        RowArg {
            name,
            kind,
            required: false,
        }
    }
}

/// A kind of picture: its arguments, its options, its limits and how it is drawn.
pub trait Picture:
    Debug + Clone + Copy + PartialEq + Eq + Hash + Default + Send + Sync + 'static
{
    /// The SQL name.
    const NAME: &'static str;
    /// The row arguments, required ones first.
    const ROWS: &'static [RowArg];
    /// The options, given by name as `'name=value'`.
    const OPTIONS: &'static [ParamSpec];

    /// The user documentation.
    fn documentation(&self) -> &'static Documentation;

    /// Checks the options once, before any row arrives.
    fn check_options(&self, options: &Params) -> Result<()>;

    /// Refuses `rows` rows when a picture of them would be over its limits: called before
    /// each batch is kept, so that a picture too large fails before its rows fill memory.
    fn check_rows(&self, options: &Params, rows: usize) -> Result<()>;

    /// Draws the rows (in `ORDER BY` order, at least one).
    fn draw(&self, rows: &Rows, options: &Params) -> Result<RgbImage>;
}

/// The DataFusion aggregate of a [`Picture`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PictureAggregate<P: Picture> {
    picture: P,
    signature: Signature,
}

impl<P: Picture> PictureAggregate<P> {
    /// The aggregate of `P`.
    pub fn new() -> Self {
        PictureAggregate {
            picture: P::default(),
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl<P: Picture> Default for PictureAggregate<P> {
    fn default() -> Self {
        Self::new()
    }
}

/// The option `name=value` a literal argument holds, if it holds one.
fn option_text(value: &ScalarValue) -> Option<&str> {
    let (ScalarValue::Utf8(Some(text))
    | ScalarValue::Utf8View(Some(text))
    | ScalarValue::LargeUtf8(Some(text))) = value
    else {
        return None;
    };
    let (name, _) = text.split_once('=')?;
    let name = name.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(text.as_str())
}

fn is_option_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    )
}

impl<P: Picture> AggregateUDFImpl for PictureAggregate<P> {
    fn name(&self) -> &str {
        P::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let required = P::ROWS.iter().filter(|row| row.required).count();
        if arg_types.len() < required {
            return plan_err!("{}", usage::<P>(arg_types.len()));
        }
        for (index, (row, data_type)) in P::ROWS.iter().zip(arg_types).enumerate() {
            // An optional row argument's place may hold an option's text instead.
            if !row.required && is_option_type(data_type) {
                break;
            }
            check_row_type::<P>(index, row, data_type)?;
        }
        Ok(DataType::Binary)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        // Trailing constant texts of the form `name=value` are the options.
        let mut given = args.exprs.len();
        let mut named = Vec::new();
        while given > 0 {
            let Some(literal) = args.exprs[given - 1].downcast_ref::<Literal>() else {
                break;
            };
            if option_text(literal.value()).is_none() {
                break;
            }
            named.push(literal.value().clone());
            given -= 1;
        }
        named.reverse();
        let required = P::ROWS.iter().filter(|row| row.required).count();
        if given < required || given > P::ROWS.len() {
            return plan_err!("{}", usage::<P>(given));
        }
        let options = Params::parse(&format!("{}()", P::NAME), P::OPTIONS, &named)?;
        self.picture.check_options(&options)?;
        let ordering_types = args
            .order_bys
            .iter()
            .map(|sort| sort.expr.data_type(args.schema))
            .collect::<Result<Vec<_>>>()?;
        let sort_options = args.order_bys.iter().map(|sort| sort.options).collect();
        Ok(Box::new(PictureAccumulator {
            picture: self.picture,
            options,
            given,
            arguments: args.exprs.len(),
            rows: CollectedRows::new(P::NAME, P::ROWS, sort_options, ordering_types),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: String, data_type: DataType| -> FieldRef {
            Arc::new(Field::new_list(
                name,
                Field::new_list_field(data_type, true),
                true,
            ))
        };
        let rows = P::ROWS
            .iter()
            .map(|row| list(format!("{}[{}]", args.name, row.name), row.kind.data_type()));
        let ordering = args.ordering_fields.iter().map(|field| {
            list(
                format!("{}[order {}]", args.name, field.name()),
                field.data_type().clone(),
            )
        });
        Ok(rows.chain(ordering).collect())
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        // The rows are sorted by their ORDER BY values when drawn, whatever order they came
        // in: an ordered input only saves that sort.
        AggregateOrderSensitivity::SoftRequirement
    }

    fn with_beneficial_ordering(
        self: Arc<Self>,
        _beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        Ok(Some(self))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(self.picture.documentation())
    }
}

/// The call's form, for errors about its arguments.
fn usage<P: Picture>(given: usize) -> String {
    let rows: Vec<&str> = P::ROWS.iter().map(|row| row.name).collect();
    let options: Vec<&str> = P::OPTIONS.iter().map(|option| option.name).collect();
    format!(
        "{}() takes the row arguments ({}) and then options by name ({}): {given} row \
         arguments given",
        P::NAME,
        rows.join(", "),
        options
            .iter()
            .map(|name| format!("{name} => ..."))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn check_row_type<P: Picture>(index: usize, row: &RowArg, data_type: &DataType) -> Result<()> {
    let fits = match row.kind {
        RowKind::Image => matches!(
            data_type,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Null
        ),
        RowKind::Number => {
            data_type.is_numeric()
                || matches!(
                    data_type,
                    DataType::Timestamp(_, _) | DataType::Null | DataType::Date32
                )
        }
        RowKind::Text => true,
    };
    if fits {
        return Ok(());
    }
    let wanted = match row.kind {
        RowKind::Image => "image bytes (a BLOB such as a thumbnail or crop column)",
        RowKind::Number => "a number or a timestamp",
        RowKind::Text => "text",
    };
    plan_err!(
        "{}(): argument {} ({}) must be {wanted}, not {data_type}",
        P::NAME,
        index + 1,
        row.name
    )
}

/// Collects one group's rows and draws them when the group is complete.
#[derive(Debug)]
struct PictureAccumulator<P: Picture> {
    picture: P,
    options: Params,
    /// How many row arguments the call gives (the first of the call's arguments).
    given: usize,
    /// How many arguments the call has; `ORDER BY` values follow them in a batch.
    arguments: usize,
    rows: CollectedRows,
}

impl<P: Picture> Accumulator for PictureAccumulator<P> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(first) = values.first() else {
            return Ok(());
        };
        self.picture
            .check_rows(&self.options, self.rows.len() + first.len())?;
        let ordering = values.get(self.arguments..).unwrap_or(&[]);
        self.rows.push_batch(&values[..self.given], ordering)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let incoming = CollectedRows::state_rows(states)?;
        self.picture
            .check_rows(&self.options, self.rows.len() + incoming)?;
        self.rows.merge_state(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.rows.state()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.rows.len() == 0 {
            return Ok(ScalarValue::Binary(None));
        }
        let rows = self.rows.sorted()?;
        let picture = self.picture.draw(&rows, &self.options)?;
        Ok(ScalarValue::Binary(Some(encode_png(P::NAME, &picture)?)))
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.rows.heap_size()
    }
}
