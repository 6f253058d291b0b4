//! The blocking file operations. Everything here runs inside `spawn_blocking`.

use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use session_storage::{SessionIndex, StorageError, collection};

use crate::names::validate_file_name;
use crate::store::Inner;

/// Largest record file `get` reads: 32 MiB, twice the largest payload the engine produces.
pub(crate) const MAX_RECORD_BYTES: u64 = 32 * 1024 * 1024;
/// Largest metadata file `read_metadata` reads: 64 MiB (about 1.2 million entries).
pub(crate) const MAX_COLLECTION_BYTES: u64 = 64 * 1024 * 1024;

/// Longest part of a file name an error shows: file names hold the session id, of which
/// an error shows at most a short prefix.
const SHOWN_NAME_CHARS: usize = 16;

/// `path` as errors show it: the directory, and the file name cut after
/// [`SHOWN_NAME_CHARS`] characters (`/var/sessions/session_AAECAwQF…`).
pub(crate) fn shown(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cut: String = name.chars().take(SHOWN_NAME_CHARS).collect();
    let ellipsis = if cut.len() < name.len() { "…" } else { "" };
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            format!("{}/{cut}{ellipsis}", dir.display())
        }
        _ => format!("{cut}{ellipsis}"),
    }
}

fn io_err(what: &'static str, path: &Path, e: io::Error) -> StorageError {
    let msg = format!("{what} {}", shown(path));
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => {
            StorageError::unavailable(msg).with_source(e)
        }
        _ => StorageError::backend(msg).with_source(e),
    }
}

/// Unix seconds → `SystemTime` (negative values before the epoch).
pub(crate) fn to_system_time(secs: i64) -> SystemTime {
    let d = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(d).unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH.checked_sub(d).unwrap_or(UNIX_EPOCH)
    }
}

/// `SystemTime` → whole Unix seconds, floored (what `stat` and LuaFileSystem give).
pub(crate) fn to_unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -(secs + i64::from(d.subsec_nanos() > 0))
        }
    }
}

fn wall_now() -> i64 {
    to_unix_secs(SystemTime::now())
}

/// The expiry of a file: its mtime in whole seconds, for regular files only.
pub(crate) fn expiry(path: &Path) -> Result<Option<i64>, StorageError> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => {
            let mtime = m
                .modified()
                .map_err(|e| io_err("cannot read mtime of", path, e))?;
            Ok(Some(to_unix_secs(mtime)))
        }
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("cannot stat", path, e)),
    }
}

fn times(mtime: i64) -> FileTimes {
    FileTimes::new()
        .set_modified(to_system_time(mtime))
        .set_accessed(UNIX_EPOCH)
}

fn open_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Directory syncs done (tests check that the write path does one).
#[cfg(test)]
pub(crate) static DIR_SYNCS: AtomicU64 = AtomicU64::new(0);

/// Makes a rename in `dir` durable: `fsync` of the directory (unix). Without it a crash
/// after the rename returned can leave the directory entry of the newest record unwritten,
/// and the previous record (or none) comes back. Elsewhere a no-op: Windows cannot open a
/// directory for syncing through `std`.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err("cannot sync the directory", dir, e))?;
    }
    #[cfg(test)]
    DIR_SYNCS.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Writes `bytes` to `path` atomically and durably with mtime `mtime`: temp file in `dir`,
/// 0600, `fsync` of the file, rename, `fsync` of the directory (docs/failure-behaviour.md:
/// two syncs per saved record).
pub(crate) fn write_atomic(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    mtime: i64,
) -> Result<(), StorageError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{base}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = open_options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_err("cannot create", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| io_err("cannot write", &tmp, e))?;
        file.set_times(times(mtime))
            .map_err(|e| io_err("cannot set mtime of", &tmp, e))?;
        file.sync_all()
            .map_err(|e| io_err("cannot sync", &tmp, e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| io_err("cannot rename onto", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir)
}

/// Sets the mtime of an existing regular file; a missing file is left missing.
pub(crate) fn set_mtime_if_exists(path: &Path, mtime: i64) -> Result<(), StorageError> {
    let file = match OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("cannot open", path, e)),
    };
    file.set_times(times(mtime))
        .map_err(|e| io_err("cannot set mtime of", path, e))
}

