//! A report's parameters: `$name` in SQL, `{{name}}` in Markdown, values from `--param
//! name=value`.
//!
//! A value enters SQL only as a string literal (`'2024-05-01'`, quotes doubled), never as
//! SQL text, so no value can change what a statement does; a number is cast where it is used
//! (`$limit::int`). `$name` is a parameter only where it is code: inside a string, a quoted
//! identifier or a comment it is left as written, and so is a `$` that follows a letter, a
//! digit, `_` or `$` (part of an identifier). In Markdown, `{{name}}` (spaces inside allowed)
//! becomes the value as text, HTML-escaped.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::split::code_chars;

use super::error::ReportError;

/// The values of a report's parameters, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    values: BTreeMap<String, String>,
}

impl Parameters {
    /// Parameters given as `(name, value)` pairs, for tests.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let mut parameters = Parameters::new();
        for (name, value) in pairs {
            if let Err(e) = parameters.insert(*name, *value) {
                panic!("{name}={value}: {e}");
            }
        }
        parameters
    }

    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parameter from its command-line form, `name=value` (the value may hold `=`).
    pub fn add_assignment(&mut self, assignment: &str) -> Result<(), ReportError> {
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(ReportError::InvalidParameter(format!(
                "--param takes name=value, as in --param day=2024-05-01; got '{assignment}'"
            )));
        };
        self.insert(name, value)
    }

    /// Adds a parameter. The name is an identifier (`[A-Za-z_][A-Za-z0-9_]*`), given once.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), ReportError> {
        let name = name.into();
        if !is_name(&name) {
            return Err(ReportError::InvalidParameter(format!(
                "parameter name '{name}' is not a name: use letters, digits and '_', not \
                 starting with a digit (as in --param day=2024-05-01)"
            )));
        }
        if self.values.contains_key(&name) {
            return Err(ReportError::InvalidParameter(format!(
                "parameter '{name}' is given twice; give each --param once"
            )));
        }
        self.values.insert(name, value.into());
        Ok(())
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every parameter, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether no parameter is given.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Whether `text` is a parameter name: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The length of the name at the start of `text`, 0 if none.
fn name_length(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return 0,
    }
    chars
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(text.len(), |(i, _)| i)
}

/// `value` as a SQL string literal: in single quotes, each quote doubled.
pub fn sql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// One use of a parameter: where it is (the whole `$name` or `{{ name }}`) and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Use<'a> {
    pub(crate) span: Range<usize>,
    pub(crate) name: &'a str,
}

/// The `$name` parameters of one statement, in order.
pub(crate) fn sql_uses(sql: &str) -> Vec<Use<'_>> {
    let mut uses = Vec::new();
    for (i, c) in code_chars(sql) {
        if c != '$' {
            continue;
        }
        let part_of_identifier = sql[..i]
            .chars()
            .next_back()
            .is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '$');
        let length = name_length(&sql[i + 1..]);
        if !part_of_identifier && length > 0 {
            uses.push(Use {
                span: i..i + 1 + length,
                name: &sql[i + 1..i + 1 + length],
            });
        }
    }
    uses
}

/// The `{{name}}` parameters of a piece of Markdown text, in order.
pub(crate) fn text_uses(text: &str) -> Vec<Use<'_>> {
    let mut uses = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("{{") {
        let start = from + found;
        let inner = start + 2;
        let name_start = inner + (text[inner..].len() - text[inner..].trim_start().len());
        let length = name_length(&text[name_start..]);
        let after = name_start + length;
        let close = after + (text[after..].len() - text[after..].trim_start().len());
        if length > 0 && text[close..].starts_with("}}") {
            uses.push(Use {
                span: start..close + 2,
                name: &text[name_start..after],
            });
            from = close + 2;
        } else {
            // `{{{c}}}`: the next pair may start at the second brace.
            from = start + 1;
        }
    }
    uses
}

/// `text` with each use replaced by `replacement(name)`; the first name it has no value for
/// is the error, with that use.
pub(crate) fn replace_uses<'a>(
    text: &'a str,
    uses: &[Use<'a>],
    mut replacement: impl FnMut(&str) -> Option<String>,
) -> Result<String, Use<'a>> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for used in uses {
        let Some(value) = replacement(used.name) else {
            return Err(used.clone());
        };
        out.push_str(&text[at..used.span.start]);
        out.push_str(&value);
        at = used.span.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// `sql` with each `$name` replaced by its value as a SQL string literal.
pub(crate) fn substitute_sql<'a>(sql: &'a str, parameters: &Parameters) -> Result<String, Use<'a>> {
    replace_uses(sql, &sql_uses(sql), |name| {
        parameters.get(name).map(sql_literal)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<'a>(uses: &[Use<'a>]) -> Vec<&'a str> {
        uses.iter().map(|u| u.name).collect()
    }

    fn parameters(pairs: &[(&str, &str)]) -> Parameters {
        Parameters::from_pairs(pairs)
    }

    #[test]
    fn sql_parameters_are_found_only_in_code() {
        let sql =
            "SELECT $a, '$b', \"$c\", x$d, $$, $1, $e_2::int -- $f\n/* $g */ FROM t WHERE v=$h";
        assert_eq!(names(&sql_uses(sql)), ["a", "e_2", "h"]);
        let first = &sql_uses(sql)[0];
        assert_eq!(&sql[first.span.clone()], "$a");
    }

    #[test]
    fn values_become_string_literals_with_quotes_doubled() {
        let given = parameters(&[("day", "2024-05-01"), ("who", "O'Brien'; DROP TABLE t; --")]);
        assert_eq!(
            substitute_sql("SELECT * FROM t WHERE day = $day AND who = $who", &given).unwrap(),
            "SELECT * FROM t WHERE day = '2024-05-01' AND who = 'O''Brien''; DROP TABLE t; --'"
        );
        assert_eq!(
            substitute_sql("SELECT $day::date, '$day'", &given).unwrap(),
            "SELECT '2024-05-01'::date, '$day'"
        );
        let missing = substitute_sql("SELECT $day,\n $nope", &given).unwrap_err();
        assert_eq!(missing.name, "nope");
        assert_eq!(missing.span, 14..19);
    }

    #[test]
    fn text_parameters_take_braces_with_optional_spaces() {
        let text = "On {{day}} ({{ day }}), {{who}}{{ 1x }} {{a b}} {{{c}}} {{";
        assert_eq!(names(&text_uses(text)), ["day", "day", "who", "c"]);
        let given = parameters(&[("day", "Mon"), ("who", "<b>"), ("c", "C")]);
        let uses = text_uses(text);
        let replaced = replace_uses(text, &uses, |n| given.get(n).map(str::to_string)).unwrap();
        assert_eq!(replaced, "On Mon (Mon), <b>{{ 1x }} {{a b}} {C} {{");
    }

    #[test]
    fn parameters_are_name_equals_value_once_each() {
        let mut given = Parameters::new();
        given.add_assignment("day=2024-05-01").unwrap();
        given.add_assignment("expr=a=b").unwrap();
        assert_eq!(given.get("expr"), Some("a=b"));
        for (bad, says) in [
            ("day", "takes name=value"),
            ("1st=x", "is not a name"),
            ("=x", "is not a name"),
            ("d-ay=x", "is not a name"),
            ("day=again", "given twice"),
        ] {
            let error = given.add_assignment(bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
