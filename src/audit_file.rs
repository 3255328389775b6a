//! [`JsonLinesAudit`]: the kernel's audit log as a JSON-lines file, written off the
//! kernel's thread.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use exokern_actors::kernel::{AuditRecord, AuditSink};

/// Lines that may wait for the writer thread before the kernel waits for it: audit
/// records are never dropped, so a disk slower than the kernel slows the kernel.
const QUEUE: usize = 16_384;

enum Line {
    Record(String),
    /// Write out what is buffered, then say so.
    Flush(SyncSender<()>),
}

/// An [`AuditSink`] that appends one JSON object per line to a file. The kernel's
/// thread only serializes; a writer thread does the I/O. At each heartbeat and at
/// shutdown the kernel flushes the sink, which returns once every record so far is in the
/// file (written, not synced to disk).
///
/// ```no_run
/// use exokern::audit_file::JsonLinesAudit;
/// use exokern::kernel::Kernel;
///
/// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
/// let kernel = Kernel::builder()
///     .audit_sink(JsonLinesAudit::append("audit.jsonl")?)
///     .start()
///     .await?;
/// # let _ = kernel; Ok(()) }
/// ```
pub struct JsonLinesAudit {
    path: PathBuf,
    lines: Option<SyncSender<Line>>,
    writer: Option<JoinHandle<()>>,
}

impl fmt::Debug for JsonLinesAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLinesAudit")
            .field("path", &self.path)
            .finish()
    }
}

impl JsonLinesAudit {
    /// Appends to `path`, creating it (not its folder) if needed.
    pub fn append(path: impl AsRef<Path>) -> io::Result<JsonLinesAudit> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| annotate(&path, e))?;
        let (lines, queue) = sync_channel(QUEUE);
        let writer = {
            let path = path.clone();
            std::thread::Builder::new()
                .name("exokern-audit".into())
                .spawn(move || write_lines(&path, file, queue))?
        };
        Ok(JsonLinesAudit {
            path,
            lines: Some(lines),
            writer: Some(writer),
        })
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, line: Line) {
        if let Some(lines) = &self.lines {
            // The writer only goes away after an I/O error it already reported.
            let _ = lines.send(line);
        }
    }
}

fn annotate(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("audit file {}: {error}", path.display()),
    )
}

fn write_lines(path: &Path, file: File, queue: Receiver<Line>) {
    let mut out = BufWriter::new(file);
    let mut result = Ok(());
    for line in queue {
        result = match line {
            Line::Record(json) => out
                .write_all(json.as_bytes())
                .and_then(|()| out.write_all(b"\n")),
            Line::Flush(done) => {
                let flushed = out.flush();
                let _ = done.send(());
                flushed
            }
        };
        if result.is_err() {
            break;
        }
    }
    if let Err(error) = result.and_then(|()| out.flush()) {
        tracing::error!(path = %path.display(), %error, "the audit file stopped being written");
    }
}

impl AuditSink for JsonLinesAudit {
    fn write(&mut self, record: &AuditRecord) {
        match serde_json::to_string(record) {
            Ok(json) => self.send(Line::Record(json)),
            Err(error) => tracing::error!(seq = record.seq, %error, "audit record not serialized"),
        }
    }

    fn flush(&mut self) {
        let (done, flushed) = sync_channel(1);
        self.send(Line::Flush(done));
        // Fails at once if the writer is gone.
        let _ = flushed.recv();
    }
}

impl Drop for JsonLinesAudit {
    fn drop(&mut self) {
        self.lines.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
