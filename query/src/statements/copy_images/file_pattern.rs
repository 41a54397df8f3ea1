//! The target of `COPY (query) TO 'sheets/cluster_{cluster}.png'`: a file name with
//! `{column}` placeholders, each replaced by the row's value of that result column.
//!
//! `{{` and `}}` stand for a literal brace. A placeholder may be in any component of the path
//! (`'{video}/{frame}.jpg'`), but not in the extension, which picks the format. Every value is
//! checked by [`check_file_name_value`] (no separator, no `..`, not empty, ...) and every
//! component a value is put into by [`check_file_name`], so a row can only name a file where
//! the pattern says: never outside the directories the user wrote.

use std::path::PathBuf;

use arrow::datatypes::Schema;
use reeldb_engine::{check_file_name, check_file_name_value};

use crate::error::{Error, Result};

/// A parsed target: path components made of literal text and placeholders.
#[derive(Debug)]
pub(super) struct FilePattern {
    /// The target as the statement wrote it.
    text: String,
    /// Whether the path starts at the root (`/out/{x}.png`).
    absolute: bool,
    /// The path's components, split at `/`.
    components: Vec<Vec<Part>>,
    /// The result columns the placeholders name, in order of first use, without repeats;
    /// `Part::Value(i)` is the row's value of `columns[i]`.
    columns: Vec<usize>,
}

#[derive(Debug)]
enum Part {
    Literal(String),
    Value(usize),
}

impl FilePattern {
    /// Parses `text`, resolving its placeholders against the query's result `schema`.
    pub(super) fn parse(text: &str, schema: &Schema) -> Result<Self> {
        let invalid = |problem: String| {
            Error::InvalidArgument(format!(
                "the file name '{text}' {problem}; '{{column}}' puts a column's value in the \
                 name, and '{{{{' or '}}}}' writes a brace"
            ))
        };
        let mut components = vec![Vec::new()];
        let mut columns = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(invalid("has a '}' without a '{' before it".into())),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('/' | '{') | None => {
                                return Err(invalid("has a '{' without its '}'".into()));
                            }
                            Some(c) => name.push(c),
                        }
                    }
                    let column = resolve_column(text, &name, schema)?;
                    let at = match columns.iter().position(|&c| c == column) {
                        Some(at) => at,
                        None => {
                            columns.push(column);
                            columns.len() - 1
                        }
                    };
                    let component = components.last_mut().expect("never empty");
                    if !literal.is_empty() {
                        component.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    component.push(Part::Value(at));
                }
                '/' => {
                    let component = components.last_mut().expect("never empty");
                    if !literal.is_empty() {
                        component.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    components.push(Vec::new());
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            components
                .last_mut()
                .expect("never empty")
                .push(Part::Literal(literal));
        }
        let absolute = text.starts_with('/');
        if absolute {
            components.remove(0);
        }
        let file = components.last().expect("never empty");
        match file.last() {
            Some(Part::Literal(_)) => {}
            Some(Part::Value(_)) => {
                return Err(invalid(
                    "ends in a placeholder; end it in the file's extension, as in '.png'".into(),
                ));
            }
            None => return Err(invalid("does not end in a file name".into())),
        }
        Ok(FilePattern {
            text: text.to_string(),
            absolute,
            components,
            columns,
        })
    }

    /// Whether the target names one file (it has no placeholders).
    pub(super) fn is_single_file(&self) -> bool {
        self.columns.is_empty()
    }

    /// The result columns the placeholders name (indexes into the schema), in order of first
    /// use: the values [`render`](Self::render) takes.
    pub(super) fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// The path for one row, whose values of [`columns`](Self::columns) are `values` (`None`
    /// for NULL), named `names` in messages; the error is the reason, for the caller to put
    /// beside the row.
    pub(super) fn render(
        &self,
        values: &[Option<String>],
        names: &[&str],
    ) -> std::result::Result<PathBuf, String> {
        for (value, name) in values.iter().zip(names) {
            match value {
                None => {
                    return Err(format!(
                        "{{{name}}} is NULL, so the row has no file name; leave such rows out \
                         (WHERE {name} IS NOT NULL)"
                    ));
                }
                Some(value) => check_file_name_value(value).map_err(|reason| {
                    format!(
                        "{{{name}}} is '{}', which {reason}, so it cannot be part of a file \
                         name; change it in the query (replace(), or another column)",
                        value.escape_debug()
                    )
                })?,
            }
        }
        let mut path = String::with_capacity(self.text.len() + 16);
        if self.absolute {
            path.push('/');
        }
        for (i, component) in self.components.iter().enumerate() {
            if i > 0 {
                path.push('/');
            }
            let start = path.len();
            let mut has_value = false;
            for part in component {
                match part {
                    Part::Literal(text) => path.push_str(text),
                    Part::Value(at) => {
                        has_value = true;
                        path.push_str(values[*at].as_deref().expect("checked above"));
                    }
                }
            }
            if has_value {
                let name = &path[start..];
                check_file_name(name).map_err(|reason| {
                    format!(
                        "the row's file name '{}' has the part '{}', which {reason}; change \
                         the values or the pattern",
                        path,
                        name.escape_debug()
                    )
                })?;
            }
        }
        Ok(PathBuf::from(path))
    }
}

