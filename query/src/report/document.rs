//! A report file, parsed: its `sql` blocks and their statements with the lines they start on,
//! the parameters it uses, and its title.
//!
//! The file is read as Markdown (CommonMark with GitHub's tables and strikethrough) by
//! pulldown-cmark, the same parser that renders it, so what counts as a code block is what
//! renders as one: a fence inside a list or a quote runs, an indented code block does not.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd, TextMergeWithOffset};

use super::error::ReportError;
use super::fence::{BlockOptions, sql_block_options};
use super::parameters::{Parameters, sql_uses, substitute_sql, text_uses};
use crate::split::split_statements;

/// A parsed report file; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct ReportDocument {
    name: String,
    source: String,
    blocks: Vec<SqlBlock>,
    /// `{{name}}` in the Markdown: the name and the line.
    text_uses: Vec<(String, usize)>,
    title: Option<String>,
}

/// One ```` ```sql ```` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlBlock {
    /// The line of its opening fence.
    pub line: usize,
    /// Its fence options.
    pub options: BlockOptions,
    /// Its statements, in order; at least one.
    pub statements: Vec<ReportStatement>,
    /// The text of the last heading before it, if any.
    pub heading: Option<String>,
    /// Where its opening fence starts in the file, to find it again when rendering.
    pub(crate) start: usize,
}

/// One statement of a block, as written (parameters not yet replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportStatement {
    /// The statement, without its semicolon.
    pub text: String,
    /// The line of the report file it starts on.
    pub line: usize,
}

/// A statement ready to run: parameters replaced, and the files its result goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundStatement {
    /// Its number in the report, from 1.
    pub number: usize,
    /// The index of its block in [`ReportDocument::blocks`].
    pub block: usize,
    /// The line of the report file it starts on.
    pub line: usize,
    /// The SQL that runs.
    pub sql: String,
    /// Rows of its result shown in the page.
    pub rows_shown: usize,
    /// Files its whole result is written to, beside the page.
    pub files: Vec<ResultFile>,
}

/// A file a result is written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFile {
    /// The file's name in the output directory.
    pub name: String,
    /// Its format.
    pub format: ResultFormat,
}

/// The format of a [`ResultFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// CSV with a header, nested values and BLOBs made flat text as `reeldb query --format
    /// csv` writes them.
    Csv,
    /// Parquet, every type kept.
    Parquet,
}

/// The Markdown that reports are written in.
pub(crate) fn markdown_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// The events of `source` with their byte ranges, consecutive text merged (so `{{a_b}}` is
/// one piece of text even where the parser splits it at `_`).
pub(crate) fn markdown_events(source: &str) -> impl Iterator<Item = (Event<'_>, Range<usize>)> {
    TextMergeWithOffset::new(Parser::new_ext(source, markdown_options()).into_offset_iter())
}

