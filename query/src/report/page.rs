//! The report page: one self-contained `index.html`.
//!
//! The Markdown is rendered by pulldown-cmark in one pass, each `sql` block replaced by the
//! results of its statements: a table (at most the block's `rows` rows, numbers
//! right-aligned, with a line that counts the rest), or a full-width figure for a result that
//! is one image, each with its SQL folded under it. After the first heading (or a heading of
//! the report's name, when the file does not start with one) come when it was made, the
//! database and version it read, and its parameters. Styles are inline; the page runs no
//! script and loads nothing (its Content-Security-Policy allows only `data:` images and its
//! own styles), so it can be mailed, archived or opened from disk as it is.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use arrow::array::RecordBatch;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, Tag, TagEnd};

use super::cells::{Image, binary_values, html_cells, is_numeric};
use super::document::{ReportDocument, markdown_events};
use super::html::{escape_html, grouped, utc_time};
use super::parameters::{Parameters, replace_uses, text_uses};
use super::publish::GENERATOR_META;
use super::run::StatementResult;

/// What the page says about how it was made.
pub(crate) struct PageContext<'a> {
    pub(crate) document: &'a ReportDocument,
    pub(crate) parameters: &'a Parameters,
    pub(crate) database: &'a Path,
    pub(crate) version: u64,
    pub(crate) generated_at: SystemTime,
}

/// The whole page, for `results` (every statement's, in report order).
pub(crate) fn render_page(cx: &PageContext<'_>, results: &[StatementResult]) -> String {
    let document = cx.document;
    let fallback_title = report_stem(document.name());
    let title = match document.title() {
        Some(title) => with_parameters(title, cx.parameters),
        None => fallback_title.clone(),
    };
    let mut by_block: Vec<Vec<&StatementResult>> = vec![Vec::new(); document.blocks().len()];
    for result in results {
        by_block[result.statement.block].push(result);
    }
    let block_at: HashMap<usize, usize> = document
        .blocks()
        .iter()
        .enumerate()
        .map(|(i, block)| (block.start, i))
        .collect();

    let mut events: Vec<Event<'_>> = Vec::new();
    let mut skipping = false;
    let mut meta_placed = false;
    let mut first = true;
    for (event, range) in markdown_events(document.source()) {
        if skipping {
            if matches!(event, Event::End(TagEnd::CodeBlock)) {
                skipping = false;
            }
            continue;
        }
        if first {
            first = false;
            if !matches!(event, Event::Start(Tag::Heading { .. })) {
                events.push(Event::Html(
                    format!("<h1>{}</h1>\n", escape_html(&fallback_title)).into(),
                ));
                events.push(Event::Html(meta(cx).into()));
                meta_placed = true;
            }
        }
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_)))
                if block_at.contains_key(&range.start) =>
            {
                skipping = true;
                let block = block_at[&range.start];
                events.push(Event::Html(block_results(&by_block[block]).into()));
            }
            Event::End(TagEnd::Heading(level)) => {
                events.push(Event::End(TagEnd::Heading(level)));
                if !meta_placed {
                    events.push(Event::Html(meta(cx).into()));
                    meta_placed = true;
                }
            }
            other => events.push(substitute(other, cx.parameters)),
        }
    }
    if !meta_placed {
        // An empty report: its name, and how it was made.
        events.push(Event::Html(
            format!("<h1>{}</h1>\n", escape_html(&fallback_title)).into(),
        ));
        events.push(Event::Html(meta(cx).into()));
    }
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events.into_iter());

    let mut page = String::with_capacity(body.len() + STYLE.len() + 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str(GENERATOR_META);
    page.push('\n');
    page.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         img-src data:; style-src 'unsafe-inline'\">\n",
    );
    let _ = writeln!(page, "<title>{}</title>", escape_html(&title));
    let _ = writeln!(page, "<style>{STYLE}</style>");
    page.push_str("</head>\n<body>\n<main>\n");
    page.push_str(&body);
    page.push_str("</main>\n<footer>");
    let _ = write!(
        page,
        "Made by <code>reeldb report</code> from {} on {}, reading version {} of {}.",
        escape_html(document.name()),
        escape_html(&utc_time(cx.generated_at)),
        cx.version,
        escape_html(&cx.database.display().to_string())
    );
    page.push_str("</footer>\n</body>\n</html>\n");
    page
}

