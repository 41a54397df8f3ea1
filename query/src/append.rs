//! Appending a stream of record batches to a table inside a write transaction.
//!
//! Encoding Parquet is CPU work as heavy as decoding the input, so the appends run on a thread
//! of their own, fed through a small bounded channel: producing the next batches (a scan, a
//! file being read) overlaps with writing the previous ones, and memory stays bounded.

use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use reeldb_engine::WriteTransaction;

use crate::error::{Error, Result};

/// Batches in flight between the producer and the writer thread.
const CHANNEL_DEPTH: usize = 4;

/// Appends every batch of `stream` to `table`. Returns the transaction (to commit or drop)
/// and the number of rows appended. On error the transaction is dropped, which rolls it back.
pub(crate) async fn append_stream(
    txn: WriteTransaction,
    table: &str,
    mut stream: SendableRecordBatchStream,
) -> Result<(WriteTransaction, u64)> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(CHANNEL_DEPTH);
    let (done_sender, done) = tokio::sync::oneshot::channel();
    let table = table.to_string();
    std::thread::Builder::new()
        .name("reeldb-append".into())
        .spawn(move || {
            let mut txn = txn;
            let mut rows = 0u64;
            let mut result = Ok(());
            while let Some(batch) = receiver.blocking_recv() {
                match txn.append(&table, &batch) {
                    Ok(n) => rows += n,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            // If the receiving side is gone (the query was cancelled), the transaction is
            // dropped here, which rolls it back.
            let _ = done_sender.send((txn, result.map(|()| rows)));
        })
        .map_err(|cause| Error::System {
            action: "start the writer thread".into(),
            cause,
        })?;

    let mut input_error = None;
    while let Some(batch) = stream.next().await {
        match batch {
            Ok(batch) => {
                if sender.send(batch).await.is_err() {
                    break; // the writer stopped on an error; it reports it below
                }
            }
            Err(e) => {
                input_error = Some(e);
                break;
            }
        }
    }
    drop(sender);
    let (txn, written) = done
        .await
        .map_err(|_| Error::Internal("the writer thread stopped unexpectedly".into()))?;
    if let Some(e) = input_error {
        drop(txn);
        return Err(e.into());
    }
    let rows = written?;
    Ok((txn, rows))
}
