//! x86-64 syscall numbers, names and tracepoint events.
//!
//! Takes a syscall or tracepoint event name (`openat`, `sys_enter_openat`, `newfstatat`);
//! gives its number and argument count from a built-in table ([`table::SYSCALLS`],
//! generated from `<asm/unistd_64.h>` and the kernel's syscall tracepoint formats), so that
//! hooks attach without tracefs. [`crate::tracefs`] refines the argument layout and event id
//! from the running kernel when tracefs is mounted.

pub mod table;

/// One syscall of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// Number on x86-64.
    pub nr: u32,
    /// Name in `<asm/unistd_64.h>` (`stat`).
    pub name: &'static str,
    /// Name of its tracepoint events (`newstat` for `sys_enter_newstat`).
    pub event: &'static str,
    /// Arguments in its tracepoint record.
    pub nargs: u8,
}

fn row(r: &(u32, &'static str, &'static str, u8)) -> Syscall {
    Syscall {
        nr: r.0,
        name: r.1,
        event: r.2,
        nargs: r.3,
    }
}

/// The syscall called `name` (its unistd name or its tracepoint event name).
pub fn by_name(name: &str) -> Option<Syscall> {
    table::SYSCALLS
        .iter()
        .find(|r| r.1 == name || r.2 == name)
        .map(row)
}

/// The syscall with number `nr`.
pub fn by_nr(nr: u64) -> Option<Syscall> {
    let nr = u32::try_from(nr).ok()?;
    // The table is sorted by number (with a gap from 335 to 423).
    let i = table::SYSCALLS.binary_search_by_key(&nr, |r| r.0).ok()?;
    Some(row(&table::SYSCALLS[i]))
}

/// Which side of a syscall a tracepoint event is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// `sys_enter_*`.
    Enter,
    /// `sys_exit_*`.
    Exit,
}

/// Split a tracepoint event name `sys_enter_NAME` / `sys_exit_NAME` into side and syscall.
pub fn parse_event(event: &str) -> Option<(Side, Syscall)> {
    let (side, name) = if let Some(n) = event.strip_prefix("sys_enter_") {
        (Side::Enter, n)
    } else {
        (Side::Exit, event.strip_prefix("sys_exit_")?)
    };
    Some((side, by_name(name)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(by_name("openat").unwrap().nr, 257);
        assert_eq!(by_name("newfstatat").unwrap().nr, 262);
        assert_eq!(by_name("stat").unwrap().event, "newstat");
        assert_eq!(by_nr(59).unwrap().name, "execve");
        assert_eq!(by_nr(257).unwrap().nargs, 4);
        let (side, sc) = parse_event("sys_exit_newstat").unwrap();
        assert_eq!((side, sc.nr), (Side::Exit, 4));
        assert!(parse_event("sys_enter_nosuch").is_none());
    }
}