/// `nightly` for `reports/nightly.report.md`.
pub(crate) fn report_stem(name: &str) -> String {
    let file = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string());
    for suffix in [".report.md", ".md", ".markdown"] {
        if let Some(stem) = file.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return stem.to_string();
        }
    }
    file
}

/// `text` with its `{{name}}` parameters replaced by their values (raw: the caller escapes).
fn with_parameters(text: &str, parameters: &Parameters) -> String {
    let uses = text_uses(text);
    // Every use was checked against the parameters before anything ran; an unknown one is
    // left as written rather than lost.
    replace_uses(text, &uses, |name| {
        Some(
            parameters
                .get(name)
                .map_or_else(|| format!("{{{{{name}}}}}"), str::to_string),
        )
    })
    .unwrap_or_else(|_| text.to_string())
}

/// `event` with `{{name}}` parameters replaced: as text where the renderer escapes it, and
/// escaped here where it writes what it is given (HTML).
fn substitute<'a>(event: Event<'a>, parameters: &Parameters) -> Event<'a> {
    let plain = |text: &CowStr<'a>| -> CowStr<'a> {
        if text_uses(text).is_empty() {
            text.clone()
        } else {
            with_parameters(text, parameters).into()
        }
    };
    let html = |text: &CowStr<'a>| -> CowStr<'a> {
        let uses = text_uses(text);
        if uses.is_empty() {
            return text.clone();
        }
        replace_uses(text, &uses, |name| parameters.get(name).map(escape_html))
            .unwrap_or_else(|_| text.to_string())
            .into()
    };
    match event {
        Event::Text(text) => Event::Text(plain(&text)),
        Event::Code(text) => Event::Code(plain(&text)),
        Event::Html(text) => Event::Html(html(&text)),
        Event::InlineHtml(text) => Event::InlineHtml(html(&text)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: plain(&dest_url),
            title: plain(&title),
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: plain(&dest_url),
            title: plain(&title),
            id,
        }),
        other => other,
    }
}

/// The box under the first heading: when, what, which version, with which parameters.
fn meta(cx: &PageContext<'_>) -> String {
    let mut html = String::from("<dl class=\"meta\">\n");
    let mut row = |term: &str, value: String| {
        let _ = writeln!(html, "<dt>{term}</dt><dd>{value}</dd>");
    };
    row("Generated", escape_html(&utc_time(cx.generated_at)));
    row(
        "Database",
        format!(
            "<code>{}</code>, version {} (every statement read this version)",
            escape_html(&cx.database.display().to_string()),
            cx.version
        ),
    );
    row(
        "Report",
        format!("<code>{}</code>", escape_html(cx.document.name())),
    );
    if !cx.parameters.is_empty() {
        let list: Vec<String> = cx
            .parameters
            .iter()
            .map(|(name, value)| {
                format!(
                    "<code>{}</code> = <code>{}</code>",
                    escape_html(name),
                    escape_html(value)
                )
            })
            .collect();
        row("Parameters", list.join(", "));
    }
    html.push_str("</dl>\n");
    html
}

/// The results of one block's statements, in order.
fn block_results(results: &[&StatementResult]) -> String {
    let mut html = String::new();
    for result in results {
        let statement = &result.statement;
        let _ = writeln!(
            html,
            "<section class=\"result\" id=\"statement-{}\">",
            statement.number
        );
        if !result.schema.fields().is_empty() {
            match single_image(result) {
                Some(figure) => html.push_str(&figure),
                None => html.push_str(&table(result)),
            }
            html.push_str(&rows_note(result));
        }
        let _ = writeln!(
            html,
            "<details><summary>SQL · line {}</summary><pre><code>{}</code></pre></details>",
            statement.line,
            escape_html(&statement.sql)
        );
        html.push_str("</section>\n");
    }
    html
}

/// A full-width figure when the result is one cell that holds an image.
fn single_image(result: &StatementResult) -> Option<String> {
    if result.schema.fields().len() != 1 || result.total_rows != 1 {
        return None;
    }
    let batch = result.shown.iter().find(|b| b.num_rows() == 1)?;
    let values = binary_values(batch.column(0))?;
    let bytes = values.first().copied().flatten()?;
    let image = Image::sniff(bytes)?;
    Some(format!(
        "<figure class=\"figure\">{}<figcaption>{}</figcaption></figure>\n",
        image.tag(bytes),
        escape_html(result.schema.field(0).name())
    ))
}

