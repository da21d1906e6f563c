//! Parser for `/proc/interrupts`, as printed by the kernel's `show_interrupts`
//! (kernel/irq/proc.c) followed by the architecture's own lines (`NMI:`, `LOC:`, `ERR:`, ...).
//!
//! It keeps only what IRQ discovery needs, the IRQ number and its action names, borrowed from
//! the text: on a 256-CPU host the file is about 11 MB of per-CPU counts, so the counts are
//! checked and skipped in one pass, never collected.

use super::counts::{CountError, count_columns, skip_counts};

/// One numbered IRQ line: its number and its action names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrqLine {
    /// The IRQ number (`/proc/irq/N`).
    pub irq: u32,
    /// The action names as printed, `", "`-separated when the line is shared; empty when the
    /// IRQ has counts but no handler left.
    actions: Box<str>,
}

impl IrqLine {
    /// The action names (`eth0-TxRx-3`, `PCIe PME`, ...), in the kernel's order.
    pub fn actions(&self) -> impl Iterator<Item = &str> + '_ {
        // The kernel joins shared actions with ", "; a name itself may contain spaces
        // ("PCIe PME"), so split only on the separator.
        self.actions
            .split(", ")
            .map(str::trim)
            .filter(|name| !name.is_empty())
    }
}

/// A parsed `/proc/interrupts`. Equivalent to reading `cat /proc/interrupts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupts {
    cpus: Vec<u32>,
    irqs: Vec<IrqLine>,
}

/// Why `/proc/interrupts` does not parse. Lines are counted from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterruptsError {
    #[error("/proc/interrupts is empty: no CPU header line")]
    NoHeader,
    #[error("/proc/interrupts line {line}: header column {token:?} is not CPUn")]
    BadHeader { line: usize, token: String },
    #[error("/proc/interrupts line {line}: irq {irq:?} is not a number")]
    BadIrq { line: usize, irq: String },
    #[error(
        "/proc/interrupts line {line} (irq {irq}): count {token:?} for CPU{cpu} is not a number"
    )]
    BadCount {
        line: usize,
        irq: u32,
        cpu: u32,
        token: String,
    },
    #[error("/proc/interrupts line {line} (irq {irq}): {found} counts for {expected} CPUs")]
    CountMismatch {
        line: usize,
        irq: u32,
        expected: usize,
        found: usize,
    },
    #[error("/proc/interrupts: read: {0}")]
    Read(String),
}

/// How much of the file is read at a time: the file of a 256-CPU host (about 11 MB) is never
/// held whole, only a piece and the line being parsed (about 3 KB).
const PIECE: usize = 64 * 1024;