impl ReportDocument {
    /// Reads and parses the report file at `path`; messages name it as given.
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let bytes = std::fs::read(path).map_err(|cause| ReportError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let name = path.display().to_string();
        match String::from_utf8(bytes) {
            Ok(source) => Self::parse(name, source),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let line = e.as_bytes()[..valid]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                Err(ReportError::Malformed {
                    file: name,
                    line,
                    message: "the report is not UTF-8 text; save it as UTF-8".into(),
                })
            }
        }
    }

    /// Parses `source`, a report file that messages call `name`.
    pub fn parse(name: impl Into<String>, source: impl Into<String>) -> Result<Self, ReportError> {
        let name = name.into();
        let source = source.into();
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let line_of = |offset: usize| line_starts.partition_point(|start| *start <= offset);
        let malformed = |line: usize, message: String| ReportError::Malformed {
            file: name.clone(),
            line,
            message,
        };
        let mut blocks = Vec::new();
        let mut markdown_uses = Vec::new();
        let mut title = None;
        let mut last_heading: Option<String> = None;
        let mut heading: Option<String> = None;
        let mut open: Option<OpenBlock> = None;
        for (event, range) in markdown_events(&source) {
            let line = line_of(range.start);
            if let Some(block) = open.as_mut() {
                match event {
                    Event::Text(text) => {
                        block.content_line.get_or_insert(line);
                        block.content.push_str(&text);
                    }
                    Event::End(TagEnd::CodeBlock) => {
                        let block = open.take().expect("a block is open");
                        let block = block
                            .finish(last_heading.clone())
                            .map_err(|(line, message)| malformed(line, message))?;
                        blocks.push(block);
                    }
                    _ => {}
                }
                continue;
            }
            let mut note_uses = |text: &str, line: usize| {
                for used in text_uses(text) {
                    let before = &text[..used.span.start];
                    let line = line + before.matches('\n').count();
                    markdown_uses.push((used.name.to_string(), line));
                }
            };
            match &event {
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                    if let Some(options) = sql_block_options(info) {
                        let options = options.map_err(|message| malformed(line, message))?;
                        open = Some(OpenBlock {
                            start: range.start,
                            fence_line: line,
                            options,
                            content: String::new(),
                            content_line: None,
                        });
                    }
                }
                Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
                Event::End(TagEnd::Heading(_)) => {
                    if let Some(text) = heading.take() {
                        title.get_or_insert_with(|| text.clone());
                        last_heading = Some(text);
                    }
                }
                Event::Start(Tag::Link {
                    dest_url,
                    title: link_title,
                    ..
                })
                | Event::Start(Tag::Image {
                    dest_url,
                    title: link_title,
                    ..
                }) => {
                    note_uses(dest_url, line);
                    note_uses(link_title, line);
                }
                Event::Text(text) | Event::Code(text) => {
                    note_uses(text, line);
                    if let Some(heading) = heading.as_mut() {
                        heading.push_str(text);
                    }
                }
                Event::Html(text) | Event::InlineHtml(text) => note_uses(text, line),
                Event::SoftBreak | Event::HardBreak => {
                    if let Some(heading) = heading.as_mut() {
                        heading.push(' ');
                    }
                }
                _ => {}
            }
        }
        Ok(ReportDocument {
            name,
            source,
            blocks,
            text_uses: markdown_uses,
            title,
        })
    }

    /// The name messages call the file by (the path as given).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The `sql` blocks, in order.
    pub fn blocks(&self) -> &[SqlBlock] {
        &self.blocks
    }

    /// The text of the first heading, `{{name}}` parameters not yet replaced.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The names of the parameters the report uses, `$name` and `{{name}}`.
    pub fn parameter_names(&self) -> BTreeSet<&str> {
        self.uses().into_iter().map(|(_, name, _)| name).collect()
    }

    /// The parameters in `given` that the report does not use.
    pub fn unused_parameters<'a>(&self, given: &'a Parameters) -> Vec<&'a str> {
        let used = self.parameter_names();
        given
            .iter()
            .map(|(name, _)| name)
            .filter(|name| !used.contains(name))
            .collect()
    }

    /// The statements with `given` parameters in place, each with the files its result goes
    /// to: its block's `csv=` and `parquet=` (for the block's last statement) and, with
    /// `csv_every_result`, `NN-<heading>.csv` (`NN` its number in the report). Fails on the
    /// first parameter used but not given, and on two results written to one file.
    pub fn bind(
        &self,
        given: &Parameters,
        csv_every_result: bool,
    ) -> Result<Vec<BoundStatement>, ReportError> {
        if let Some((line, name, usage)) = self
            .uses()
            .into_iter()
            .find(|(_, name, _)| given.get(name).is_none())
        {
            return Err(ReportError::MissingParameter {
                file: self.name.clone(),
                line,
                name: name.to_string(),
                usage,
            });
        }
        let mut bound = Vec::new();
        let mut files: HashMap<String, usize> = HashMap::new();
        for (index, block) in self.blocks.iter().enumerate() {
            for (i, statement) in block.statements.iter().enumerate() {
                let number = bound.len() + 1;
                let sql = substitute_sql(&statement.text, given).map_err(|used| {
                    ReportError::Statement {
                        file: self.name.clone(),
                        line: statement.line,
                        error: Box::new(crate::Error::Internal(format!(
                            "parameter '{}' was checked as given but is missing",
                            used.name
                        ))),
                    }
                })?;
                let mut wanted = Vec::new();
                if i + 1 == block.statements.len() {
                    if let Some(name) = &block.options.csv {
                        wanted.push((name.clone(), ResultFormat::Csv));
                    }
                    if let Some(name) = &block.options.parquet {
                        wanted.push((name.clone(), ResultFormat::Parquet));
                    }
                }
                if csv_every_result {
                    let slug = slug(block.heading.as_deref().unwrap_or(""));
                    wanted.push((format!("{number:02}-{slug}.csv"), ResultFormat::Csv));
                }
                let mut result_files = Vec::new();
                for (name, format) in wanted {
                    if let Some(other) = files.insert(name.clone(), statement.line) {
                        return Err(ReportError::Malformed {
                            file: self.name.clone(),
                            line: statement.line,
                            message: format!(
                                "this result and the one on line {other} would both be \
                                 written to '{name}'; give each csv= or parquet= its own name"
                            ),
                        });
                    }
                    result_files.push(ResultFile { name, format });
                }
                bound.push(BoundStatement {
                    number,
                    block: index,
                    line: statement.line,
                    sql,
                    rows_shown: block.options.rows_shown(),
                    files: result_files,
                });
            }
        }
        Ok(bound)
    }

    /// Every use of a parameter, in the order of the file: line, name, and the use as
    /// written for messages (`$day`, `{{day}}`).
    fn uses(&self) -> Vec<(usize, &str, String)> {
        let mut uses: Vec<(usize, &str, String)> = self
            .text_uses
            .iter()
            .map(|(name, line)| (*line, name.as_str(), format!("{{{{{name}}}}}")))
            .collect();
        for statement in self.blocks.iter().flat_map(|b| &b.statements) {
            for used in sql_uses(&statement.text) {
                let before = &statement.text[..used.span.start];
                let line = statement.line + before.matches('\n').count();
                uses.push((line, used.name, format!("${}", used.name)));
            }
        }
        uses.sort_by_key(|(line, _, _)| *line);
        uses
    }
}

