//! The Prometheus text exposition format, written in one place: every metrics file hosttune
//! makes (the audit textfile in [`crate::report`], the evidence gauges in
//! [`crate::evidence::render`], the agent's textfile) goes through [`Text`], which puts the
//! `# HELP` and `# TYPE` lines before a family's samples and escapes every label value and
//! help text as the format requires (backslash, double quote and line feed in label values;
//! backslash and line feed in help), so that an interface, object or profile name with any
//! of them cannot break a file node_exporter reads. See "Text-based format" in the
//! Prometheus documentation (prometheus.io/docs/instrumenting/exposition_formats/).

use std::borrow::Cow;
use std::fmt::{Display, Write as _};

#[cfg(test)]
mod tests;

/// A metric family's type, as `# TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Gauge,
    Counter,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Gauge => "gauge",
            Type::Counter => "counter",
        }
    }
}

/// A label value as the format writes it between double quotes: `\` as `\\`, `"` as `\"`,
/// a line feed as `\n`; every other byte as it is.
pub fn escape_label(v: &str) -> Cow<'_, str> {
    escape(v, true)
}

/// A `# HELP` text: `\` as `\\`, a line feed as `\n` (quotes stay).
pub fn escape_help(v: &str) -> Cow<'_, str> {
    escape(v, false)
}

fn escape(v: &str, quotes: bool) -> Cow<'_, str> {
    let special = |c: char| c == '\\' || c == '\n' || (quotes && c == '"');
    if !v.contains(special) {
        return Cow::Borrowed(v);
    }
    let mut s = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '"' if quotes => s.push_str("\\\""),
            c => s.push(c),
        }
    }
    Cow::Owned(s)
}

/// Metric and label names are fixed strings of hosttune's; a bad one is a bug, caught in
/// the tests rather than written into a file that node_exporter then rejects whole.
fn valid_name(n: &str, colon: bool) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

/// A metrics text being written: families (`# HELP`, `# TYPE`) and their samples, in the
/// order they are added.
#[derive(Debug, Default, Clone)]
pub struct Text {
    out: String,
}

impl Text {
    pub fn new() -> Text {
        Text::default()
    }

    /// The `# HELP` and `# TYPE` lines of family `name`; its samples follow.
    pub fn family(&mut self, name: &str, ty: Type, help: &str) -> &mut Self {
        debug_assert!(valid_name(name, true), "metric name {name:?}");
        let _ = writeln!(
            self.out,
            "# HELP {name} {}\n# TYPE {name} {}",
            escape_help(help),
            ty.as_str()
        );
        self
    }

    /// One sample: `name{label="value",...} value`, or `name value` without labels. The
    /// label values are escaped here; `value` is written as it displays.
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Display,
    ) -> &mut Self {
        debug_assert!(valid_name(name, true), "metric name {name:?}");
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (n, (label, v)) in labels.iter().enumerate() {
                debug_assert!(valid_name(label, false), "label name {label:?}");
                if n > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }

    /// Another text's families and samples, after these.
    pub fn append(&mut self, other: &Text) -> &mut Self {
        self.out.push_str(&other.out);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.out
    }

    pub fn into_string(self) -> String {
        self.out
    }
}