/// Calls `each` with every line of `r` (numbered from 1, without its newline), reading in
/// pieces. A line that is not UTF-8 (an action name is a driver's or an interface's, and an
/// interface name may be any bytes) is passed with its bad bytes replaced.
pub(super) fn each_line(
    mut r: impl std::io::Read,
    mut each: impl FnMut(usize, &str) -> Result<(), InterruptsError>,
) -> Result<(), InterruptsError> {
    let mut buf: Vec<u8> = Vec::with_capacity(PIECE);
    let mut no = 0;
    let mut eof = false;
    while !eof {
        let have = buf.len();
        buf.resize(have + PIECE, 0);
        let n = loop {
            match r.read(&mut buf[have..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other.map_err(|e| InterruptsError::Read(e.to_string()))?,
            }
        };
        buf.truncate(have + n);
        eof = n == 0;
        // The whole lines of this piece (all that is left, at the end of the file).
        let upto = if eof {
            buf.len()
        } else {
            match buf.iter().rposition(|&b| b == b'\n') {
                Some(last) => last + 1,
                None => continue,
            }
        };
        // Valid UTF-8 (the usual case) is split with the standard library's memchr search;
        // a piece with bad bytes is split by hand and each line mended.
        match std::str::from_utf8(&buf[..upto]) {
            Ok(text) => {
                for line in text.split_terminator('\n') {
                    no += 1;
                    each(no, line)?;
                }
            }
            Err(_) => {
                let text = &buf[..upto];
                let text = text.strip_suffix(b"\n").unwrap_or(text);
                for line in text.split(|&b| b == b'\n') {
                    no += 1;
                    each(no, &String::from_utf8_lossy(line))?;
                }
            }
        }
        buf.drain(..upto);
    }
    Ok(())
}

impl Interrupts {
    /// Parses the whole text. Lines whose label is not a number (`NMI:`, `LOC:`, `ERR:`,
    /// `MIS:`, `IPI0:` ...) are architecture counters and are skipped.
    pub fn parse(text: &str) -> Result<Self, InterruptsError> {
        Self::read_from(text.as_bytes())
    }

    /// Reads and parses the file in pieces, keeping only the IRQ numbers and action names:
    /// the per-CPU counts are checked and skipped in one pass, never collected.
    pub fn read_from(r: impl std::io::Read) -> Result<Self, InterruptsError> {
        let mut cpus: Option<Vec<u32>> = None;
        let mut irqs: Vec<IrqLine> = Vec::new();
        let mut sorted = true;
        each_line(r, |no, line| {
            let Some(cpus) = &cpus else {
                if !line.trim().is_empty() {
                    cpus = Some(parse_header(no, line)?);
                }
                return Ok(());
            };
            let Some(l) = parse_line(no, line, cpus)? else {
                return Ok(());
            };
            if irqs.last().is_some_and(|last| last.irq >= l.irq) {
                sorted = false;
            }
            irqs.push(l);
            Ok(())
        })?;
        let cpus = cpus.ok_or(InterruptsError::NoHeader)?;
        // The kernel prints IRQs in ascending order; a hand-made or merged file may not.
        if !sorted {
            irqs.sort_by_key(|l| l.irq);
        }
        Ok(Self { cpus, irqs })
    }

    /// The CPUs named in the header (the online CPUs when the file was read), ascending.
    pub fn cpus(&self) -> &[u32] {
        &self.cpus
    }

    /// The numbered IRQ lines, ascending by IRQ number.
    pub fn irqs(&self) -> &[IrqLine] {
        &self.irqs
    }

    /// The line of IRQ `irq`, if the kernel printed one (it omits IRQs with no action and
    /// no counts).
    pub fn get(&self, irq: u32) -> Option<&IrqLine> {
        self.irqs
            .binary_search_by_key(&irq, |l| l.irq)
            .ok()
            .map(|i| &self.irqs[i])
    }
}

/// One line after the header: `None` for an architecture counter (`NMI:` ...).
fn parse_line(no: usize, line: &str, cpus: &[u32]) -> Result<Option<IrqLine>, InterruptsError> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    let label = i;
    if i >= bytes.len() || !bytes[i].is_ascii_digit() {
        return Ok(None);
    }
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let irq = match bytes.get(i) {
        Some(b':') => line[label..i].parse().ok(),
        _ => None,
    };
    let Some(irq) = irq else {
        let rest = &line[label..];
        let token = rest.split([':', ' ', '\t']).next().unwrap_or(rest);
        return Err(InterruptsError::BadIrq {
            line: no,
            irq: token.to_string(),
        });
    };
    let actions = match count_columns(bytes, i, cpus.len()) {
        Some(counts_end) => actions_after_chip(&line[counts_end..]),
        None => {
            let tail = skip_counts(&line[i + 1..], cpus).map_err(|e| match e {
                CountError::Bad { cpu, token } => InterruptsError::BadCount {
                    line: no,
                    irq,
                    cpu,
                    token,
                },
                CountError::Mismatch { expected, found } => InterruptsError::CountMismatch {
                    line: no,
                    irq,
                    expected,
                    found,
                },
            })?;
            actions_after_chip(tail)
        }
    };
    Ok(Some(IrqLine {
        irq,
        actions: actions.into(),
    }))
}

pub(super) fn parse_header(no: usize, header: &str) -> Result<Vec<u32>, InterruptsError> {
    header
        .split_ascii_whitespace()
        .map(|token| {
            token
                .strip_prefix("CPU")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| InterruptsError::BadHeader {
                    line: no,
                    token: token.to_string(),
                })
        })
        .collect()
}

/// After the counts come `chip [hwirq][-trigger] [Level|Edge]  actions`: x86 prints
/// `IR-PCI-MSI 524288-edge` (hwirq and the flow name joined by '-'), a chip without an IRQ
/// domain prints only `-edge`, and arm64 (GENERIC_IRQ_SHOW_LEVEL) prints `GICv3  27 Level`.
fn actions_after_chip(tail: &str) -> &str {
    // The chip name is always there (`-` when the chip has none).
    let rest = skip_token(tail, |_| true);
    let rest = skip_token(rest, |t| {
        t.as_bytes()[0].is_ascii_digit() || t.starts_with('-')
    });
    let rest = skip_token(rest, |t| t == "Level" || t == "Edge");
    rest.trim_end()
}

