//! The kernel's `bpf_bprintf` format language, for trace_printk, trace_vprintk and snprintf.
//!
//! Takes a NUL-terminated format, its u64 arguments and a way to read the memory that `%s`
//! and `%pI4`-style conversions point at; gives the formatted bytes, or `-EINVAL` where the
//! kernel refuses the format (unknown conversion, too many arguments, missing NUL). Supported
//! as in `bpf_bprintf_prepare`: flags `-+ 0#`, width and precision digits, `%d %i %u %x %X`
//! with `l`/`ll`, `%c`, `%s`, `%%`, `%p`, `%px`, `%pK`, `%pB`-free pointer forms `%pi4 %pI4
//! %pi6 %pI6`, and `%ps`-free kernel forms refused. `%p` prints the raw pointer: user space
//! has no pointer hashing to hide.

/// errno of a refused format.
pub const EINVAL: i32 = 22;

/// How arguments that point at memory are read.
pub trait FormatMemory {
    /// Read exactly `len` bytes at `addr`, or None.
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
    /// Read a NUL-terminated string of at most `max` bytes at `addr` (without the NUL).
    fn read_str(&self, addr: u64, max: usize) -> Option<Vec<u8>>;
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
}

fn pad(spec: &Spec, body: Vec<u8>, numeric: bool, out: &mut Vec<u8>) {
    let fill = spec.width.saturating_sub(body.len());
    if spec.left {
        out.extend(&body);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else if spec.zero && numeric && spec.precision.is_none() {
        // Zeros go after a sign or 0x prefix.
        let prefix_len = match body.first() {
            Some(b'-' | b'+' | b' ') => 1,
            _ if body.starts_with(b"0x") || body.starts_with(b"0X") => 2,
            _ => 0,
        };
        out.extend(&body[..prefix_len]);
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend(&body[prefix_len..]);
    } else {
        out.extend(std::iter::repeat_n(b' ', fill));
        out.extend(&body);
    }
}

fn integer(spec: &Spec, conv: u8, value: u64, bits: u32) -> Vec<u8> {
    let v = if bits == 32 {
        value as u32 as u64
    } else {
        value
    };
    let (neg, digits) = match conv {
        b'd' | b'i' => {
            let s = if bits == 32 {
                v as u32 as i32 as i64
            } else {
                v as i64
            };
            (s < 0, s.unsigned_abs().to_string())
        }
        b'u' => (false, v.to_string()),
        b'x' => (false, format!("{v:x}")),
        _ => (false, format!("{v:X}")),
    };
    let mut digits = digits.into_bytes();
    if let Some(p) = spec.precision {
        if p == 0 && v == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, b'0');
        }
    }
    let mut body = Vec::new();
    if neg {
        body.push(b'-');
    } else if matches!(conv, b'd' | b'i') && spec.plus {
        body.push(b'+');
    } else if matches!(conv, b'd' | b'i') && spec.space {
        body.push(b' ');
    }
    if spec.alt && matches!(conv, b'x' | b'X') && v != 0 {
        body.extend(if conv == b'x' { b"0x" } else { b"0X" });
    }
    body.extend(digits);
    body
}

fn ipv4(bytes: &[u8], padded: bool) -> Vec<u8> {
    let parts: Vec<String> = bytes
        .iter()
        .map(|b| {
            if padded {
                format!("{b:03}")
            } else {
                b.to_string()
            }
        })
        .collect();
    parts.join(".").into_bytes()
}

fn ipv6(bytes: &[u8], colons: bool) -> Vec<u8> {
    if colons {
        bytes
            .chunks(2)
            .map(|c| format!("{:02x}{:02x}", c[0], c[1]))
            .collect::<Vec<_>>()
            .join(":")
            .into_bytes()
    } else {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes()
    }
}

