use super::*;
use crate::report::DEFAULT_ROWS_SHOWN;

const REPORT: &str = r#"# Nightly, {{day}}

Frames of {{ day }} by video.

```sql csv=videos rows=5
SELECT video, count(*) AS n
FROM frames WHERE day = $day
GROUP BY video;
```

Not run:

```text
SELECT 'not a statement';
```

    SELECT 'indented: not run either';

## Two statements

- in a list:

  ```SQL
  SET reeldb.ef_search = 64;

  -- a comment
  SELECT $limit::int AS "$limit", '$day' AS literal
  ```
"#;

fn parameters(pairs: &[(&str, &str)]) -> Parameters {
    Parameters::from_pairs(pairs)
}

#[test]
fn blocks_statements_and_lines_are_found() {
    let document = ReportDocument::parse("nightly.report.md", REPORT).unwrap();
    assert_eq!(document.title(), Some("Nightly, {{day}}"));
    let blocks = document.blocks();
    assert_eq!(blocks.len(), 2, "text and indented blocks do not run");
    assert_eq!(blocks[0].line, 5);
    assert_eq!(
        blocks[0].options,
        BlockOptions {
            csv: Some("videos.csv".into()),
            parquet: None,
            rows: Some(5),
        }
    );
    assert_eq!(
        blocks[0].statements,
        [ReportStatement {
            text: "SELECT video, count(*) AS n\nFROM frames WHERE day = $day\nGROUP BY video"
                .into(),
            line: 6,
        }]
    );
    assert_eq!(blocks[0].heading.as_deref(), Some("Nightly, {{day}}"));
    assert_eq!(blocks[1].line, 23);
    let lines: Vec<usize> = blocks[1].statements.iter().map(|s| s.line).collect();
    assert_eq!(
        lines,
        [24, 26],
        "a statement starts at its first line, comments included"
    );
    assert!(blocks[1].statements[1].text.ends_with("AS literal"));
    assert_eq!(blocks[1].heading.as_deref(), Some("Two statements"));
    assert_eq!(
        document.parameter_names().into_iter().collect::<Vec<_>>(),
        ["day", "limit"]
    );
}

#[test]
fn binding_puts_values_in_as_literals_and_names_the_files() {
    let document = ReportDocument::parse("nightly.report.md", REPORT).unwrap();
    let given = parameters(&[("day", "it's"), ("limit", "10")]);
    let bound = document.bind(&given, false).unwrap();
    assert_eq!(bound.len(), 3);
    assert_eq!(
        bound[0].sql,
        "SELECT video, count(*) AS n\nFROM frames WHERE day = 'it''s'\nGROUP BY video"
    );
    assert_eq!(
        bound[0].files,
        [ResultFile {
            name: "videos.csv".into(),
            format: ResultFormat::Csv
        }]
    );
    assert_eq!(bound[0].rows_shown, 5);
    assert_eq!(bound[2].rows_shown, DEFAULT_ROWS_SHOWN);
    // Quoted identifiers, strings and comments keep their `$`.
    assert_eq!(
        bound[2].sql,
        "-- a comment\nSELECT '10'::int AS \"$limit\", '$day' AS literal"
    );
    assert_eq!((bound[2].number, bound[2].block, bound[2].line), (3, 1, 26));
    // Every result as CSV, named by its number and heading.
    let every = document.bind(&given, true).unwrap();
    let names: Vec<Vec<&str>> = every
        .iter()
        .map(|s| s.files.iter().map(|f| f.name.as_str()).collect())
        .collect();
    assert_eq!(
        names,
        [
            vec!["videos.csv", "01-nightly-day.csv"],
            vec!["02-two-statements.csv"],
            vec!["03-two-statements.csv"],
        ]
    );
}

#[test]
fn a_missing_parameter_names_its_first_line_and_the_flag() {
    let document = ReportDocument::parse("nightly.report.md", REPORT).unwrap();
    let error = document
        .bind(&parameters(&[("day", "x")]), false)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "nightly.report.md:27: parameter $limit is not given; pass --param limit=VALUE"
    );
    assert!(error.is_usage());
    let error = document.bind(&Parameters::new(), false).unwrap_err();
    assert_eq!(
        error.to_string(),
        "nightly.report.md:1: parameter {{day}} is not given; pass --param day=VALUE"
    );
    // In a multi-line statement, the line of the use itself.
    let document =
        ReportDocument::parse("r.md", "```sql\nSELECT 1,\n  2,\n  $late\n```\n").unwrap();
    let error = document.bind(&Parameters::new(), false).unwrap_err();
    assert!(
        error.to_string().starts_with("r.md:4: parameter $late"),
        "{error}"
    );
}

#[test]
fn parameters_given_but_not_used_are_listed() {
    let document = ReportDocument::parse("nightly.report.md", REPORT).unwrap();
    let given = parameters(&[("day", "x"), ("limit", "1"), ("dya", "typo")]);
    assert_eq!(document.unused_parameters(&given), ["dya"]);
    // Unused parameters are no reason to refuse the report.
    assert_eq!(document.bind(&given, false).unwrap().len(), 3);
}

#[test]
fn parameters_in_links_html_and_code_count() {
    let source =
        "[day](https://x.invalid/?d={{d1}} \"{{d2}}\")\n\n<p>{{d3}}</p>\n\n`{{d4}}` {{a_b_c}}\n";
    let document = ReportDocument::parse("r.md", source).unwrap();
    assert_eq!(
        document.parameter_names().into_iter().collect::<Vec<_>>(),
        ["a_b_c", "d1", "d2", "d3", "d4"]
    );
}

#[test]
fn malformed_reports_name_the_line() {
    for (source, says) in [
        (
            "# R\n\n```sql cvs=x\nSELECT 1\n```\n",
            "r.md:3: unknown option 'cvs'",
        ),
        (
            "# R\n\n```sql\n-- nothing\n```\n",
            "r.md:3: this ```sql block has no statement",
        ),
        (
            "```sql\n```\n",
            "r.md:1: this ```sql block has no statement",
        ),
        (
            "```sql csv=../up\nSELECT 1\n```\n",
            "r.md:1: csv=../up: file name",
        ),
    ] {
        let error = ReportDocument::parse("r.md", source).unwrap_err();
        assert!(error.to_string().starts_with(says), "{source:?}: {error}");
        assert!(!error.is_usage());
    }
    let twice = "```sql csv=a\nSELECT 1\n```\n\n```sql csv=a\nSELECT 2\n```\n";
    let document = ReportDocument::parse("r.md", twice).unwrap();
    let error = document.bind(&Parameters::new(), false).unwrap_err();
    assert_eq!(
        error.to_string(),
        "r.md:6: this result and the one on line 2 would both be written to 'a.csv'; give \
         each csv= or parquet= its own name"
    );
}

#[test]
fn a_report_that_is_not_utf8_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.report.md");
    std::fs::write(&path, b"# ok\n\nLatin-1: \xe9t\xe9\n").unwrap();
    let error = ReportDocument::read(&path).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with(":3: the report is not UTF-8 text; save it as UTF-8")
    );
    let error = ReportDocument::read(&dir.path().join("missing.md")).unwrap_err();
    assert!(matches!(error, ReportError::Read { .. }) && error.is_usage());
}