/// Drops the next whitespace-separated token if `pred` accepts it.
fn skip_token(text: &str, pred: impl Fn(&str) -> bool) -> &str {
    let text = text.trim_start();
    let end = text
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(text.len());
    if end > 0 && pred(&text[..end]) {
        text[end..].trim_start()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {

    /// Hands out at most 7 bytes per read, so that lines straddle every piece boundary.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn read_in_pieces_it_parses_as_the_whole_text() {
        let text = "           CPU0       CPU1\n\
           0:         46          0  IR-IO-APIC    2-edge      timer\n\
          60:          1          2  IR-PCI-MSI 524288-edge      eth0-TxRx-0\n\
         NMI:          0          0   Non-maskable interrupts\n\
          61:          3          4  IR-PCI-MSI 524289-edge      eth0-TxRx-1";
        let whole = Interrupts::parse(text).unwrap();
        let pieces = Interrupts::read_from(Trickle(text.as_bytes())).unwrap();
        assert_eq!(whole, pieces);
        assert_eq!(pieces.irqs().len(), 3);
        assert_eq!(
            pieces.get(61).unwrap().actions().collect::<Vec<_>>(),
            ["eth0-TxRx-1"]
        );
        // An action name that is not UTF-8 (an interface name may be any bytes) does not
        // stop the read; its bad bytes are replaced.
        let mut odd = b"  CPU0\n 70: 5 PCI-MSI 1-edge bv".to_vec();
        odd.extend([0xff, 0xfe]);
        odd.extend(b"-rx-0\n");
        let p = Interrupts::read_from(Trickle(&odd)).unwrap();
        assert_eq!(p.get(70).unwrap().actions().count(), 1);
    }
    use super::*;

    const GAP: &str = "            CPU0       CPU1       CPU3       \n\
   0:         46          0          0  IR-IO-APIC    2-edge      timer\n\
   9:          0          4          0  IR-IO-APIC    9-fasteoi   acpi\n\
  16:          0          0         31  IR-IO-APIC   16-fasteoi   i801_smbus, ehci_hcd:usb1\n\
 122:          0          7          0  IR-PCI-MSI 458752-edge      PCIe PME, aerdrv\n\
 130:          1          0          0  IR-PCI-MSIX-0000:3b:00.0    3-edge      mlx5_comp2@pci:0000:3b:00.0\n\
 131:          0          0          0  IR-PCI-MSI 31981568-edge\n\
 NMI:          1          2          3   Non-maskable interrupts\n\
 LOC:      10004      20010      30000   Local timer interrupts\n\
 ERR:          0\n\
 MIS:          0\n";

    #[test]
    fn header_gaps_shared_actions_and_arch_lines() {
        let p = Interrupts::parse(GAP).unwrap();
        assert_eq!(p.cpus(), [0, 1, 3]);
        let irqs: Vec<u32> = p.irqs().iter().map(|l| l.irq).collect();
        assert_eq!(irqs, [0, 9, 16, 122, 130, 131]);
        let names = |irq| p.get(irq).unwrap().actions().collect::<Vec<_>>();
        assert_eq!(names(0), ["timer"]);
        assert_eq!(names(16), ["i801_smbus", "ehci_hcd:usb1"]);
        assert_eq!(names(122), ["PCIe PME", "aerdrv"]);
        assert_eq!(names(130), ["mlx5_comp2@pci:0000:3b:00.0"]);
        assert!(names(131).is_empty());
        assert!(p.get(1).is_none());
    }

    #[test]
    fn arm64_level_column_and_chips_without_domain() {
        let text = "           CPU0       CPU1\n\
  11:      12021      11033     GICv3  27 Level     arch_timer\n\
  14:          0          0     GICv3  92 Edge      eth0-TxRx-0\n\
   2:          0          0   XT-PIC -XT-PIC  cascade\n\
 IPI0:       1234       1111       Rescheduling interrupts\n\
 Err:          0\n";
        let p = Interrupts::parse(text).unwrap();
        let names: Vec<(u32, Vec<&str>)> = p
            .irqs()
            .iter()
            .map(|l| (l.irq, l.actions().collect()))
            .collect();
        assert_eq!(
            names,
            [
                (2, vec!["cascade"]),
                (11, vec!["arch_timer"]),
                (14, vec!["eth0-TxRx-0"])
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let short = "   CPU0 CPU1\n  24:   5   timer\n";
        assert_eq!(
            Interrupts::parse(short).unwrap_err().to_string(),
            "/proc/interrupts line 2 (irq 24): count \"timer\" for CPU1 is not a number"
        );
        let cut = "   CPU0 CPU1\n\n  24:   5\n";
        assert_eq!(
            Interrupts::parse(cut),
            Err(InterruptsError::CountMismatch {
                line: 3,
                irq: 24,
                expected: 2,
                found: 1
            })
        );
        assert!(matches!(
            Interrupts::parse("   CPU0 cpu1\n"),
            Err(InterruptsError::BadHeader { line: 1, .. })
        ));
        assert!(matches!(
            Interrupts::parse("   CPU0\n 4x: 1 chip 1-edge a\n"),
            Err(InterruptsError::BadIrq { line: 2, .. })
        ));
        assert_eq!(Interrupts::parse("\n\n"), Err(InterruptsError::NoHeader));
    }

    #[test]
    fn out_of_order_lines_are_sorted_for_lookup() {
        let p = Interrupts::parse("  CPU0\n 30: 1 c 1-edge b\n 4: 1 c 2-edge a\n").unwrap();
        assert_eq!(p.get(4).unwrap().actions().next(), Some("a"));
        assert_eq!(p.get(30).unwrap().actions().next(), Some("b"));
    }

    fn actions(text: &str) -> Vec<String> {
        let p = Interrupts::parse(text).unwrap();
        p.irqs()[0].actions().map(str::to_string).collect()
    }

    #[test]
    fn chip_names_that_start_with_digits() {
        let text = "  CPU0 CPU1\n 45:  1  2  30200000.gpio   5 Edge      gpio-keys\n";
        assert_eq!(actions(text), ["gpio-keys"]);
    }

    #[test]
    fn more_counts_than_cpus_names_the_line() {
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