/// Format `fmt` (which must contain a NUL) with `args`, allowing at most `max_args`
/// conversions that take an argument.
///
/// # Errors
/// `EINVAL` for formats the kernel refuses.
pub fn bprintf(
    fmt: &[u8],
    args: &[u64],
    max_args: usize,
    mem: &dyn FormatMemory,
) -> Result<Vec<u8>, i32> {
    let end = fmt.iter().position(|&b| b == 0).ok_or(EINVAL)?;
    let fmt = &fmt[..end];
    let mut out = Vec::new();
    let mut next_arg = 0usize;
    let mut take = || -> Result<u64, i32> {
        if next_arg >= max_args {
            return Err(EINVAL);
        }
        let v = args.get(next_arg).copied().unwrap_or(0);
        next_arg += 1;
        Ok(v)
    };
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        if fmt.get(i) == Some(&b'%') {
            out.push(b'%');
            i += 1;
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = fmt.get(i) {
            match f {
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'0' => spec.zero = true,
                b'#' => spec.alt = true,
                _ => break,
            }
            i += 1;
        }
        while let Some(d) = fmt.get(i).filter(|d| d.is_ascii_digit()) {
            spec.width = spec
                .width
                .saturating_mul(10)
                .saturating_add((d - b'0') as usize);
            i += 1;
        }
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            let mut p = 0usize;
            while let Some(d) = fmt.get(i).filter(|d| d.is_ascii_digit()) {
                p = p.saturating_mul(10).saturating_add((d - b'0') as usize);
                i += 1;
            }
            spec.precision = Some(p);
        }
        if spec.width > 1024 || spec.precision.is_some_and(|p| p > 1024) {
            return Err(EINVAL);
        }
        let conv = *fmt.get(i).ok_or(EINVAL)?;
        i += 1;
        match conv {
            b'c' => {
                let v = take()?;
                pad(&spec, vec![v as u8], false, &mut out);
            }
            b's' => {
                let addr = take()?;
                let max = spec.precision.unwrap_or(1024).min(1024);
                let s = mem
                    .read_str(addr, max)
                    .unwrap_or_else(|| b"(null)".to_vec());
                pad(&spec, s, false, &mut out);
            }
            b'p' => {
                let v = take()?;
                let modifier = fmt.get(i).copied();
                match modifier {
                    Some(b'i' | b'I') => {
                        let version = fmt.get(i + 1).copied();
                        let padded = modifier == Some(b'i');
                        i += 2;
                        let body = match version {
                            Some(b'4') => mem.read(v, 4).map(|b| ipv4(&b, padded)),
                            Some(b'6') => mem.read(v, 16).map(|b| ipv6(&b, !padded)),
                            _ => return Err(EINVAL),
                        };
                        pad(
                            &spec,
                            body.unwrap_or_else(|| b"(null)".to_vec()),
                            false,
                            &mut out,
                        );
                    }
                    Some(b'x' | b'K') => {
                        i += 1;
                        pad(&spec, format!("{v:016x}").into_bytes(), true, &mut out);
                    }
                    Some(m) if m.is_ascii_alphanumeric() => return Err(EINVAL),
                    _ => pad(&spec, format!("{v:016x}").into_bytes(), true, &mut out),
                }
            }
            _ => {
                let mut bits = 32;
                let mut conv = conv;
                if conv == b'l' {
                    bits = 64;
                    conv = *fmt.get(i).ok_or(EINVAL)?;
                    i += 1;
                    if conv == b'l' {
                        conv = *fmt.get(i).ok_or(EINVAL)?;
                        i += 1;
                    }
                }
                if !matches!(conv, b'd' | b'i' | b'u' | b'x' | b'X') {
                    return Err(EINVAL);
                }
                let v = take()?;
                pad(&spec, integer(&spec, conv, v, bits), true, &mut out);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem;
    impl FormatMemory for Mem {
        fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
            (addr == 0x1000)
                .then(|| vec![192, 168, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1][..len].to_vec())
        }
        fn read_str(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
            (addr == 0x2000).then(|| b"hello"[..5.min(max)].to_vec())
        }
    }

    fn f(fmt: &str, args: &[u64]) -> Result<String, i32> {
        let mut b = fmt.as_bytes().to_vec();
        b.push(0);
        bprintf(&b, args, 3, &Mem).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn kernel_conversions() {
        assert_eq!(f("n=%d\n", &[(-5i64) as u64]).unwrap(), "n=-5\n");
        assert_eq!(
            f("%u %x %lx", &[(-1i64) as u64, 255, 1 << 40]).unwrap(),
            "4294967295 ff 10000000000"
        );
        assert_eq!(f("%lld %llu", &[(-2i64) as u64, 7]).unwrap(), "-2 7");
        assert_eq!(
            f("[%5d|%-4x|%05u]", &[42, 10, 7]).unwrap(),
            "[   42|a   |00007]"
        );
        assert_eq!(f("%s!", &[0x2000]).unwrap(), "hello!");
        assert_eq!(f("%.3s", &[0x2000]).unwrap(), "hel");
        assert_eq!(
            f("%pI4 %pi4", &[0x1000, 0x1000]).unwrap(),
            "192.168.0.1 192.168.000.001"
        );
        assert_eq!(f("%c%c", &[b'o' as u64, b'k' as u64]).unwrap(), "ok");
        assert_eq!(f("100%%", &[]).unwrap(), "100%");
        assert_eq!(f("%px", &[0xdead]).unwrap(), "000000000000dead");
    }

    #[test]
    fn refused_formats() {
        assert_eq!(f("%d %d %d %d", &[1, 2, 3, 4]), Err(EINVAL));
        assert_eq!(f("%f", &[1]), Err(EINVAL));
        assert_eq!(f("%pZ", &[1]), Err(EINVAL));
        assert_eq!(bprintf(b"no nul", &[], 3, &Mem), Err(EINVAL));
    }
}
