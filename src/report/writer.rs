//! The one place that writes files: each is written under a temporary name in its final
//! folder and renamed into place, so an interrupted run never leaves a half-written file.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically (temporary file, then rename), creating its folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    write_atomically_with(path, |out| out.write_all(bytes))
}

/// Writes what `render` produces to `path` atomically, streaming it through a buffer:
/// for files too large to build in memory.
pub fn write_atomically_with(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let temporary = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut out = io::BufWriter::new(fs::File::create(&temporary)?);
        render(&mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map(|()| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_whole_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/summary.csv");
        write_atomically(&path, b"x,y\n1,2\n").unwrap();
        write_atomically(&path, b"x,y\n3,4\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "x,y\n3,4\n");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("summary.csv")]);
    }
}
