//! Splitting SQL text into statements, for scripts and the shell.
//!
//! A semicolon ends a statement unless it is inside a string, a quoted identifier or a
//! comment. Statements that hold only comments and white space are dropped.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatement {
    /// The statement's text, without the terminating semicolon.
    pub text: String,
    /// The 1-based line on which the statement starts in the script.
    pub line: usize,
}

/// Splits `sql` into statements.
pub fn split_statements(sql: &str) -> Vec<ScriptStatement> {
    let mut statements = Vec::new();
    let mut scanner = Scanner::default();
    let mut lines = LineCounter::default();
    let mut start = 0;
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if scanner.step(c, chars.peek().map(|(_, c)| *c)) {
            push(&mut statements, sql, start, i, &mut lines);
            start = i + 1;
        }
    }
    push(&mut statements, sql, start, sql.len(), &mut lines);
    statements
}

/// Counts lines up to a byte offset, resuming where the last call stopped.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, sql: &str, offset: usize) -> usize {
        self.line += sql[self.offset..offset].matches('\n').count();
        self.offset = offset;
        self.line + 1
    }
}

/// Whether `sql` ends with a complete statement: a semicolon outside strings and comments,
/// followed by nothing but white space and comments.
pub fn ends_statement(sql: &str) -> bool {
    let mut tracker = StatementTracker::default();
    tracker.push(sql);
    tracker.ends_statement()
}

/// [`ends_statement`] for text that arrives in pieces (the shell's and a script's lines), in
/// time linear in the whole text: asking [`ends_statement`] again of the growing buffer after
/// every line made a statement of n lines cost n² (a 40,000-line INSERT took 19 s).
#[derive(Debug, Clone, Default)]
pub struct StatementTracker {
    scanner: Scanner,
    complete: bool,
    /// The last character pushed, not scanned yet: what it means can depend on the next one
    /// (`-` before `-`, `'` before `'`).
    held: Option<char>,
}

impl StatementTracker {
    /// Adds `text` after what was pushed before.
    pub fn push(&mut self, text: &str) {
        for c in text.chars() {
            if let Some(held) = self.held.replace(c) {
                self.scan(held, Some(c));
            }
        }
    }

    /// Whether the text pushed so far ends with a complete statement.
    pub fn ends_statement(&self) -> bool {
        let mut done = self.clone();
        if let Some(held) = done.held.take() {
            done.scan(held, None);
        }
        done.complete && done.scanner.state != State::BlockComment
    }

    /// Forgets everything pushed, to start the next statement.
    pub fn clear(&mut self) {
        *self = StatementTracker::default();
    }

    fn scan(&mut self, c: char, next: Option<char>) {
        let (before, skipped) = (self.scanner.state, self.scanner.skip);
        if self.scanner.step(c, next) {
            self.complete = true;
        } else if !skipped
            && before == State::Code
            && self.scanner.state == State::Code
            && !c.is_whitespace()
        {
            self.complete = false;
        }
    }
}

fn push(
    statements: &mut Vec<ScriptStatement>,
    sql: &str,
    start: usize,
    end: usize,
    lines: &mut LineCounter,
) {
    let text = &sql[start..end];
    if has_code(text) {
        let leading = text.len() - text.trim_start().len();
        statements.push(ScriptStatement {
            text: text.trim().to_string(),
            line: lines.line_at(sql, start + leading),
        });
    }
}

/// The characters of `sql` that are code, with their byte offsets: those outside strings,
/// quoted identifiers and comments, and not the quotes or comment markers themselves. A
/// report's `$name` parameters are looked for only there.
pub(crate) fn code_chars(sql: &str) -> Vec<(usize, char)> {
    let mut code = Vec::new();
    let mut scanner = Scanner::default();
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let (before, skipped) = (scanner.state, scanner.skip);
        scanner.step(c, chars.peek().map(|(_, c)| *c));
        if !skipped && before == State::Code && scanner.state == State::Code {
            code.push((i, c));
        }
    }
    code
}

