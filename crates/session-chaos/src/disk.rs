//! The file store's disk: a small tmpfs, filled up and freed on cue.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a few MiB mounted for the file store (root, or a user and mount namespace as
/// `cargo xtask chaos` arranges with `unshare`); unmounted on drop.
pub(crate) struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a `size_mib` tmpfs at `dir`.
    pub(crate) fn mount(dir: &Path, size_mib: u32) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(dir)
            .status()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !status.success() {
            return Err(format!(
                "mounting a tmpfs at {} failed ({status}): the disk-full phase needs root or \
                 a user namespace (`unshare --user --map-root-user --mount`, which \
                 `cargo xtask chaos` uses when not root)",
                dir.display()
            ));
        }
        let sessions = dir.join("sessions");
        std::fs::create_dir_all(&sessions).map_err(|e| format!("{}: {e}", sessions.display()))?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// Where the file store keeps its records.
    pub(crate) fn sessions(&self) -> PathBuf {
        self.dir.join("sessions")
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Writes a filler file until the disk is full; returns the bytes written.
    pub(crate) fn fill(&self) -> Result<u64, String> {
        let mut file: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.filler())
            .map_err(|e| format!("filler: {e}"))?;
        let block = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => return Err(format!("filler: {e}")),
            }
        }
        // Then the last few bytes, so not even a small record fits.
        let mut small = [0u8; 512];
        while let Ok(n) = file.write(&small[..]) {
            if n == 0 {
                break;
            }
            written += n as u64;
            small = [0u8; 512];
        }
        Ok(written)
    }

    /// Removes the filler file.
    pub(crate) fn free(&self) -> Result<(), String> {
        std::fs::remove_file(self.filler()).map_err(|e| format!("filler: {e}"))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}