/// A block whose closing fence has not been read yet.
struct OpenBlock {
    start: usize,
    fence_line: usize,
    options: BlockOptions,
    content: String,
    /// The line the content starts on (none for an empty block).
    content_line: Option<usize>,
}

impl OpenBlock {
    fn finish(self, heading: Option<String>) -> Result<SqlBlock, (usize, String)> {
        let first = self.content_line.unwrap_or(self.fence_line + 1);
        let statements: Vec<ReportStatement> = split_statements(&self.content)
            .into_iter()
            .map(|s| ReportStatement {
                text: s.text,
                line: first + s.line - 1,
            })
            .collect();
        if statements.is_empty() {
            return Err((
                self.fence_line,
                "this ```sql block has no statement; write one, or tag the block otherwise \
                 (```text) to show it without running it"
                    .into(),
            ));
        }
        Ok(SqlBlock {
            line: self.fence_line,
            options: self.options,
            statements,
            heading,
            start: self.start,
        })
    }
}

/// `heading` as part of a file name: lower-case ASCII letters and digits, other runs as `-`,
/// at most 40 bytes; `result` when nothing is left.
fn slug(heading: &str) -> String {
    let mut slug = String::new();
    for c in heading.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "result".into()
    } else {
        slug.to_string()
    }
}

#[cfg(test)]
mod tests;