/// Whether `text` holds anything but white space and comments.
fn has_code(text: &str) -> bool {
    let mut scanner = Scanner::default();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let (before, skipped) = (scanner.state, scanner.skip);
        scanner.step(c, chars.peek().copied());
        if !skipped
            && before == State::Code
            && scanner.state != State::LineComment
            && scanner.state != State::BlockComment
            && !c.is_whitespace()
        {
            return true;
        }
    }
    false
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Code,
    SingleQuote,
    DoubleQuote,
    LineComment,
    BlockComment,
}

#[derive(Debug, Clone, Default)]
struct Scanner {
    state: State,
    /// Skip the next character (the second of `--`, `/*` or `''`).
    skip: bool,
}

impl Scanner {
    /// Advances over `c`; returns true if `c` is a semicolon that ends a statement.
    fn step(&mut self, c: char, next: Option<char>) -> bool {
        if self.skip {
            self.skip = false;
            return false;
        }
        match self.state {
            State::Code => match c {
                ';' => return true,
                '\'' => self.state = State::SingleQuote,
                '"' => self.state = State::DoubleQuote,
                '-' if next == Some('-') => {
                    self.state = State::LineComment;
                    self.skip = true;
                }
                '/' if next == Some('*') => {
                    self.state = State::BlockComment;
                    self.skip = true;
                }
                _ => {}
            },
            State::SingleQuote => {
                if c == '\'' {
                    if next == Some('\'') {
                        self.skip = true;
                    } else {
                        self.state = State::Code;
                    }
                }
            }
            State::DoubleQuote => {
                if c == '"' {
                    self.state = State::Code;
                }
            }
            State::LineComment => {
                if c == '\n' {
                    self.state = State::Code;
                }
            }
            State::BlockComment => {
                if c == '*' && next == Some('/') {
                    self.state = State::Code;
                    self.skip = true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split_statements(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        assert_eq!(
            texts("SELECT 'a;b'; -- c;d\nSELECT \"x;y\" /* ; */ FROM t;"),
            vec!["SELECT 'a;b'", "-- c;d\nSELECT \"x;y\" /* ; */ FROM t"]
        );
        assert_eq!(texts("SELECT 'it''s; fine'"), vec!["SELECT 'it''s; fine'"]);
    }

    #[test]
    fn code_chars_leave_out_strings_identifiers_and_comments() {
        let sql = "a'b'\"c\"-- d\ne/* f */g;";
        let code: String = code_chars(sql).into_iter().map(|(_, c)| c).collect();
        assert_eq!(code, "aeg;");
        let offsets: Vec<usize> = code_chars("x 'y' z").into_iter().map(|(i, _)| i).collect();
        assert_eq!(offsets, [0, 1, 5, 6]);
    }

    #[test]
    fn comment_only_statements_are_dropped() {
        assert_eq!(texts("-- nothing\n;  ;\n/* x */"), Vec::<String>::new());
    }

    #[test]
    fn statements_know_their_line() {
        let statements = split_statements("SELECT 1;\n\n  SELECT\n 2;");
        assert_eq!(statements[0].line, 1);
        assert_eq!(statements[1].line, 3);
    }

    #[test]
    fn completeness_follows_the_last_semicolon() {
        assert!(ends_statement("SELECT 1;"));
        assert!(ends_statement("SELECT 1; -- done"));
        assert!(!ends_statement("SELECT 1"));
        assert!(!ends_statement("SELECT ';'"));
        assert!(!ends_statement("SELECT 1; SELECT 2"));
        assert!(!ends_statement("SELECT 1; /* open"));
        assert!(ends_statement("SELECT 1; /* closed */"));
    }

    #[test]
    fn pieces_give_the_answer_the_whole_text_gives() {
        let script = "SELECT 'a;''b'; -- x;\nSELECT 1 /* ; */;\nSELECT -1;\n/* open ;";
        for split in 0..=script.len() {
            if !script.is_char_boundary(split) {
                continue;
            }
            let mut tracker = StatementTracker::default();
            tracker.push(&script[..split]);
            assert_eq!(
                tracker.ends_statement(),
                ends_statement(&script[..split]),
                "{split}"
            );
            tracker.push(&script[split..]);
            assert_eq!(tracker.ends_statement(), ends_statement(script), "{split}");
        }
    }
}
