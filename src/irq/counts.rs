//! The per-CPU count columns of `/proc/interrupts`: a fast scan for the common case and a
//! precise one that names what is wrong. On a 256-CPU host they are 2,816 bytes of each line.

use super::interrupts::{InterruptsError, actions_after_chip};

/// The fast path over the count columns, which are nothing but digits and spaces: counts the
/// numbers from just after the label's `:` to the first other byte, 32 bytes at a time
/// (branch-free, so the compiler vectorises it). Returns where the chip name starts when
/// there is exactly one number per CPU; otherwise `None`, and [`skip_counts`] decides,
/// precisely and slowly (a chip name may start with digits, a line may be cut short).
pub(super) fn count_columns(b: &[u8], colon: usize, expected: usize) -> Option<usize> {
    const W: usize = 32;
    let digit = |x: u8| x.wrapping_sub(b'0') < 10;
    let mut i = colon + 1;
    let mut numbers = 0;
    while i + W <= b.len() {
        let (cur, prev) = (&b[i..i + W], &b[i - 1..i - 1 + W]);
        let mut other = 0u8;
        let mut starts = 0u8;
        for j in 0..W {
            let d = digit(cur[j]);
            other |= u8::from(!d & (cur[j] != b' '));
            starts += u8::from(d & !digit(prev[j]));
        }
        if other != 0 {
            break;
        }
        numbers += usize::from(starts);
        i += W;
    }
    while i < b.len() && (digit(b[i]) || b[i] == b' ') {
        numbers += usize::from(digit(b[i]) && !digit(b[i - 1]));
        i += 1;
    }
    (numbers == expected && b[i - 1] == b' ').then_some(i)
}

/// Skips one count per header CPU and returns the action names: what follows the chip name,
/// the hardware IRQ and the trigger.
pub(super) fn skip_counts<'a>(
    rest: &'a str,
    cpus: &[u32],
    no: usize,
    irq: u32,
) -> Result<&'a str, InterruptsError> {
    let bytes = rest.as_bytes();
    let mut pos = 0;
    for (found, &cpu) in cpus.iter().enumerate() {
        while pos < bytes.len() && bytes[pos] == b' ' {
            pos += 1;
        }
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == start || (pos < bytes.len() && !bytes[pos].is_ascii_whitespace()) {
            if start == bytes.len() {
                return Err(InterruptsError::CountMismatch {
                    line: no,
                    irq,
                    expected: cpus.len(),
                    found,
                });
            }
            let end = rest[start..]
                .find(char::is_whitespace)
                .map_or(rest.len(), |e| start + e);
            return Err(InterruptsError::BadCount {
                line: no,
                irq,
                cpu,
                token: rest[start..end].to_string(),
            });
        }
    }
    // More numbers than CPUs: the header and the columns disagree (a chip name may start
    // with digits, `30200000.gpio`, but is never all digits).
    let extra = rest[pos..]
        .split_ascii_whitespace()
        .take_while(|t| t.bytes().all(|b| b.is_ascii_digit()))
        .count();
    if extra > 0 {
        return Err(InterruptsError::CountMismatch {
            line: no,
            irq,
            expected: cpus.len(),
            found: cpus.len() + extra,
        });
    }
    Ok(actions_after_chip(&rest[pos..]))
}

#[cfg(test)]
mod tests {
    use super::super::interrupts::Interrupts;
    use super::*;

    fn actions(text: &str) -> Vec<String> {
        let p = Interrupts::parse(text).unwrap();
        p.irqs()[0].actions().map(str::to_string).collect()
    }

    #[test]
    fn fast_and_precise_scans_agree() {
        let line = b" 24:          1          0  IR-PCI-MSI 1-edge  nvme0q0";
        let colon = 3;
        let end = count_columns(line, colon, 2).unwrap();
        assert!(line[end..].starts_with(b"IR-PCI-MSI"));
        assert_eq!(count_columns(line, colon, 3), None);
        let rest = std::str::from_utf8(&line[colon + 1..]).unwrap();
        assert_eq!(skip_counts(rest, &[0, 1], 2, 24).unwrap(), "nvme0q0");
        // Long lines go through the 32-byte blocks.
        let wide = format!(" 7:{}  PCI-MSI 5-edge  x", "          9".repeat(100));
        let cpus: Vec<u32> = (0..100).collect();
        assert!(count_columns(wide.as_bytes(), 2, 100).is_some());
        assert_eq!(skip_counts(&wide[3..], &cpus, 2, 7).unwrap(), "x");
    }

    #[test]
    fn chip_names_that_start_with_digits() {
        let text = "  CPU0 CPU1\n 45:  1  2  30200000.gpio   5 Edge      gpio-keys\n";
        assert_eq!(actions(text), ["gpio-keys"]);
    }

    #[test]
    fn more_counts_than_cpus_is_an_error() {
        let err = Interrupts::parse("  CPU0 CPU1\n 45:  1  2  3  IO-APIC 1-edge x\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/proc/interrupts line 2 (irq 45): 3 counts for 2 CPUs"
        );
    }

    #[test]
    fn last_count_without_a_trailing_space() {
        assert!(actions("  CPU0 CPU1\n 45:  1  2\n").is_empty());
    }
}
