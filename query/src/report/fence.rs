//! The info string of a fenced code block: ```` ```sql csv=clusters rows=50 ````.
//!
//! A block runs when the first word of its info string is `sql` (any case); the other words
//! are its options, `key=value` each, separated by spaces:
//!
//! | option | what it does |
//! |---|---|
//! | `csv=NAME` | writes the block's last result, every row, as `NAME.csv` beside the page |
//! | `parquet=NAME` | ... as `NAME.parquet` (types kept: vectors, structs, BLOBs) |
//! | `rows=N` | shows at most `N` rows of each result in the page (default 1,000; 0 shows only the count) |
//!
//! `NAME` is one file name (letters, digits, `-`, `_`, `.`; the extension is added unless it
//! is already there). Any other word is an error that lists these.

use reeldb_engine::validate_output_file_name;

/// Rows of a result shown in the page unless `rows=N` says otherwise.
pub const DEFAULT_ROWS_SHOWN: usize = 1000;

/// The most rows `rows=N` may ask for: a page of more is not one a browser opens.
const MAX_ROWS_SHOWN: usize = 100_000;

/// What a block's fence options ask for: ```` ```sql csv=NAME parquet=NAME rows=N ```` (all
/// optional; `docs/reports.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockOptions {
    /// `csv=NAME`: the file name of the last result's CSV copy, with its extension.
    pub csv: Option<String>,
    /// `parquet=NAME`: the file name of the last result's Parquet copy, with its extension.
    pub parquet: Option<String>,
    /// `rows=N`: at most this many rows of each result in the page.
    pub rows: Option<usize>,
}

impl BlockOptions {
    /// Rows of each result shown in the page.
    pub fn rows_shown(&self) -> usize {
        self.rows.unwrap_or(DEFAULT_ROWS_SHOWN)
    }
}

/// The options of a block whose info string is `info`: `None` if it is not a `sql` block,
/// else its options or what is wrong with them.
pub(crate) fn sql_block_options(info: &str) -> Option<Result<BlockOptions, String>> {
    let mut words = info.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("sql") {
        return None;
    }
    Some(parse_options(words))
}

const KNOWN: &str = "csv=NAME, parquet=NAME and rows=N";

fn parse_options<'a>(words: impl Iterator<Item = &'a str>) -> Result<BlockOptions, String> {
    let mut options = BlockOptions::default();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "'{word}' in the ```sql fence is not an option; the options are {KNOWN}, as \
                 in ```sql csv=clusters"
            ));
        };
        let duplicate = || format!("option '{key}' is given twice in the ```sql fence");
        match key {
            "csv" | "parquet" => {
                let name = file_name(key, value)?;
                let slot = if key == "csv" {
                    &mut options.csv
                } else {
                    &mut options.parquet
                };
                if slot.replace(name).is_some() {
                    return Err(duplicate());
                }
            }
            "rows" => {
                let rows = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_ROWS_SHOWN)
                    .ok_or_else(|| {
                        format!(
                            "rows={value}: give the number of rows to show, 0 to {MAX_ROWS_SHOWN}"
                        )
                    })?;
                if options.rows.replace(rows).is_some() {
                    return Err(duplicate());
                }
            }
            _ => {
                return Err(format!(
                    "unknown option '{key}' in the ```sql fence; the options are {KNOWN}"
                ));
            }
        }
    }
    Ok(options)
}

/// `NAME.ext` for `key=NAME` (`csv=clusters` is `clusters.csv`, and so is `csv=clusters.csv`).
fn file_name(key: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("{key}= needs a file name, as in {key}=clusters"));
    }
    let extension = format!(".{key}");
    let name = if value.to_ascii_lowercase().ends_with(&extension) {
        value.to_string()
    } else {
        format!("{value}{extension}")
    };
    validate_output_file_name(&name, &format!("{key}={value}")).map_err(|e| e.to_string())?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sql_blocks_run_and_their_options_are_read() {
        assert_eq!(sql_block_options("rust"), None);
        assert_eq!(sql_block_options(""), None);
        assert_eq!(sql_block_options("sql-text"), None);
        assert_eq!(sql_block_options("SQL"), Some(Ok(BlockOptions::default())));
        assert_eq!(
            sql_block_options("sql csv=clusters parquet=all.parquet rows=0"),
            Some(Ok(BlockOptions {
                csv: Some("clusters.csv".into()),
                parquet: Some("all.parquet".into()),
                rows: Some(0),
            }))
        );
    }

    #[test]
    fn bad_options_say_what_is_allowed() {
        for (info, says) in [
            ("sql cvs=x", "unknown option 'cvs'"),
            ("sql csv", "is not an option"),
            ("sql csv=../x", "cannot be used in a name"),
            ("sql csv=.hidden", "cannot be used in a name"),
            ("sql csv=", "needs a file name"),
            ("sql rows=many", "rows=many: give the number"),
            ("sql rows=-1", "rows=-1"),
            ("sql rows=100001", "0 to 100000"),
            ("sql csv=a csv=b", "given twice"),
        ] {
            let error = sql_block_options(info).unwrap().unwrap_err();
            assert!(error.contains(says), "{info}: {error}");
        }
    }
}
