//! Calls of functions whose names are SQL keywords, made unambiguous before DataFusion parses
//! them.
//!
//! `CLUSTER` is a keyword (`CLUSTER BY`), and DataFusion's dialect accepts a trailing comma
//! at the end of a select list, so in `SELECT id, cluster(v, 'kmeans', 5) OVER () FROM t` the
//! parser takes `id,` for a select list ending before a `CLUSTER BY` clause and fails. A word
//! directly followed by `(` is always a function call, never the clause, so such a `cluster`
//! is quoted (`"cluster"(`), which the parser reads as the function's name. The rewrite works
//! on tokens (by their positions in the text), so strings and comments are never touched.

use std::borrow::Cow;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer};

/// Function names that are also keywords of the SQL dialect.
const KEYWORD_FUNCTIONS: &[&str] = &["cluster"];

/// `sql` with every unquoted call of a [`KEYWORD_FUNCTIONS`] name quoted; `sql` itself when
/// there is none (or the text does not tokenize: then DataFusion reports the error).
pub fn quote_keyword_functions(sql: &str) -> Cow<'_, str> {
    let lowered = sql.to_ascii_lowercase();
    if !KEYWORD_FUNCTIONS.iter().any(|name| lowered.contains(name)) {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location() else {
        return Cow::Borrowed(sql);
    };
    let line_starts = line_starts(sql);
    let mut calls = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Token::Word(word) = &token.token else {
            continue;
        };
        let is_name = word.quote_style.is_none()
            && KEYWORD_FUNCTIONS
                .iter()
                .any(|name| word.value.eq_ignore_ascii_case(name));
        let next = tokens[i + 1..]
            .iter()
            .find(|t| !matches!(t.token, Token::Whitespace(_)));
        if is_name
            && matches!(next.map(|t| &t.token), Some(Token::LParen))
            && let Some(start) = offset(sql, &line_starts, token.span.start)
        {
            calls.push((start, word.value.len()));
        }
    }
    if calls.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut quoted = String::with_capacity(sql.len() + 2 * calls.len());
    let mut copied = 0;
    for (start, len) in calls {
        quoted.push_str(&sql[copied..start]);
        quoted.push('"');
        quoted.push_str(&sql[start..start + len].to_ascii_lowercase());
        quoted.push('"');
        copied = start + len;
    }
    quoted.push_str(&sql[copied..]);
    Cow::Owned(quoted)
}

/// The byte offset where each line starts.
fn line_starts(sql: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The byte offset of a tokenizer location (1-based line, 1-based column in characters).
fn offset(sql: &str, line_starts: &[usize], location: Location) -> Option<usize> {
    let line_start = *line_starts.get((location.line as usize).checked_sub(1)?)?;
    let column = (location.column as usize).checked_sub(1)?;
    let rest = &sql[line_start..];
    rest.char_indices().nth(column).map(|(i, _)| line_start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_quoted_and_everything_else_is_left_alone() {
        assert_eq!(
            quote_keyword_functions("SELECT id, cluster(v, 'kmeans', 5) OVER () FROM t"),
            "SELECT id, \"cluster\"(v, 'kmeans', 5) OVER () FROM t"
        );
        assert_eq!(
            quote_keyword_functions("SELECT a,\n  CLUSTER (v, 'x') OVER () -- cluster(\nFROM t"),
            "SELECT a,\n  \"cluster\" (v, 'x') OVER () -- cluster(\nFROM t"
        );
        // Not a call, a string, a quoted name, another word: unchanged.
        for sql in [
            "SELECT 'cluster(' FROM t",
            "SELECT \"cluster\"(v) FROM t",
            "SELECT clusters(v) FROM t",
            "SELECT a FROM t CLUSTER BY a",
            "SELECT 1",
        ] {
            assert_eq!(quote_keyword_functions(sql), sql);
        }
    }

    #[test]
    fn multibyte_text_before_a_call_keeps_its_offsets() {
        assert_eq!(
            quote_keyword_functions("SELECT 'été', cluster(v, 'kmeans', 2) OVER () FROM t"),
            "SELECT 'été', \"cluster\"(v, 'kmeans', 2) OVER () FROM t"
        );
    }
}
