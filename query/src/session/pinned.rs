//! `PinnedSession`: statements that only read, all on one version of the database.
//!
//! [`Session::execute`] binds the newest version for each statement, so two statements of a
//! script can read two versions when a writer commits between them. A report must not: its
//! tables are to agree with one another. A pinned session binds the one snapshot it was made
//! with for every statement, and refuses any statement that writes (to the database, or to a
//! file as `COPY ... TO` does), before it runs: a reader of a fixed version has nothing to
//! write on, and a report that changed the database would not be a report.

use std::sync::Arc;

use datafusion::common::tree_node::TreeNode;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use reeldb_engine::Snapshot;

use super::{Session, holding};
use crate::catalog::explain_missing_table;
use crate::error::{Error, Result};
use crate::keyword_functions::rewrite_calls;
use crate::parser::parse_reeldb_statement;
use crate::statements::execute_reeldb;

/// A [`Session`] bound to one snapshot that only reads: every statement reads that version,
/// whatever writers commit meanwhile, and a statement that writes is refused before it runs.
///
/// ```no_run
/// # async fn example(session: reeldb_query::Session) -> reeldb_query::Result<()> {
/// let pinned = session.pin()?;
/// let frames = pinned.execute("SELECT count(*) FROM frames").await?;
/// // ... another process commits here ...
/// let videos = pinned.execute("SELECT count(DISTINCT video) FROM frames").await?;
/// // Both read version `pinned.snapshot().version()`.
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PinnedSession {
    session: Session,
    snapshot: Arc<Snapshot>,
}

impl Session {
    /// A read-only session on the newest committed version, which it keeps for every
    /// statement it runs.
    pub fn pin(&self) -> Result<PinnedSession> {
        Ok(self.pin_to(self.db.snapshot()?))
    }

    /// A read-only session on `snapshot` (a version of this session's database).
    pub fn pin_to(&self, snapshot: Arc<Snapshot>) -> PinnedSession {
        PinnedSession {
            session: self.clone(),
            snapshot,
        }
    }
}

impl PinnedSession {
    /// The version every statement reads.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// Runs one statement on the pinned version and returns its result as a stream, which
    /// keeps that version alive. A statement that writes fails with
    /// [`Error::WriteNotAllowed`] without running. Settings (`SET reeldb.ef_search = 64`)
    /// change the session, as they do in [`Session::execute`].
    ///
    /// Like a `Session`, a pinned session runs one statement at a time, and shares the
    /// session's binding of table names: do not run statements on the session it came from
    /// while a pinned statement runs.
    pub async fn execute(&self, statement: &str) -> Result<SendableRecordBatchStream> {
        let session = &self.session;
        session.bind(&self.snapshot)?;
        if let Some(parsed) = parse_reeldb_statement(statement)? {
            if !parsed.reads_only() {
                return Err(write_not_allowed(statement));
            }
            let cx = session.statement_context(&self.snapshot);
            let stream = execute_reeldb(&cx, parsed).await?;
            return Ok(holding(stream, Arc::clone(&self.snapshot)));
        }
        let rewritten = rewrite_calls(statement);
        let plan = match session.ctx.state().create_logical_plan(&rewritten).await {
            Ok(plan) => plan,
            Err(e) => return Err(explain_missing_table(e.into(), &self.snapshot)),
        };
        if writes(&plan)? {
            return Err(write_not_allowed(statement));
        }
        let stream = session
            .ctx
            .execute_logical_plan(plan)
            .await?
            .execute_stream()
            .await?;
        Ok(holding(stream, Arc::clone(&self.snapshot)))
    }
}

/// Whether `plan` changes the database or writes a file anywhere in it (`EXPLAIN ANALYZE
/// INSERT ...` runs its insert; `PREPARE p AS INSERT ...` would, once executed).
fn writes(plan: &LogicalPlan) -> Result<bool> {
    Ok(plan.exists(|node| {
        Ok(matches!(
            node,
            LogicalPlan::Dml(_) | LogicalPlan::Ddl(_) | LogicalPlan::Copy(_)
        ))
    })?)
}

fn write_not_allowed(statement: &str) -> Error {
    Error::WriteNotAllowed {
        statement: opening_words(statement),
    }
}

/// The first few words of `statement`, to name it in a message.
fn opening_words(statement: &str) -> String {
    const WORDS: usize = 4;
    let words: Vec<&str> = statement.split_whitespace().collect();
    let mut opening = words[..words.len().min(WORDS)].join(" ");
    if words.len() > WORDS {
        opening.push_str(" ...");
    }
    opening
}