/// The result column a placeholder names: the exact name, else the only one that matches
/// ignoring case (SQL folds unquoted names to lower case, users write `{Cluster}`).
fn resolve_column(pattern: &str, name: &str, schema: &Schema) -> Result<usize> {
    let fields = schema.fields();
    if let Some(at) = fields.iter().position(|f| f.name() == name) {
        return Ok(at);
    }
    let folded: Vec<usize> = (0..fields.len())
        .filter(|&i| fields[i].name().eq_ignore_ascii_case(name))
        .collect();
    if let [at] = folded[..] {
        return Ok(at);
    }
    let known: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    Err(Error::InvalidArgument(format!(
        "the file name '{pattern}' has the placeholder {{{name}}}, but the query returns no \
         column '{name}'; its columns are {}",
        known.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};

    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("cluster", DataType::Int64, true),
            Field::new("video", DataType::Utf8, true),
            Field::new("sheet", DataType::Binary, true),
        ])
    }

    fn render(pattern: &str, values: &[Option<&str>]) -> std::result::Result<String, String> {
        let pattern = FilePattern::parse(pattern, &schema()).unwrap();
        let values: Vec<Option<String>> = values.iter().map(|v| v.map(Into::into)).collect();
        let names = vec!["x"; values.len()];
        pattern
            .render(&values, &names)
            .map(|p| p.display().to_string())
    }

    #[test]
    fn placeholders_take_the_row_values_in_every_component() {
        assert_eq!(
            render("sheets/{video}/c_{cluster}.png", &[Some("bbc"), Some("7")]).unwrap(),
            "sheets/bbc/c_7.png"
        );
        assert_eq!(
            render(
                "/out/{cluster}_{video}_{cluster}.jpg",
                &[Some("3"), Some("a")]
            )
            .unwrap(),
            "/out/3_a_3.jpg"
        );
        assert_eq!(
            render("{{x}}_{Cluster}.png", &[Some("1")]).unwrap(),
            "{x}_1.png"
        );
        let single = FilePattern::parse("../sheet.png", &schema()).unwrap();
        assert!(single.is_single_file());
        assert_eq!(
            single.render(&[], &[]).unwrap(),
            PathBuf::from("../sheet.png")
        );
    }

    #[test]
    fn values_cannot_leave_the_directory_or_be_missing() {
        let error = render("c/{cluster}.png", &[Some("../x")]).unwrap_err();
        assert!(
            error.contains("'../x'") && error.contains("path separator"),
            "{error}"
        );
        let error = render("c/{cluster}/a.png", &[Some("..")]).unwrap_err();
        assert!(error.contains("'..'"), "{error}");
        let error = render("c/{cluster}{video}/a.png", &[Some("."), Some(".")]).unwrap_err();
        assert!(
            error.contains("'..'") && error.contains("parent"),
            "{error}"
        );
        let error = render("c/{cluster}.png", &[None]).unwrap_err();
        assert!(error.contains("IS NOT NULL"), "{error}");
        let error = render("c/{cluster}.png", &[Some("")]).unwrap_err();
        assert!(error.contains("is empty"), "{error}");
        let long = "v".repeat(252);
        let error = render("{cluster}.png", &[Some(&long)]).unwrap_err();
        assert!(error.contains("255 bytes"), "{error}");
    }

    #[test]
    fn bad_patterns_and_unknown_columns_are_refused_when_parsed() {
        let error = |pattern| {
            FilePattern::parse(pattern, &schema())
                .unwrap_err()
                .to_string()
        };
        assert!(error("c/{cluster.png").contains("without its '}'"));
        assert!(error("c/{clu/ster}.png").contains("without its '}'"));
        assert!(error("c/cluster}.png").contains("without a '{'"));
        assert!(error("c/x.{video}").contains("ends in a placeholder"));
        assert!(error("c/").contains("does not end in a file name"));
        let unknown = error("c/{clustr}.png");
        assert!(
            unknown.contains("{clustr}") && unknown.contains("cluster, video, sheet"),
            "{unknown}"
        );
    }
}