fn table(result: &StatementResult) -> String {
    let schema = &result.schema;
    let numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| is_numeric(f.data_type()))
        .collect();
    let class = |i: usize| if numeric[i] { " class=\"num\"" } else { "" };
    let mut html = String::from("<div class=\"table\"><table>\n<thead><tr>");
    for (i, field) in schema.fields().iter().enumerate() {
        let _ = write!(html, "<th{}>{}</th>", class(i), escape_html(field.name()));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for batch in &result.shown {
        html.push_str(&table_rows(batch, &class));
    }
    html.push_str("</tbody>\n</table></div>\n");
    html
}

fn table_rows(batch: &RecordBatch, class: &dyn Fn(usize) -> &'static str) -> String {
    let columns: Vec<Vec<String>> = batch
        .columns()
        .iter()
        .map(|column| {
            html_cells(column).unwrap_or_else(|e| {
                vec![
                    format!(
                        "<span class=\"null\">({})</span>",
                        escape_html(&e.to_string())
                    );
                    column.len()
                ]
            })
        })
        .collect();
    let mut html = String::new();
    for row in 0..batch.num_rows() {
        html.push_str("<tr>");
        for (i, cells) in columns.iter().enumerate() {
            let _ = write!(html, "<td{}>{}</td>", class(i), cells[row]);
        }
        html.push_str("</tr>\n");
    }
    html
}

/// `3 rows`, or `1,000 of 12,345 rows shown: ...`, with links to the result's files.
fn rows_note(result: &StatementResult) -> String {
    let total = result.total_rows;
    let shown = result.shown_rows();
    let noun = if total == 1 { "row" } else { "rows" };
    let links: Vec<String> = result
        .files
        .iter()
        .map(|name| {
            let name = escape_html(name);
            format!("<a href=\"{name}\">{name}</a>")
        })
        .collect();
    let mut note = if shown < total {
        format!("{} of {} {noun} shown", grouped(shown), grouped(total))
    } else {
        format!("{} {noun}", grouped(total))
    };
    if !links.is_empty() {
        let _ = write!(note, "; all in {}", links.join(", "));
    } else if shown < total {
        note.push_str("; add csv=NAME to the block's fence to write them all to a file");
    }
    format!("<p class=\"rows\">{note}</p>\n")
}

/// The page's styles: a readable column of text, tables with a light grid and striped rows,
/// numbers right-aligned in tabular figures, thumbnails at most 256 px, figures full width;
/// the system's fonts (nothing to download).
const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #f4f4f1; color: #1f2328;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 40px; background: #ffffff;
  box-sizing: border-box; }
h1 { font-size: 1.9em; margin: 0.2em 0 0.4em; line-height: 1.2; }
h2 { font-size: 1.4em; margin: 1.8em 0 0.6em; padding-bottom: 0.2em; border-bottom: 1px solid #e3e3de; }
h3 { font-size: 1.15em; margin: 1.4em 0 0.5em; }
a { color: #0b5cad; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.9em; }
pre { background: #f3f4f6; padding: 10px 12px; overflow-x: auto; border-radius: 4px; }
blockquote { margin: 1em 0; padding: 0 1em; color: #57606a; border-left: 3px solid #d0d7de; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 1.6em;
  padding: 10px 14px; background: #f1f5fa; border-left: 3px solid #0b5cad; font-size: 0.9em; }
dl.meta dt { color: #57606a; }
dl.meta dd { margin: 0; }
section.result { margin: 1em 0 1.8em; }
div.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #d6dbe1; padding: 4px 8px; text-align: left; vertical-align: top;
  white-space: pre-wrap; }
th { background: #e8edf3; font-weight: 600; }
tbody tr:nth-child(even) td { background: #f6f8fa; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
td img { display: block; max-width: 256px; max-height: 256px; width: auto; height: auto; }
.null { color: #8c959f; font-style: italic; }
.bytes { color: #57606a; }
figure.figure { margin: 0.4em 0; }
figure.figure img { display: block; width: 100%; height: auto; border: 1px solid #d6dbe1; }
figcaption { color: #57606a; font-size: 0.85em; margin-top: 0.2em; }
p.rows { color: #57606a; font-size: 0.85em; margin: 0.3em 0; }
details { color: #57606a; font-size: 0.85em; }
details pre { color: #1f2328; white-space: pre-wrap; }
footer { max-width: 1180px; margin: 0 auto; padding: 10px 32px 24px; color: #6e7781; font-size: 0.8em; }
"#;