/// Appends to a metadata file (created 0600 if missing), then sets its mtime to
/// `max(wall clock, floor)`, the on-disk result of the reference (docs/storage.md §10.4).
pub(crate) fn append(path: &Path, bytes: &[u8], floor: i64) -> Result<(), StorageError> {
    let mut file = open_options()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| io_err("cannot open", path, e))?;
    file.write_all(bytes)
        .map_err(|e| io_err("cannot append to", path, e))?;
    file.set_times(times(wall_now().max(floor)))
        .map_err(|e| io_err("cannot set mtime of", path, e))
}

fn read_bounded(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, StorageError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("cannot open", path, e)),
    };
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| io_err("cannot read", path, e))?;
    if buf.len() as u64 > limit {
        return Err(StorageError::invalid_record(format!(
            "{} is larger than {limit} bytes",
            shown(path)
        )));
    }
    Ok(Some(buf))
}

/// `get`: `None` if missing or expired (mtime < now; mtime == now is still valid).
pub(crate) fn read_record(path: &Path, now: i64) -> Result<Option<String>, StorageError> {
    if expiry(path)?.is_some_and(|e| e < now) {
        return Ok(None);
    }
    let Some(bytes) = read_bounded(path, MAX_RECORD_BYTES)? else {
        return Ok(None);
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| StorageError::invalid_record("stored record is not UTF-8"))
}

/// `read_metadata`: parse the collection file with `now`; missing → empty.
pub(crate) fn read_collection(path: &Path, now: i64) -> Result<SessionIndex, StorageError> {
    match read_bounded(path, MAX_COLLECTION_BYTES)? {
        Some(bytes) => collection::parse(&bytes, now),
        None => Ok(SessionIndex::new()),
    }
}

/// Deletes `name`'s files whose expiry is before `now`.
/// Seconds a leftover temporary file must be past its mtime before cleanup removes it.
const TEMP_GRACE: i64 = 3600;

/// The record file name inside a temporary file name written by [`write_atomic`].
fn leftover_temp_of(file_name: &str) -> Option<&str> {
    let inner = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, counter) = inner.rsplit_once('.')?;
    let (record, pid) = rest.rsplit_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(counter) && digits(pid)).then_some(record)
}

