//! The source files diagnostics point into, and the one place where byte offsets become
//! 1-based lines and columns.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// Index of a file in [`Files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(u32);

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

/// One file's path and text, shared between the [`Files`] of successive loads when the
/// file did not change ([`Files::add_shared`]).
#[derive(Debug)]
pub struct File {
    path: String,
    text: String,
    /// The blake3 of the file's bytes, when the reader knew it (content files).
    hash: Option<blake3::Hash>,
    /// Where each line starts, found when a diagnostic first needs a line.
    line_starts: OnceLock<Vec<usize>>,
}

impl File {
    /// A content file's path and text with the blake3 of its bytes, to put in [`Files`]
    /// ([`Files::add_shared`], [`Files::replace`]).
    pub fn shared(path: &str, text: &str, hash: blake3::Hash) -> Arc<File> {
        Arc::new(File {
            path: path.to_owned(),
            text: text.to_owned(),
            hash: Some(hash),
            line_starts: OnceLock::new(),
        })
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }
}

/// Every file a run has read, by [`FileId`]. Copies share the files.
#[derive(Debug, Clone, Default)]
pub struct Files {
    files: Vec<Arc<File>>,
}

impl FileId {
    /// The position of the file in [`Files`], for tables indexed by file.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id at a position of [`Files`] (inverse of [`FileId::index`]).
    pub fn from_index(index: u32) -> Self {
        FileId(index)
    }
}

impl Files {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        self.add_file(path.into(), text.into(), None)
    }

    /// Adds a file with the blake3 of its bytes, for fingerprints ([`Files::hash`]).
    pub fn add_hashed(&mut self, path: &str, text: String, hash: blake3::Hash) -> FileId {
        self.add_file(path.to_owned(), text, Some(hash))
    }

    fn add_file(&mut self, path: String, text: String, hash: Option<blake3::Hash>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(Arc::new(File {
            path,
            text,
            hash,
            line_starts: OnceLock::new(),
        }));
        id
    }

    /// The blake3 of the bytes of file `id`, if it was added with it.
    pub fn hash(&self, id: FileId) -> Option<blake3::Hash> {
        self.file(id).and_then(|f| f.hash)
    }

    /// Adds a file an earlier load read, without copying its text.
    pub fn add_shared(&mut self, file: Arc<File>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(file);
        id
    }

    /// Puts `file` in the place of file `id` (a file whose text changed keeps its id).
    pub fn replace(&mut self, id: FileId, file: Arc<File>) {
        if let Some(slot) = self.files.get_mut(id.0 as usize) {
            *slot = file;
        }
    }

    /// The file `id`, to share with a later load ([`Files::add_shared`]).
    pub fn shared(&self, id: FileId) -> Option<Arc<File>> {
        self.files.get(id.0 as usize).cloned()
    }

    fn file(&self, id: FileId) -> Option<&File> {
        self.files.get(id.0 as usize).map(|file| &**file)
    }

    pub fn path(&self, id: FileId) -> &str {
        self.file(id).map_or("<unknown>", |f| f.path.as_str())
    }

    pub fn text(&self, id: FileId) -> &str {
        self.file(id).map_or("", |f| f.text.as_str())
    }

    /// The file with this path, if it was read.
    pub fn find(&self, path: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .and_then(|i| u32::try_from(i).ok())
            .map(FileId)
    }

    /// 0-based index of the line containing `offset` (clamped to the file).
    pub fn line_index(&self, id: FileId, offset: usize) -> usize {
        let Some(file) = self.file(id) else { return 0 };
        match file.line_starts().binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        }
    }

    /// Byte range of a 0-based line, including its newline.
    pub fn line_range(&self, id: FileId, line: usize) -> Option<Range<usize>> {
        let file = self.file(id)?;
        let start = *file.line_starts().get(line)?;
        let end = file
            .line_starts()
            .get(line + 1)
            .copied()
            .unwrap_or(file.text.len());
        Some(start..end)
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_column(&self, id: FileId, offset: usize) -> LineColumn {
        let line = self.line_index(id, offset);
        let text = self.text(id);
        let start = self.line_range(id, line).map_or(0, |r| r.start);
        let end = offset.min(text.len());
        let column = text
            .get(start..end)
            .map_or(end.saturating_sub(start), |s| s.chars().count());
        LineColumn {
            line: line + 1,
            column: column + 1,
        }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl<'a> codespan_reporting::files::Files<'a> for Files {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.path(id))
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.text(id))
    }

    fn line_index(
        &'a self,
        id: FileId,
        offset: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        Ok(Files::line_index(self, id, offset))
    }

    fn line_range(
        &'a self,
        id: FileId,
        line: usize,
    ) -> Result<Range<usize>, codespan_reporting::files::Error> {
        match Files::line_range(self, id, line) {
            Some(range) => Ok(range),
            None => {
                let max = self.file(id).map_or(0, |f| f.line_starts().len());
                Ok(Files::line_range(self, id, max.saturating_sub(1)).unwrap_or(0..0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_character_columns() {
        let mut files = Files::new();
        let id = files.add("a.yaml", "ab\nnäme: x\n");
        assert_eq!(files.line_column(id, 0), LineColumn { line: 1, column: 1 });
        assert_eq!(files.line_column(id, 3), LineColumn { line: 2, column: 1 });
        // "nä" is three bytes but two characters.
        assert_eq!(files.line_column(id, 6), LineColumn { line: 2, column: 3 });
        assert_eq!(
            files.line_column(id, 999),
            LineColumn { line: 3, column: 1 }
        );
    }
}
