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
//! - **Named arguments of the picture functions.** `contact_sheet`, `image_cloud`,
//!   `scatter`, `heatmap` and `timeline` take row arguments (`caption`, `label`, ...) and
//!   options (`columns`, `title`, ...). DataFusion takes named arguments of an aggregate only
//!   when no earlier one is left out, so a named row argument is moved to its position (a
//!   row argument skipped before it becomes NULL) and an option becomes `'name=value'`:
//!   `contact_sheet(t, columns => 5, caption => s ORDER BY ts)` becomes
//!   `contact_sheet(t, s, 'columns=5' ORDER BY ts)`.

use std::borrow::Cow;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer};

/// Function names that are also keywords of the SQL dialect.
const KEYWORD_FUNCTIONS: &[&str] = &["cluster"];

/// Functions whose named arguments become `'name=value'` texts: the window functions, which
/// DataFusion refuses them in, and the graph table functions, which read them as text.
const NAMED_ARGUMENT_FUNCTIONS: &[&str] = &[
    "cluster",
    "outliers",
    "project",
    "face_cooccurrence",
    "pagerank",
];

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
        && !lowered.contains("=>")
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
        } else if word.quote_style.is_none()
            && let Some(rows) = reeldb_udf::picture::row_parameters(&word.value)
        {
            edits.extend(picture_arguments(sql, &tokens, i + 1, &rows));
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

/// One argument of a call: its tokens `[first, end)`, and its name if it is `name => value`.
struct Argument<'a> {
    first: usize,
    end: usize,
    name: Option<&'a str>,
}

/// The edit that puts the arguments of the picture-function call whose `(` is
/// `tokens[open]` in the form the function reads (see the module's documentation); `rows`
/// are its row arguments' names in order. None when no argument is named, or when the
/// call is one DataFusion should report on as written (a positional argument after a named
/// one, a row argument given twice).
fn picture_arguments(
    sql: &str,
    tokens: &[Positioned<'_>],
    open: usize,
    rows: &[&str],
) -> Option<Edit> {
    let mut arguments: Vec<Argument<'_>> = Vec::new();
    let mut depth = 0usize;
    let mut first = open + 1;
    let mut i = open;
    let close = loop {
        let token = tokens.get(i)?.token;
        match token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket if depth == 1 => break i,
            Token::RParen | Token::RBracket => depth -= 1,
            Token::Comma if depth == 1 => {
                arguments.push(Argument {
                    first,
                    end: i,
                    name: None,
                });
                first = i + 1;
            }
            // `ORDER BY` ends the arguments of an aggregate.
            Token::Word(word)
                if depth == 1
                    && word.value.eq_ignore_ascii_case("order")
                    && matches!(tokens.get(i + 1).map(|t| t.token), Some(Token::Word(by)) if by.value.eq_ignore_ascii_case("by")) =>
            {
                break i;
            }
            _ => {}
        }
        i += 1;
    };
    if first < close {
        arguments.push(Argument {
            first,
            end: close,
            name: None,
        });
    }
    for argument in &mut arguments {
        if let (Some(Token::Word(name)), Some(Token::RArrow)) = (
            tokens.get(argument.first).map(|t| t.token),
            tokens.get(argument.first + 1).map(|t| t.token),
        ) && argument.first + 2 < argument.end
        {
            argument.name = Some(name.value.as_str());
        }
    }
    if arguments.iter().all(|a| a.name.is_none()) {
        return None;
    }
    let text = |first: usize, end: usize| sql[tokens[first].start..tokens[end].start].trim_end();
    let positional = arguments.iter().take_while(|a| a.name.is_none()).count();
    if arguments[positional..].iter().any(|a| a.name.is_none()) {
        return None;
    }
    let mut row_values: Vec<Option<&str>> = vec![None; rows.len()];
    let mut options = Vec::new();
    for argument in &arguments[positional..] {
        let name = argument.name.unwrap_or_default();
        let value_first = argument.first + 2;
        match rows.iter().position(|row| row.eq_ignore_ascii_case(name)) {
            Some(slot) if slot < positional || row_values[slot].is_some() => return None,
            Some(slot) => row_values[slot] = Some(text(value_first, argument.end)),
            None => {
                let value = match tokens[value_first].token {
                    Token::SingleQuotedString(value) if argument.end == value_first + 1 => {
                        value.clone()
                    }
                    _ => text(value_first, argument.end).to_string(),
                };
                let option = format!("{name}={value}").replace('\'', "''");
                options.push(format!("'{option}'"));
            }
        }
    }
    let mut rewritten: Vec<String> = arguments[..positional]
        .iter()
        .map(|a| text(a.first, a.end).to_string())
        .collect();
    if let Some(last) = row_values.iter().rposition(Option::is_some) {
        for value in row_values.iter().take(last + 1).skip(positional) {
            rewritten.push(value.unwrap_or("NULL").to_string());
        }
    }
    rewritten.extend(options);
    let last = arguments.last()?;
    Some(Edit {
        start: tokens[arguments[0].first].start,
        end: sql[..tokens[last.end].start].trim_end().len(),
        text: rewritten.join(", "),
    })
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
    fn named_arguments_of_picture_functions_move_to_their_places() {
        assert_eq!(
            rewrite_calls(
                "SELECT contact_sheet(thumbnail, columns => 5, caption => format('%.3f', s) \
                 ORDER BY s DESC) FROM t"
            ),
            "SELECT contact_sheet(thumbnail, format('%.3f', s), 'columns=5' ORDER BY s DESC) \
             FROM t"
        );
        assert_eq!(
            rewrite_calls("SELECT scatter(x, y, title => 'it''s', label => topic) FROM t"),
            "SELECT scatter(x, y, topic, 'title=it''s') FROM t"
        );
        // A row argument skipped before a named one is NULL.
        assert_eq!(
            rewrite_calls("SELECT timeline(ts, label, score => p, width => 900) FROM t"),
            "SELECT timeline(ts, label, p, 'width=900') FROM t"
        );
        assert_eq!(
            rewrite_calls("SELECT CONTACT_SHEET(crop, title => 'faces') FROM f"),
            "SELECT CONTACT_SHEET(crop, 'title=faces') FROM f"
        );
        // Left for DataFusion to report: positional after named, a row argument twice.
        for sql in [
            "SELECT scatter(x, title => 't', y) FROM t",
            "SELECT contact_sheet(t, s, caption => s) FROM t",
            "SELECT contact_sheet(t ORDER BY ts) FROM t",
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
