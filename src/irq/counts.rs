//! The per-CPU count columns of `/proc/interrupts`: a fast scan for the common case and a
//! precise one that names what is wrong. On a 256-CPU host they are 2,816 bytes of each line.
//! It knows the columns only: the line, the IRQ and what follows the counts are the parser's
//! (`interrupts`), which names the line in its error.

/// What is wrong with the count columns of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CountError {
    /// The count for `cpu` is not a number.
    Bad { cpu: u32, token: String },
    /// `found` counts where the header has `expected` CPUs.
    Mismatch { expected: usize, found: usize },
}

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

/// Skips one count per header CPU and returns what follows them (the chip name, the hardware
/// IRQ, the trigger and the actions).
pub(super) fn skip_counts<'a>(rest: &'a str, cpus: &[u32]) -> Result<&'a str, CountError> {
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
                return Err(CountError::Mismatch {
                    expected: cpus.len(),
                    found,
                });
            }
            let end = rest[start..]
                .find(char::is_whitespace)
                .map_or(rest.len(), |e| start + e);
            return Err(CountError::Bad {
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
        return Err(CountError::Mismatch {
            expected: cpus.len(),
            found: cpus.len() + extra,
        });
    }
    Ok(rest[pos..].trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_and_precise_scans_agree() {
        let line = b" 24:          1          0  IR-PCI-MSI 1-edge  nvme0q0";
        let colon = 3;
        let end = count_columns(line, colon, 2).unwrap();
        assert!(line[end..].starts_with(b"IR-PCI-MSI"));
        assert_eq!(count_columns(line, colon, 3), None);
        let rest = std::str::from_utf8(&line[colon + 1..]).unwrap();
        assert_eq!(
            skip_counts(rest, &[0, 1]).unwrap(),
            "IR-PCI-MSI 1-edge  nvme0q0"
        );
        // Long lines go through the 32-byte blocks.
        let wide = format!(" 7:{}  PCI-MSI 5-edge  x", "          9".repeat(100));
        let cpus: Vec<u32> = (0..100).collect();
        assert!(count_columns(wide.as_bytes(), 2, 100).is_some());
        assert_eq!(skip_counts(&wide[3..], &cpus).unwrap(), "PCI-MSI 5-edge  x");
    }

    #[test]
    fn chip_names_that_start_with_digits() {
        let line = " 45:  1  2  30200000.gpio   5 Edge      gpio-keys";
        // The fast scan counts the chip's digits too and leaves it to the precise one.
        assert_eq!(count_columns(line.as_bytes(), 3, 2), None);
        assert_eq!(
            skip_counts(&line[4..], &[0, 1]).unwrap(),
            "30200000.gpio   5 Edge      gpio-keys"
        );
    }

    #[test]
    fn more_counts_than_cpus_is_an_error() {
        assert_eq!(
            skip_counts("  1  2  3  IO-APIC 1-edge x", &[0, 1]),
            Err(CountError::Mismatch {
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            skip_counts("  1  x2  IO-APIC", &[0, 1]),
            Err(CountError::Bad {
                cpu: 1,
                token: "x2".into()
            })
        );
        assert_eq!(
            skip_counts("  1", &[0, 1]),
            Err(CountError::Mismatch {
                expected: 2,
                found: 1
            })
        );
    }

    #[test]
    fn last_count_without_a_trailing_space() {
        assert_eq!(skip_counts("  1  2", &[0, 1]).unwrap(), "");
    }
}
