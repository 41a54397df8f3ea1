//! Calls rewritten before DataFusion parses them, on tokens (by their positions in the text),
//! so strings and comments are never touched:
//!
//! - **Names that are keywords.** `CLUSTER` is a keyword (`CLUSTER BY`), and DataFusion's
//!   dialect accepts a trailing comma at the end of a select list, so in
//!   `SELECT id, cluster(v, 'kmeans', 5) OVER () FROM t` the parser takes `id,` for a select
//!   list ending before a `CLUSTER BY` clause and fails. A word directly followed by `(` is
//!   always a function call, never the clause, so such a `cluster` is quoted (`"cluster"(`),
//!   which the parser reads as the function's name.
//! - **Named arguments of the window functions.** DataFusion refuses `name => value` in a
//!   window function call, and the analysis functions take parameters by name as
//!   `'name=value'` text (see `reeldb_udf::analysis::params`). So in a call of `cluster` or
//!   `project`, an argument `perplexity => 30` becomes `'perplexity=30'`, and
//!   `metric => 'cosine'` becomes `'metric=cosine'`; the function then checks the value
//!   against the parameter as usual. The graph table functions (`face_cooccurrence`,
//!   `pagerank`) take their parameters the same way, so their calls are rewritten too:
//!   `window => 2` (a keyword, which DataFusion would not take as an argument name) becomes
//!   `'window=2'`.

use std::borrow::Cow;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer};

/// Function names that are also keywords of the SQL dialect.
const KEYWORD_FUNCTIONS: &[&str] = &["cluster"];

/// Functions whose named arguments become `'name=value'` texts: the window functions, which
/// DataFusion refuses them in, and the graph table functions, which read them as text.
const NAMED_ARGUMENT_FUNCTIONS: &[&str] = &["cluster", "project", "face_cooccurrence", "pagerank"];

/// `sql` with every unquoted call of a [`KEYWORD_FUNCTIONS`] name quoted and the named
/// arguments of [`NAMED_ARGUMENT_FUNCTIONS`] calls in reeldb's text form; `sql` itself when
/// there is nothing to rewrite (or the text does not tokenize: then DataFusion reports the
/// error).
pub fn rewrite_calls(sql: &str) -> Cow<'_, str> {
    let lowered = sql.to_ascii_lowercase();
    if !NAMED_ARGUMENT_FUNCTIONS
        .iter()
        .chain(KEYWORD_FUNCTIONS)
        .any(|name| lowered.contains(name))
    {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location() else {
        return Cow::Borrowed(sql);
    };
    let tokens: Vec<Positioned<'_>> = {
        let line_starts = line_starts(sql);
        let mut positioned = Vec::with_capacity(tokens.len());
        for token in &tokens {
            let Some(start) = offset(sql, &line_starts, token.span.start) else {
                return Cow::Borrowed(sql);
            };
            if !matches!(token.token, Token::Whitespace(_)) {
                positioned.push(Positioned {
                    token: &token.token,
                    start,
                });
            }
        }
        positioned
    };
    let mut edits: Vec<Edit> = Vec::new();
    for (i, positioned) in tokens.iter().enumerate() {
        let Token::Word(word) = positioned.token else {
            continue;
        };
        if !matches!(tokens.get(i + 1).map(|t| t.token), Some(Token::LParen)) {
            continue;
        }
        let named = |names: &[&str]| names.iter().any(|n| word.value.eq_ignore_ascii_case(n));
        if word.quote_style.is_none() && named(KEYWORD_FUNCTIONS) {
            edits.push(Edit {
                start: positioned.start,
                end: positioned.start + word.value.len(),
                text: format!("\"{}\"", word.value.to_ascii_lowercase()),
            });
        }
        if named(NAMED_ARGUMENT_FUNCTIONS) {
            edits.extend(named_arguments(sql, &tokens, i + 1));
        }
    }
    if edits.is_empty() {
        return Cow::Borrowed(sql);
    }
    edits.sort_by_key(|edit| edit.start);
    let mut rewritten = String::with_capacity(sql.len() + 16 * edits.len());
    let mut copied = 0;
    for edit in edits {
        rewritten.push_str(&sql[copied..edit.start]);
        rewritten.push_str(&edit.text);
        copied = edit.end;
    }
    rewritten.push_str(&sql[copied..]);
    Cow::Owned(rewritten)
}

/// A token other than whitespace, and the byte offset where it starts.
struct Positioned<'a> {
    token: &'a Token,
    start: usize,
}

