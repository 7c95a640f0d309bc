//! The running kernel's tracepoint descriptions, when tracefs is mounted.
//!
//! Takes an event (`syscalls`, `sys_enter_openat`); gives its id (`common_type`) and the
//! size of its record from `events/CATEGORY/NAME/{id,format}` under `/sys/kernel/tracing`
//! or `/sys/kernel/debug/tracing`. Without tracefs the callers fall back to the built-in
//! syscall table and `common_type` 0.

use std::path::PathBuf;

/// What tracefs says of one event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFormat {
    /// The event id (`common_type` of its records).
    pub id: u16,
    /// Fields after the common header: (name, offset, size).
    pub fields: Vec<(String, usize, usize)>,
    /// Size of the record (end of the last field).
    pub size: usize,
}

/// The tracefs mount point, if tracefs is mounted.
pub fn root() -> Option<PathBuf> {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("events").is_dir())
}

/// Parse the text of a `format` file.
pub fn parse_format(text: &str) -> Option<EventFormat> {
    let mut fmt = EventFormat::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(id) = line.strip_prefix("ID:") {
            fmt.id = id.trim().parse().ok()?;
            continue;
        }
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        let mut decl = "";
        let (mut off, mut size) = (None, None);
        for part in rest.split(';') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("offset:") {
                off = v.parse::<usize>().ok();
            } else if let Some(v) = part.strip_prefix("size:") {
                size = v.parse::<usize>().ok();
            } else if !part.is_empty() && !part.contains(':') && decl.is_empty() {
                decl = part;
            }
        }
        let name = decl.rsplit([' ', '*']).next().unwrap_or("").to_string();
        let (Some(off), Some(size)) = (off, size) else {
            continue;
        };
        fmt.size = fmt.size.max(off + size);
        if !name.starts_with("common_") {
            fmt.fields.push((name, off, size));
        }
    }
    Some(fmt)
}

/// The format of `events/CATEGORY/NAME`, if tracefs has it.
pub fn event_format(category: &str, name: &str) -> Option<EventFormat> {
    let dir = root()?.join("events").join(category).join(name);
    let text = std::fs::read_to_string(dir.join("format")).ok()?;
    parse_format(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openat_format() {
        let text = "name: sys_enter_openat\nID: 782\nformat:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
            \tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
            \tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
            \tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
            \tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\
            \tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n";
        let f = parse_format(text).unwrap();
        assert_eq!(f.id, 782);
        assert_eq!(f.size, 48);
        assert_eq!(f.fields[0], ("__syscall_nr".to_string(), 8, 4));
        assert_eq!(f.fields[2].0, "filename");
    }
}
