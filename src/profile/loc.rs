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
#[derive(Debug, Clone)]
pub struct Locator<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Locator<'_> {
    /// The position of the first byte of `span`.
    pub fn at(&self, span: Range<usize>) -> Loc {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
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
        let l = Locator {
            file: "p.toml",
            text: "a = 1\n[sysctl]\n\"x\" = 2\n",
        };
        assert_eq!(l.at(0..1).to_string(), "p.toml:1:1");
        assert_eq!(l.at(15..16).to_string(), "p.toml:3:1");
        assert_eq!(l.at(21..22).to_string(), "p.toml:3:7");
        assert_eq!(l.file().to_string(), "p.toml");
    }
}