/// Replace `sql[start..end]` by `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// The edits that turn each `name => value` argument of the call whose `(` is
/// `tokens[open]` into `'name=value'`: the value is a string's content, or the text of any
/// other expression (which the function then refuses by the parameter's name if it is not a
/// constant of the right kind).
fn named_arguments(sql: &str, tokens: &[Positioned<'_>], open: usize) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut depth = 0usize;
    // Where the argument being read starts: right after `(` or a `,` of this call.
    let mut argument_start = Some(open + 1);
    let mut i = open;
    while i < tokens.len() {
        match tokens[i].token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Comma if depth == 1 => argument_start = Some(i + 1),
            _ => {}
        }
        if argument_start == Some(i)
            && depth == 1
            && let (Token::Word(name), Some(Token::RArrow)) =
                (tokens[i].token, tokens.get(i + 1).map(|t| t.token))
        {
            // The value runs to the next `,` or `)` of this call.
            let value_start = i + 2;
            let mut nested = 0usize;
            let mut end = value_start;
            while let Some(token) = tokens.get(end) {
                match token.token {
                    Token::LParen | Token::LBracket => nested += 1,
                    Token::RParen | Token::RBracket if nested == 0 => break,
                    Token::RParen | Token::RBracket => nested -= 1,
                    Token::Comma if nested == 0 => break,
                    _ => {}
                }
                end += 1;
            }
            if end == value_start || end >= tokens.len() {
                return edits;
            }
            let value = match tokens[value_start].token {
                Token::SingleQuotedString(text) if end == value_start + 1 => text.clone(),
                _ => sql[tokens[value_start].start..tokens[end].start]
                    .trim_end()
                    .to_string(),
            };
            let text = format!("{}={value}", name.value).replace('\'', "''");
            edits.push(Edit {
                start: tokens[i].start,
                end: sql[..tokens[end].start].trim_end().len(),
                text: format!("'{text}'"),
            });
            i = end;
            continue;
        }
        i += 1;
    }
    edits
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
    fn named_arguments_of_window_functions_become_texts() {
        assert_eq!(
            rewrite_calls("SELECT project(v, 'tsne', perplexity => 30) OVER () FROM t"),
            "SELECT project(v, 'tsne', 'perplexity=30') OVER () FROM t"
        );
        assert_eq!(
            rewrite_calls(
                "SELECT cluster(v, 'dbscan', eps=>0.4, metric => 'euclidean' ) OVER () FROM t"
            ),
            "SELECT \"cluster\"(v, 'dbscan', 'eps=0.4', 'metric=euclidean' ) OVER () FROM t"
        );
        // A value that is not a plain constant keeps its text, for the function to refuse by
        // the parameter's name; a quote in it is doubled.
        assert_eq!(
            rewrite_calls(
                "SELECT project(v, 'tsne', perplexity => (10 * 3), x => 'it''s') OVER ()"
            ),
            "SELECT project(v, 'tsne', 'perplexity=(10 * 3)', 'x=it''s') OVER ()"
        );
        // The graph table functions, whose parameter names may be keywords.
        assert_eq!(
            rewrite_calls(
                "SELECT * FROM face_cooccurrence('faces', 'person', window => 2, group => 'video')"
            ),
            "SELECT * FROM face_cooccurrence('faces', 'person', 'window=2', 'group=video')"
        );
        assert_eq!(
            rewrite_calls(
                "SELECT * FROM pagerank('e', 's', 't', tolerance => 1e-9, directed => false)"
            ),
            "SELECT * FROM pagerank('e', 's', 't', 'tolerance=1e-9', 'directed=false')"
        );
        // Nested calls and other functions are left alone.
        for sql in [
            "SELECT my_udf(a => 1)",
            "SELECT project(v, 'pca') OVER () FROM t",
            "SELECT project(make_array(1, 2), 'pca') OVER ()",
        ] {
            assert_eq!(rewrite_calls(sql), sql);
        }
    }

    #[test]
    fn calls_are_quoted_and_everything_else_is_left_alone() {
        assert_eq!(
            rewrite_calls("SELECT id, cluster(v, 'kmeans', 5) OVER () FROM t"),
            "SELECT id, \"cluster\"(v, 'kmeans', 5) OVER () FROM t"
        );
        assert_eq!(
            rewrite_calls("SELECT a,\n  CLUSTER (v, 'x') OVER () -- cluster(\nFROM t"),
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
            assert_eq!(rewrite_calls(sql), sql);
        }
    }

    #[test]
    fn multibyte_text_before_a_call_keeps_its_offsets() {
        assert_eq!(
            rewrite_calls("SELECT 'été', cluster(v, 'kmeans', 2) OVER () FROM t"),
            "SELECT 'été', \"cluster\"(v, 'kmeans', 2) OVER () FROM t"
        );
    }
}