#[cfg(test)]
mod tests {
    use reeldb_engine::Database;

    use super::*;

    async fn count(stream: SendableRecordBatchStream) -> i64 {
        let batches = datafusion::physical_plan::common::collect(stream)
            .await
            .unwrap();
        let column = batches[0].column(0);
        arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(column.as_ref()).value(0)
    }

    #[tokio::test]
    async fn every_statement_reads_the_pinned_version_while_others_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path().join("pinned.reeldb")).unwrap();
        let writer = Session::new(db.clone());
        writer
            .sql("CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let reader = Session::new(db.clone());
        let pinned = reader.pin().unwrap();
        let version = pinned.snapshot().version();
        let first = pinned.execute("SELECT count(*) FROM t").await.unwrap();
        assert_eq!(count(first).await, 1);
        // Another session commits between the two statements.
        writer.sql("INSERT INTO t VALUES (2), (3)").await.unwrap();
        let second = pinned.execute("SELECT count(*) FROM t").await.unwrap();
        assert_eq!(count(second).await, 1, "the pinned version");
        assert_eq!(pinned.snapshot().version(), version);
        // The session it came from reads the newest version, and a new pin does too.
        let newest = reader.execute("SELECT count(*) FROM t").await.unwrap();
        assert_eq!(count(newest).await, 3);
        let repinned = reader.pin().unwrap();
        assert!(repinned.snapshot().version() > version);
        let again = repinned.execute("SELECT count(*) FROM t").await.unwrap();
        assert_eq!(count(again).await, 3);
        // And the old pin still reads its own version after all that.
        let third = pinned.execute("SELECT count(*) FROM t").await.unwrap();
        assert_eq!(count(third).await, 1);
    }

    #[tokio::test]
    async fn writes_are_refused_before_they_run() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path().join("pinned.reeldb")).unwrap();
        let session = Session::new(db.clone());
        session
            .sql("CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let out = dir.path().join("out.csv");
        let pinned = session.pin().unwrap();
        for statement in [
            "INSERT INTO t VALUES (2)",
            "DELETE FROM t",
            "UPDATE t SET x = 5",
            "TRUNCATE TABLE t",
            "PREPARE p(BIGINT) AS INSERT INTO t VALUES ($1)",
            "CREATE TABLE u AS SELECT * FROM t",
            "CREATE VIEW v AS SELECT * FROM t",
            "DROP TABLE t",
            "EXPLAIN ANALYZE INSERT INTO t VALUES (3)",
            &format!("COPY t TO '{}'", out.display()),
            "COPY t FROM 'x.csv'",
            "VACUUM",
            "COMPACT",
            "CREATE VECTOR INDEX i ON t (x)",
            "INGEST FRAMES FROM 'photos'",
            "CLUSTER t ON x USING kmeans (k = 1) INTO c",
            "DETECT FACES IN t USING yunet INTO faces",
            "CREATE MODEL m FROM 'm.onnx'",
        ] {
            match pinned.execute(statement).await {
                Err(Error::WriteNotAllowed { statement: named }) => {
                    assert!(
                        statement.starts_with(named.trim_end_matches(" ...")),
                        "{named}"
                    )
                }
                Err(other) => panic!("{statement}: {other}"),
                Ok(_) => panic!("{statement} ran"),
            }
        }
        assert!(!out.exists());
        let newest = session.execute("SELECT count(*) FROM t").await.unwrap();
        assert_eq!(count(newest).await, 1, "nothing was written");
        assert_eq!(
            db.snapshot().unwrap().version(),
            pinned.snapshot().version()
        );
        // Reads of every kind run: queries, EXPLAIN, SHOW, settings.
        for statement in [
            "SELECT * FROM t",
            "WITH a AS (SELECT x FROM t) SELECT * FROM a",
            "VALUES (1)",
            "EXPLAIN SELECT * FROM t",
            "SHOW TABLES",
            "SHOW VECTOR INDEXES",
            "SHOW MODELS",
            "SET reeldb.ef_search = 64",
            "DESCRIBE t",
        ] {
            let stream = pinned.execute(statement).await;
            assert!(stream.is_ok(), "{statement}: {:?}", stream.err());
        }
    }

    #[test]
    fn a_statement_is_named_by_its_opening_words() {
        assert_eq!(
            opening_words("INSERT INTO t\n VALUES (1)"),
            "INSERT INTO t VALUES ..."
        );
        assert_eq!(opening_words("VACUUM"), "VACUUM");
    }
}
