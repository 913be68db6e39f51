//! (filled in by issue 19)
