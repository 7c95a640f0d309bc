//! Plain-words hints for the kernel's messages.
//!
//! Takes a kernel message; gives the usual fix, or `None` when there is no general advice.

/// The usual fix for `message`.
pub fn hint(message: &str) -> Option<String> {
    let h = if message.starts_with("invalid access to packet") {
        "compare the packet pointer plus the bytes you read with data_end before reading (for example `if (data + 14 > data_end) return XDP_DROP;`)"
    } else if message.contains("invalid mem access 'map_value_or_null'")
        || message.contains("null-check it first")
    {
        "check the pointer returned by bpf_map_lookup_elem against NULL before using it"
    } else if message.contains("invalid mem access 'scalar'") {
        "the register holds a number, not a pointer: only pointers from the context, the stack, maps or helpers can be dereferenced"
    } else if message.ends_with("!read_ok") {
        "the register is read before anything was written to it on this path (after a call, r1-r5 are clobbered)"
    } else if message.starts_with("invalid read from stack")
        || message.starts_with("invalid indirect read from stack")
    {
        "initialise the stack variable (for example with memset or `= {}`) before reading it or passing it to a helper"
    } else if message.starts_with("invalid access to map value") {
        "the offset may fall outside the map value: bound the index with a comparison against the value size"
    } else if message.contains("min value is negative") {
        "use an unsigned index, or check `index >= 0` before using it"
    } else if message.contains("unbounded memory access") {
        "bound the variable with a comparison or a mask (`var &= const`) before using it as an offset or size"
    } else if message.starts_with("Unreleased reference") {
        "every ringbuf record reserved must be submitted or discarded on every path"
    } else if message.starts_with("BPF program is too large") {
        "the analysis explored too many instructions: bound loops with small constants or use may_goto / bpf_loop"
    } else if message.starts_with("invalid bpf_context access") {
        "this context field cannot be accessed this way in this program type (check the field offset, size and whether it is writable)"
    } else if message == "frame pointer is read only" {
        "r10 is the frame pointer; copy it to another register before doing arithmetic"
    } else if message.starts_with("unknown func") {
        "this helper does not exist or is not available to this program type"
    } else if message.starts_with("call to undefined function") {
        "the object calls a function it does not define, and BPF cannot link one (userbpf provides only memset, memcpy, memmove and memcmp, as built-ins the kernel lacks): define it in the program (static, or __always_inline), or declare a helper by its id as bpf_helpers.h does"
    } else if message.starts_with("unreachable insn") {
        "remove dead code or make the jump reach it"
    } else if message.contains("pointer arithmetic") || message.contains("pointer prohibited") {
        "only addition and subtraction of numbers are allowed on pointers"
    } else {
        return None;
    };
    Some(h.to_string())
}
