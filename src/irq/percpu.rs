//! Per-CPU interrupt counts of a few IRQs, read from `/proc/interrupts` for `--evidence`:
//! which CPUs a NIC's queue interrupts were delivered to. The main parser
//! ([`super::Interrupts`]) skips the counts, since placing IRQs needs only names; this one
//! reads the counts of the lines asked for and skips every other line after its label.

use std::collections::{BTreeMap, BTreeSet};

use super::interrupts::{InterruptsError, each_line, parse_header};

/// Counts per CPU (in header order, CPU numbers from the header) of each IRQ in `wanted`
/// that the file has a line for. Equivalent to `grep -E '^ *(60|61):' /proc/interrupts`.
pub fn irq_counts(
    text: &str,
    wanted: &BTreeSet<u32>,
) -> Result<BTreeMap<u32, Vec<(u32, u64)>>, InterruptsError> {
    irq_counts_from(text.as_bytes(), wanted)
}

/// [`irq_counts`] of a file read in pieces: only the wanted lines' counts are kept.
pub fn irq_counts_from(
    r: impl std::io::Read,
    wanted: &BTreeSet<u32>,
) -> Result<BTreeMap<u32, Vec<(u32, u64)>>, InterruptsError> {
    let mut cpus: Option<Vec<u32>> = None;
    let mut out = BTreeMap::new();
    each_line(r, |no, line| {
        let Some(cpus) = &cpus else {
            if !line.trim().is_empty() {
                cpus = Some(parse_header(no, line)?);
            }
            return Ok(());
        };
        let Some((label, rest)) = line.trim_start().split_once(':') else {
            return Ok(());
        };
        let Ok(irq) = label.parse::<u32>() else {
            return Ok(());
        };
        if !wanted.contains(&irq) {
            return Ok(());
        }
        let mut counts = Vec::with_capacity(cpus.len());
        let mut tokens = rest.split_ascii_whitespace();
        for (found, &cpu) in cpus.iter().enumerate() {
            let token = tokens.next().ok_or(InterruptsError::CountMismatch {
                line: no,
                irq,
                expected: cpus.len(),
                found,
            })?;
            let n = token.parse().map_err(|_| InterruptsError::BadCount {
                line: no,
                irq,
                cpu,
                token: token.to_string(),
            })?;
            counts.push((cpu, n));
        }
        out.insert(irq, counts);
        Ok(())
    })?;
    cpus.ok_or(InterruptsError::NoHeader)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_the_lines_asked_for_with_header_gaps() {
        let text = "            CPU0       CPU1       CPU3\n\
   0:         46          0          0  IR-IO-APIC    2-edge      timer\n\
  60:          5        100          7  IR-PCI-MSI 1-edge      eth0-TxRx-0\n\
  61:          0          0     123456  IR-PCI-MSI 2-edge      eth0-TxRx-1\n\
 NMI:          1          2          3   Non-maskable interrupts\n";
        let got = irq_counts(text, &[60, 61, 99].into()).unwrap();
        assert_eq!(got[&60], [(0, 5), (1, 100), (3, 7)]);
        assert_eq!(got[&61], [(0, 0), (1, 0), (3, 123456)]);
        assert!(!got.contains_key(&99));
    }

    #[test]
    fn a_short_line_names_the_irq() {
        let err = irq_counts("  CPU0 CPU1\n 60: 5\n", &[60].into()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/proc/interrupts line 2 (irq 60): 1 counts for 2 CPUs"
        );
        assert_eq!(irq_counts("", &[1].into()), Err(InterruptsError::NoHeader));
    }
}