pub(crate) fn cleanup(inner: &Inner, name: &str, now: i64) -> Result<usize, StorageError> {
    let entries = fs::read_dir(&inner.dir).map_err(|e| io_err("cannot list", &inner.dir, e))?;
    let mut deleted = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        // A temporary file left by a crash between write and rename
        // (`.{record name}.{pid}.{n}.tmp`). An in-flight one is seconds old
        // or carries its record's future expiry, so only those an hour past
        // both are removed.
        if let Some(record) = leftover_temp_of(file_name) {
            let path = entry.path();
            if validate_file_name(
                inner.prefix.as_deref(),
                inner.suffix.as_deref(),
                name,
                record,
            ) && expiry(&path)?.is_some_and(|e| e < now.saturating_sub(TEMP_GRACE))
                && fs::remove_file(&path).is_ok()
            {
                deleted += 1;
            }
            continue;
        }
        if !validate_file_name(
            inner.prefix.as_deref(),
            inner.suffix.as_deref(),
            name,
            file_name,
        ) {
            continue;
        }
        let path = entry.path();
        if expiry(&path)?.is_some_and(|e| e < now) && fs::remove_file(&path).is_ok() {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Largest metadata file [`compact_collections`] rewrites: four times what `read_metadata`
/// accepts, so that compaction can bring a file that outgrew that limit back under it.
const MAX_COMPACTED_BYTES: u64 = 4 * MAX_COLLECTION_BYTES;

/// How long a compaction waits, after renaming the compacted file into place, before it
/// copies what other writers appended to the file it replaced (they opened it by path just
/// before the rename; an append is one `write`, done within microseconds of the open).
const LATE_APPEND_WAIT: Duration = Duration::from_millis(20);

/// A metadata file rewritten by [`compact_collections`]: the replaced file, still open, and
/// how much of it the rewrite covered.
pub(crate) struct Replaced {
    path: std::path::PathBuf,
    old: File,
    covered: u64,
}

/// Rewrites `name`'s metadata files (`aud:sub`, docs/storage.md §10.4) that hold dead entries
/// (tombstones, superseded or expired entries) with their live entries only, as the
/// reference's shm and memcached stores compact their collections. The file store's
/// collections are append-only, so for a subject who keeps signing in the file only grows
/// until its last session expires; [`cleanup`] alone never shortens it.
///
/// Safe against concurrent appends (ours, or a Lua peer's, which takes no lock): the
/// compacted file is renamed over the collection, so a reader sees the old or the new file,
/// never a missing or partial one; after [`LATE_APPEND_WAIT`] the bytes other writers
/// appended to the replaced file since it was read are appended to the new one. A file that
/// does not parse is left as it is. Returns the number of files rewritten.
pub(crate) fn compact_collections(
    inner: &Inner,
    name: &str,
    now: i64,
) -> Result<usize, StorageError> {
    let entries = fs::read_dir(&inner.dir).map_err(|e| io_err("cannot list", &inner.dir, e))?;
    let skip = inner
        .prefix
        .as_deref()
        .map_or(0, |p| if p.is_empty() { 0 } else { p.len() + 1 })
        + name.len()
        + 1;
    let mut replaced = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if !validate_file_name(
            inner.prefix.as_deref(),
            inner.suffix.as_deref(),
            name,
            file_name,
        ) || !file_name.get(skip..).is_some_and(|rest| rest.contains(':'))
        {
            continue;
        }
        if let Some(r) = compact_one(&inner.dir, &entry.path(), now)? {
            replaced.push(r);
        }
    }
    if replaced.is_empty() {
        return Ok(0);
    }
    std::thread::sleep(LATE_APPEND_WAIT);
    for r in &replaced {
        copy_late_appends(r)?;
    }
    Ok(replaced.len())
}

/// Compacts one collection file; `None` when it is missing, too large, unparsable or
/// already compact.
pub(crate) fn compact_one(
    dir: &Path,
    path: &Path,
    now: i64,
) -> Result<Option<Replaced>, StorageError> {
    let old = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("cannot open", path, e)),
    };
    let meta = old.metadata().map_err(|e| io_err("cannot stat", path, e))?;
    if !meta.is_file() || meta.len() > MAX_COMPACTED_BYTES {
        return Ok(None);
    }
    let mtime = to_unix_secs(
        meta.modified()
            .map_err(|e| io_err("cannot read mtime of", path, e))?,
    );
    let mut bytes = Vec::new();
    (&old)
        .take(MAX_COMPACTED_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| io_err("cannot read", path, e))?;
    let Ok(live) = collection::parse(&bytes, now) else {
        return Ok(None);
    };
    let compacted = collection::encode_live(&live)?;
    if compacted.len() >= bytes.len() {
        return Ok(None);
    }
    write_atomic(dir, path, compacted.as_bytes(), mtime)?;
    Ok(Some(Replaced {
        path: path.to_owned(),
        old,
        covered: bytes.len() as u64,
    }))
}

/// Appends to the compacted file what was appended to the replaced one after it was read.
pub(crate) fn copy_late_appends(r: &Replaced) -> Result<(), StorageError> {
    use std::io::{Seek, SeekFrom};
    let mut old = &r.old;
    let mut late = Vec::new();
    old.seek(SeekFrom::Start(r.covered))
        .and_then(|_| old.take(MAX_COLLECTION_BYTES).read_to_end(&mut late))
        .map_err(|e| io_err("cannot read", &r.path, e))?;
    if late.is_empty() {
        return Ok(());
    }
    let floor = expiry(&r.path)?.unwrap_or(0);
    append(&r.path, &late, floor)
}
