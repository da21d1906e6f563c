//! Source positions for profile errors: `file:line:column`, from the byte spans that the TOML
//! parser keeps for every value.

use std::fmt;
use std::ops::Range;

/// A place in a profile file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loc {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.col)
        }
    }
}

/// Turns byte offsets of one file into line and column (both from 1, column in characters).
/// Line starts are indexed once, so locating every key of a 10,000-key profile stays linear.
#[derive(Debug, Clone)]
pub struct Locator<'a> {
    pub file: &'a str,
    pub text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    /// Indexes `text`, the contents of `file`.
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            file,
            text,
            line_starts,
        }
    }

    /// The position of the first byte of `span`.
    pub fn at(&self, span: Range<usize>) -> Loc {
        let start = span.start.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= start);
        let line_start = self.line_starts[line - 1];
        let col = self.text[line_start..start].chars().count() + 1;
        Loc {
            file: self.file.to_string(),
            line,
            col,
        }
    }

    /// The whole file, for errors with no position.
    pub fn file(&self) -> Loc {
        Loc {
            file: self.file.to_string(),
            line: 0,
            col: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one() {
        let l = Locator::new("p.toml", "a = 1\n[sysctl]\n\"x\" = 2\n");
        assert_eq!(l.at(0..1).to_string(), "p.toml:1:1");
        assert_eq!(l.at(5..6).to_string(), "p.toml:1:6");
        assert_eq!(l.at(6..7).to_string(), "p.toml:2:1");
        assert_eq!(l.at(15..16).to_string(), "p.toml:3:1");
        assert_eq!(l.at(21..22).to_string(), "p.toml:3:7");
        assert_eq!(l.at(99..100).to_string(), "p.toml:4:1");
        assert_eq!(l.file().to_string(), "p.toml");
    }
}
