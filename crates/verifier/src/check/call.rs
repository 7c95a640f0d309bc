//! Calls and exits: helper prototypes, bpf-to-bpf calls and returns, reference tracking.
//!
//! Takes the state at a `call` or `exit`; gives the state after it. Helper arguments are
//! checked against [`crate::helpers`] prototypes (map, key and value pointers sized by the
//! map, memory with a bounded size, context, ringbuf records); afterwards r1-r5 are
//! uninitialised and r0 follows the return type. A local call pushes a frame (r1-r5 passed,
//! at most 8 frames); its exit pops it, giving r0 to the caller, whose r6-r9 are preserved.
//! At the program's exit r0 must be initialised and every acquired reference released.
//!
//! Callbacks (`bpf_loop`, `bpf_for_each_map_elem`), as the kernel's `push_callback_call`:
//! at the helper call the callback is queued as a call with its own frame and the kernel's
//! arguments (`bpf_loop`: index, callback_ctx; `bpf_for_each_map_elem`: map, read-only key,
//! value, callback_ctx), while the caller continues as if the helper returned. The
//! callback's exit checks r0 in [0, 1] and goes back to the helper call, which queues
//! another iteration (at most the `bpf_loop` count, `callback_depth`) until the caller's
//! state repeats (a loop point of `check`). Timers and other callback helpers are refused.

use super::{Flow, Verifier};
use crate::error::VerifierError;
use crate::helpers::{self, Arg, Ret};
use crate::input::{attach_type as at, map_type, ProgType};
use crate::reg::{RegState, RegType};
use crate::scalar::Scalar;
use crate::state::{Frame, RefInfo, State, MAX_FRAMES};
use userbpf_isa::{CallTarget, Reg};

impl Verifier<'_> {
    pub(super) fn call(
        &mut self,
        st: &mut State,
        target: CallTarget,
    ) -> Result<Flow, VerifierError> {
        match target {
            CallTarget::Helper(id) => {
                self.helper_call(st, id)?;
                Ok(Flow::Next(self.pc + 1))
            }
            CallTarget::Local(_) => {
                let t = self.cfg.target(self.input.program, self.pc).unwrap_or(0);
                self.check_call_depth(st)?;
                let mut f = Frame::new(st.frames.len() as u8, self.pc, self.cfg.insn_subprog[t]);
                for r in 1..=5 {
                    f.regs[r] = st.cur().regs[r];
                }
                st.frames.push(f);
                self.cur_written[st.frames.len() - 1] = 0;
                Ok(Flow::Next(t))
            }
            // BTF id 0: a call of a function the object does not define (the loader's
            // extern calls) other than the userbpf built-ins (`memset`, ..., helper calls of
            // their private ids, see `crate::builtins`). libbpf cannot resolve it and the
            // kernel has no such function: rejected as there.
            CallTarget::Kfunc { btf_id: 0, .. } => Err(self.error(
                st,
                "call to undefined function (unresolved extern)".into(),
                &[],
            )),
            CallTarget::Kfunc { .. } => Err(self.error(
                st,
                "calling kernel functions is not supported in user space".into(),
                &[],
            )),
        }
    }

    pub(super) fn exit(&mut self, st: &mut State) -> Result<Flow, VerifierError> {
        if st.frames.len() > 1 && st.cur().callback {
            // The callback's return value must be 0 or 1 (continue or stop); the caller
            // goes back to the helper call, which may call it again or return.
            // Unset or a pointer: the kernel's `prepare_func_exit` checks the type only.
            if !st.reg(Reg::R0).is_scalar() {
                return Err(self.error(st, "R0 not a scalar value".into(), &[Reg::R0]));
            }
            let r0 = self.read(st, Reg::R0)?;
            self.mark_precise(st, Reg::R0);
            let v = r0.var.full;
            if v.smin < 0 || v.smax > 1 {
                return Err(self.error(
                    st,
                    format!(
                        "At callback return the register R0 has smin={} smax={} should have been in [0, 1]",
                        v.smin, v.smax
                    ),
                    &[Reg::R0],
                ));
            }
            let callee = st.frames.pop().expect("frame");
            self.hist_cb = true;
            return Ok(Flow::Next(callee.callsite));
        }
        if st.frames.len() > 1 {
            // Static subprograms may return nothing; the caller sees r0 as it was left.
            let r0 = *st.reg(Reg::R0);
            if r0.ty == RegType::Stack && r0.frame as usize == st.frames.len() - 1 {
                return Err(self.error(
                    st,
                    "cannot return stack pointer to the caller frame".into(),
                    &[Reg::R0],
                ));
            }
            let callee = st.frames.pop().expect("frame");
            let caller = st.cur_mut();
            caller.regs[0] = r0;
            for r in 1..=5 {
                caller.regs[r] = RegState::not_init();
            }
            return Ok(Flow::Next(callee.callsite + 1));
        }
        self.read(st, Reg::R0)?;
        self.check_return_code(st)?;
        if let Some(r) = st.refs.first() {
            return Err(self.error(
                st,
                format!("Unreleased reference id={} alloc_insn={}", r.id, r.insn),
                &[],
            ));
        }
        Ok(Flow::End)
    }

    /// The range r0 must lie in at the program's exit (the kernel's `check_return_code`),
    /// and whether only its low 32 bits are checked.
    fn return_range(&self) -> Option<(i64, i64, bool)> {
        use crate::input::LsmHook;
        let eat = self.input.options.expected_attach_type;
        if self.input.prog_type.kernel_id() == 29 {
            let hook = self.input.options.lsm_hook?;
            return match (eat == at::LSM_CGROUP, hook) {
                (true, LsmHook::Void) => Some((1, 1, false)),
                (true, _) => Some((0, 1, false)),
                (false, LsmHook::Errno) => Some((-4095, 0, true)),
                (false, LsmHook::Bool) => Some((0, 1, true)),
                (false, _) => None,
            };
        }
        let (lo, hi) = match self.input.prog_type.kernel_id() {
            // cgroup_sock_addr
            18 => match eat {
                at::CGROUP_UDP4_RECVMSG
                | at::CGROUP_UDP6_RECVMSG
                | at::CGROUP_UNIX_RECVMSG
                | at::CGROUP_INET4_GETPEERNAME
                | at::CGROUP_INET6_GETPEERNAME
                | at::CGROUP_UNIX_GETPEERNAME
                | at::CGROUP_INET4_GETSOCKNAME
                | at::CGROUP_INET6_GETSOCKNAME
                | at::CGROUP_UNIX_GETSOCKNAME => (1, 1),
                at::CGROUP_INET4_BIND | at::CGROUP_INET6_BIND => (0, 3),
                _ => (0, 1),
            },
            // cgroup_skb
            8 if eat == at::CGROUP_INET_EGRESS => (0, 3),
            // cgroup_skb, cgroup_sock, sock_ops, cgroup_device, cgroup_sysctl,
            // cgroup_sockopt, netfilter
            8 | 9 | 13 | 15 | 23 | 25 | 32 => (0, 1),
            // tracing: fentry/fexit return 0; iterators 0 or 1
            26 => match eat {
                at::TRACE_FENTRY | at::TRACE_FEXIT => (0, 0),
                at::TRACE_ITER => (0, 1),
                _ => return None,
            },
            // sk_lookup: SK_DROP or SK_PASS
            30 => (0, 1),
            _ => return None,
        };
        Some((lo, hi, false))
    }

    fn check_return_code(&mut self, st: &State) -> Result<(), VerifierError> {
        let Some((lo, hi, low32)) = self.return_range() else {
            return Ok(());
        };
        let r0 = *st.reg(Reg::R0);
        self.mark_precise(st, Reg::R0);
        if !r0.is_scalar() {
            return Err(self.error(
                st,
                format!(
                    "At program exit the register R0 is not a known value ({})",
                    r0.ty.name()
                ),
                &[Reg::R0],
            ));
        }
        let v = r0.var.full;
        let checked = if low32 { r0.var.sub } else { v };
        if checked.smin < lo || checked.smax > hi {
            let mut m = "At program exit the register R0 has".to_string();
            if v.smin > i64::MIN {
                m += &format!(" smin={}", v.smin);
            }
            if v.smax < i64::MAX {
                m += &format!(" smax={}", v.smax);
            }
            if v.smin == i64::MIN && v.smax == i64::MAX {
                m += " unknown scalar value";
            }
            m += &format!(" should have been in [{lo}, {hi}]");
            return Err(self.error(st, m, &[Reg::R0]));
        }
        Ok(())
    }

    /// Whether this program may update or delete socket-map entries (`may_update_sockmap`:
    /// where no locked socket can be reached; sock_ops may only delete).
    fn may_update_sockmap(&self, helper: i32) -> bool {
        match self.input.prog_type {
            ProgType::Raw { .. } => true,
            pt => match pt.kernel_id() {
                26 => self.input.options.expected_attach_type == at::TRACE_ITER,
                13 => helper == 3,
                1 | 3 | 4 | 6 | 21 | 22 | 30 => true,
                _ => false,
            },
        }
    }

    /// The kernel's `check_get_func_ip`: only kprobe programs (uprobes too) and
    /// fentry/fexit/fmod_ret tracing programs know the address of their function.
    fn check_get_func_ip(&self, st: &State) -> Result<(), VerifierError> {
        let pt = self.input.prog_type;
        if matches!(pt, ProgType::Raw { .. } | ProgType::Other(0)) {
            return Ok(());
        }
        let text = match pt.kernel_id() {
            2 => return Ok(()),
            26 => {
                let eat = self.input.options.expected_attach_type;
                if matches!(eat, at::TRACE_FENTRY | at::TRACE_FEXIT | at::MODIFY_RETURN) {
                    return Ok(());
                }
                "func bpf_get_func_ip#173 supported only for fentry/fexit/fmod_ret programs"
                    .to_string()
            }
            other => format!("func bpf_get_func_ip#173 not supported for program type {other}"),
        };
        Err(self.error(st, text, &[]))
    }

    fn helper_call(&mut self, st: &mut State, id: i32) -> Result<(), VerifierError> {
        let Some(proto) = helpers::proto(id) else {
            // Past the kernel's last helper id the kernel says "invalid func"; below it, a
            // helper we do not model.
            let text = if !(0..helpers::FUNC_MAX_ID).contains(&id) {
                format!("invalid func unknown#{id}")
            } else {
                format!("unknown func unknown#{id}")
            };
            return Err(self.error(st, text, &[]));
        };
        if !helpers::allowed_on(proto, self.input.prog_type, self.input.options.syscall_hook) {
            return Err(self.error(
                st,
                format!(
                    "program of this type cannot use helper bpf_{}#{id}",
                    proto.name
                ),
                &[],
            ));
        }
        if id == 173 {
            self.check_get_func_ip(st)?;
        }
        if id == 12 && !st.refs.is_empty() {
            // The tail call does not come back to release what this program holds.
            return Err(self.error(st, "tail_call would lead to reference leak".into(), &[]));
        }
        let mut map: Option<u32> = None;
        let mut mem_size_arg: u64 = 0;
        let mut msize_max: u64 = 0;
        let mut released: Option<u32> = None;
        let mut sock_ref: u32 = 0;
        let mut callback: Option<usize> = None;
        let mut incompatible: Option<VerifierError> = None;
        // A built-in reads its sources before it writes its destination: check them in
        // that order, so that a source the destination overlaps must already be initialised.
        let mut order = [0usize, 1, 2, 3, 4];
        if crate::builtins::is_builtin(proto) {
            order.sort_by_key(|&i| proto.args[i] == Arg::UninitMem);
        }
        for i in order {
            let arg = &proto.args[i];
            if *arg == Arg::DontCare {
                continue;
            }
            let r = Reg::new(i as u8 + 1).expect("r1-r5");
            let v = self.read(st, r)?;
            let rn = r.num();
            let bad = |v: &Self, exp: &str| {
                v.error(
                    st,
                    format!("R{rn} type={} expected={exp}", v_name(&st.reg(r).ty)),
                    &[r],
                )
            };
            // Packet memory only for the helpers made for it: the kernel checks it after the
            // argument's type and before the memory access (below for memory arguments, at
            // the end for the others).
            let pkt_arg = matches!(v.ty, RegType::Packet | RegType::PacketMeta)
                && !matches!(arg, Arg::DontCare | Arg::Anything)
                && !proto.pkt_access;
            match arg {
                Arg::DontCare | Arg::Anything => {}
                Arg::ConstMapPtr => {
                    if v.ty != RegType::MapPtr {
                        return Err(bad(self, "map_ptr"));
                    }
                    map = Some(v.map);
                    let mt = self.input.maps[v.map as usize].map_type;
                    let ok = match proto.id {
                        12 => mt == map_type::PROG_ARRAY,
                        130..=134 => mt == map_type::RINGBUF,
                        22 | 25 | 55 => mt == map_type::PERF_EVENT_ARRAY,
                        33 | 37 => mt == map_type::CGROUP_ARRAY,
                        87..=89 => mt == map_type::QUEUE || mt == map_type::STACK,
                        27 => mt == map_type::STACK_TRACE,
                        107 | 108 => mt == map_type::SK_STORAGE,
                        53 => mt == map_type::SOCKMAP,
                        70 => mt == map_type::SOCKHASH,
                        // The maps programs reach only through their own helpers
                        // (`check_map_func_compatibility`).
                        1..=3 => {
                            !matches!(
                                mt,
                                map_type::RINGBUF
                                    | map_type::PROG_ARRAY
                                    | map_type::PERF_EVENT_ARRAY
                                    | map_type::STACK_TRACE
                                    | map_type::CGROUP_ARRAY
                                    | map_type::CPUMAP
                                    | map_type::CGROUP_STORAGE
                                    | map_type::PERCPU_CGROUP_STORAGE
                                    | map_type::SK_STORAGE
                                    | map_type::INODE_STORAGE
                                    | map_type::TASK_STORAGE
                                    | map_type::BLOOM_FILTER
                                    | map_type::USER_RINGBUF
                                    | map_type::CGRP_STORAGE
                            ) && (proto.id == 1
                                || !matches!(
                                    mt,
                                    map_type::ARRAY_OF_MAPS
                                        | map_type::HASH_OF_MAPS
                                        | map_type::DEVMAP
                                        | map_type::DEVMAP_HASH
                                        | map_type::XSKMAP
                                ))
                        }
                        _ => true,
                    };
                    if !ok {
                        // The kernel checks the arguments first
                        // (`check_map_func_compatibility` comes after them).
                        let text = if proto.id == 12 {
                            "expected prog array map for tail call".to_string()
                        } else {
                            format!(
                                "cannot pass map_type {mt} into func bpf_{}#{}",
                                proto.name, proto.id
                            )
                        };
                        incompatible = Some(self.error(st, text, &[r]));
                    }
                    if matches!(mt, map_type::SOCKMAP | map_type::SOCKHASH)
                        && matches!(proto.id, 2 | 3)
                        && !self.may_update_sockmap(proto.id)
                    {
                        return Err(self.error(
                            st,
                            "cannot update sockmap in this context".into(),
                            &[r],
                        ));
                    }
                }
                Arg::NullableMapValue if v.konst() == Some(0) => {
                    self.mark_precise(st, r);
                }
                Arg::MapKey | Arg::MapValue | Arg::UninitMapValue | Arg::NullableMapValue => {
                    let Some(m) = map else {
                        return Err(self.error(
                            st,
                            "invalid map_ptr to access map->key".into(),
                            &[r],
                        ));
                    };
                    let info = &self.input.maps[m as usize];
                    // A socket map's value is the socket itself (`resolve_map_arg_type`).
                    if *arg == Arg::MapValue
                        && matches!(info.map_type, map_type::SOCKMAP | map_type::SOCKHASH)
                    {
                        if !v.ty.is_sock() || v.off != 0 || v.var.as_const() != Some(0) {
                            return Err(bad(self, "sock_common"));
                        }
                        continue;
                    }
                    let n = if *arg == Arg::MapKey {
                        info.key_size
                    } else {
                        info.value_size
                    } as u64;
                    // A key or value of no bytes (a queue's or stack's key) is not a size
                    // of zero allowed (`check_stack_range_initialized`).
                    if n == 0 && v.ty == RegType::Stack {
                        return Err(self.error(st, "invalid zero-sized read".into(), &[r]));
                    }
                    self.check_helper_mem(st, r, v, n, n, *arg == Arg::UninitMapValue)?;
                }
                Arg::Mem | Arg::MemOrNull | Arg::UninitMem => {
                    // NULL for a nullable argument is checked below as a zero-sized access:
                    // only a size of 0 is allowed with it.
                    if *arg != Arg::MemOrNull && !v.ty.is_pointer() {
                        return Err(bad(self, "fp, pkt, pkt_meta, map_value, mem"));
                    }
                    if pkt_arg {
                        return Err(self.error(
                            st,
                            "helper access to the packet is not allowed".into(),
                            &[r],
                        ));
                    }
                    // The size comes in the next size argument: the next register for the
                    // kernel's helpers, the third for the built-ins.
                    let Some(si) = (i + 1..5)
                        .find(|&k| matches!(proto.args[k], Arg::ConstSize | Arg::ConstSizeOrZero))
                    else {
                        return Err(self.error(st, format!("R{rn} has no size argument"), &[r]));
                    };
                    let sr = Reg::new(si as u8 + 1).expect("size register");
                    let s = self.read(st, sr)?;
                    self.mark_precise(st, sr);
                    if v.is_scalar() {
                        self.mark_precise(st, r);
                    }
                    let (lo, hi) = self.size_arg(st, sr, s, proto.args[si])?;
                    msize_max = hi;
                    self.check_helper_mem(st, r, v, lo, hi, *arg == Arg::UninitMem)?;
                }
                Arg::ConstSize | Arg::ConstSizeOrZero => {}
                Arg::FixedAlignedOut(n) => {
                    let n = *n as u64;
                    if v.ty == RegType::Stack {
                        if let Some(c) = v.var.as_const() {
                            let o = v.off + c as i64;
                            if o % n as i64 != 0 {
                                return Err(self.error(
                                    st,
                                    format!("misaligned stack access off 0+{}+0 size {n}", o),
                                    &[r],
                                ));
                            }
                        }
                    }
                    self.check_helper_mem(st, r, v, n, n, true)?;
                }
                Arg::CtxOrNull | Arg::Ctx => {
                    if *arg == Arg::CtxOrNull && v.konst() == Some(0) {
                        self.mark_precise(st, r);
                        continue;
                    }
                    if v.ty != RegType::Ctx {
                        return Err(bad(self, "ctx"));
                    }
                    if v.off != 0 || v.var.as_const() != Some(0) {
                        return Err(self.error(
                            st,
                            format!(
                                "dereference of modified ctx ptr R{rn} off={} disallowed",
                                v.off
                            ),
                            &[r],
                        ));
                    }
                }
                Arg::SockCommon | Arg::ReleaseSock => {
                    if !v.ty.is_sock() {
                        return Err(bad(self, "sock_common"));
                    }
                    if v.off != 0 || v.var.as_const() != Some(0) {
                        return Err(self.error(
                            st,
                            format!("R{rn} must have zero offset when passed to release func"),
                            &[r],
                        ));
                    }
                    if *arg == Arg::ReleaseSock {
                        released = Some(v.ref_id);
                    } else {
                        sock_ref = v.ref_id;
                    }
                }
                Arg::ReleaseRingbufMem => {
                    if v.ty != RegType::RingbufMem {
                        return Err(bad(self, "ringbuf_mem"));
                    }
                    if v.off != 0 || v.var.as_const() != Some(0) {
                        return Err(self.error(
                            st,
                            format!("R{rn} must have zero offset when passed to release func"),
                            &[r],
                        ));
                    }
                    released = Some(v.ref_id);
                }
                Arg::ConstAllocSize => {
                    self.mark_precise(st, r);
                    let Some(c) = v.konst() else {
                        return Err(self.error(
                            st,
                            format!("R{rn} is not a known constant'"),
                            &[r],
                        ));
                    };
                    mem_size_arg = c;
                }
                Arg::Func => {
                    if v.ty != RegType::Func {
                        return Err(bad(self, "func"));
                    }
                    if !matches!(proto.id, 164 | 181) {
                        return Err(self.error(
                            st,
                            format!("callbacks (bpf_{}) are not supported yet", proto.name),
                            &[r],
                        ));
                    }
                    callback = Some(v.mem_size as usize);
                }
                Arg::ConstStr => {
                    if v.ty != RegType::MapValue {
                        return Err(bad(self, "map_value"));
                    }
                }
            }
            if pkt_arg {
                return Err(self.error(
                    st,
                    "helper access to the packet is not allowed".into(),
                    &[r],
                ));
            }
        }
        if let Some(e) = incompatible {
            return Err(e);
        }
        if let Some(rid) = released {
            if rid == 0 || !st.refs.iter().any(|x| x.id == rid) {
                return Err(self.error(
                    st,
                    "R1 must be referenced when passed to release function".to_string(),
                    &[Reg::R1],
                ));
            }
            st.refs.retain(|x| x.id != rid);
            st.for_each_reg(|x| {
                if x.ref_id == rid {
                    *x = RegState::unknown();
                }
            });
        }
        if let Some(t) = callback {
            if proto.id == 181 {
                // bpf_loop: the callback runs at most r1 times; the kernel explores at most
                // that many iterations (`callback_depth`), so r1 must be precise.
                self.mark_precise(st, Reg::R1);
                let n = st.reg(Reg::R1);
                let max = if n.is_scalar() {
                    n.var.full.umax
                } else {
                    u64::MAX
                };
                if u64::from(st.cur().callback_depth) < max {
                    self.push_callback(st, proto.id, map, t)?;
                }
            } else {
                self.push_callback(st, proto.id, map, t)?;
            }
            st.cur_mut().callback_depth = 0;
        }
        if proto.id == crate::builtins::MEMSET {
            self.memset_zero(st);
        }
        let first_arg = *st.reg(Reg::R1);
        for r in 1..=5 {
            st.cur_mut().regs[r] = RegState::not_init();
        }
        if proto.changes_pkt {
            st.for_each_reg(|x| {
                if matches!(
                    x.ty,
                    RegType::Packet | RegType::PacketMeta | RegType::PacketEnd
                ) {
                    *x = RegState::unknown();
                }
            });
        }
        let r0 = match proto.ret {
            // Helpers that return a length of at most the buffer size, or an error
            // (`do_refine_retval_range`).
            Ret::Integer if matches!(proto.id, 45 | 67 | 114 | 115 | 141) => {
                let mut v = Scalar::unknown();
                v.full.smin = -4095;
                v.full.smax = msize_max as i64;
                v.sub.smin = -4095;
                v.sub.smax = msize_max as i64;
                v.sync();
                RegState::scalar(v)
            }
            Ret::Integer => RegState::unknown(),
            Ret::Void => RegState::not_init(),
            Ret::FirstArg => first_arg,
            // A socket map gives the socket, an acquired reference (`is_acquire_function`).
            Ret::MapValueOrNull
                if map.is_some_and(|m| {
                    matches!(
                        self.input.maps[m as usize].map_type,
                        map_type::SOCKMAP | map_type::SOCKHASH
                    )
                }) =>
            {
                let id = self.acquire_ref(st);
                RegState {
                    id,
                    ref_id: id,
                    ..RegState::pointer(RegType::SockOrNull)
                }
            }
            Ret::MapValueOrNull => {
                let id = self.new_id();
                RegState {
                    id,
                    map: map.unwrap_or(0),
                    ..RegState::pointer(RegType::MapValueOrNull)
                }
            }
            Ret::RingbufMemOrNull => {
                let id = self.acquire_ref(st);
                RegState {
                    id,
                    ref_id: id,
                    mem_size: mem_size_arg,
                    ..RegState::pointer(RegType::RingbufMemOrNull)
                }
            }
            Ret::AcquiredSockOrNull { common } => {
                let id = self.acquire_ref(st);
                let ty = if common {
                    RegType::SockCommonOrNull
                } else {
                    RegType::SockOrNull
                };
                RegState {
                    id,
                    ref_id: id,
                    ..RegState::pointer(ty)
                }
            }
            Ret::CastSockOrNull { tcp } => RegState {
                id: self.new_id(),
                ref_id: sock_ref,
                ..RegState::pointer(if tcp {
                    RegType::TcpSockOrNull
                } else {
                    RegType::SockOrNull
                })
            },
            Ret::SockOrNull => RegState {
                id: self.new_id(),
                ..RegState::pointer(RegType::SockOrNull)
            },
        };
        *st.reg_mut(Reg::R0) = r0;
        Ok(())
    }

    /// Queue the callback of `bpf_loop` / `bpf_for_each_map_elem` as a call with its own
    /// frame (the kernel's `push_callback_call`); the caller meanwhile continues as if the
    /// helper returned without calling it.
    /// A new id for a reference the current instruction acquires, recorded in `st.refs` so that
    /// an exit that still holds it is refused.
    fn acquire_ref(&mut self, st: &mut State) -> u32 {
        let id = self.new_id();
        st.refs.push(RefInfo {
            id,
            insn: self.slot(),
        });
        id
    }

    /// Refuses a call (bpf-to-bpf or a callback) that would need a frame past
    /// [`MAX_FRAMES`].
    fn check_call_depth(&self, st: &State) -> Result<(), VerifierError> {
        if st.frames.len() >= MAX_FRAMES {
            return Err(self.error(
                st,
                format!(
                    "the call stack of {} frames is too deep !",
                    st.frames.len() + 1
                ),
                &[],
            ));
        }
        Ok(())
    }

    fn push_callback(
        &mut self,
        st: &State,
        helper: i32,
        map: Option<u32>,
        target: usize,
    ) -> Result<(), VerifierError> {
        self.check_call_depth(st)?;
        let mut cb = st.clone();
        let caller_depth = &mut cb.cur_mut().callback_depth;
        *caller_depth = caller_depth.saturating_add(1);
        let mut f = Frame::new(
            st.frames.len() as u8,
            self.pc,
            self.cfg.insn_subprog[target],
        );
        f.callback = true;
        let caller = st.cur();
        match helper {
            // bpf_loop: callback(index, callback_ctx)
            181 => {
                f.regs[1] = RegState::scalar(Scalar::unknown().zext(32));
                f.regs[2] = caller.regs[3];
            }
            // bpf_for_each_map_elem: callback(map, key, value, callback_ctx)
            _ => {
                let m = map.unwrap_or(0);
                f.regs[1] = caller.regs[1];
                f.regs[2] = RegState {
                    map: m,
                    ..RegState::pointer(RegType::MapKey)
                };
                f.regs[3] = RegState {
                    map: m,
                    ..RegState::pointer(RegType::MapValue)
                };
                f.regs[4] = caller.regs[3];
            }
        }
        cb.frames.push(f);
        let written = self.cur_written;
        self.cur_written[cb.frames.len() - 1] = 0;
        self.hist_cb = true;
        self.push_branch(cb, target);
        self.hist_cb = false;
        self.cur_written = written;
        Ok(())
    }

    /// After the built-in `memset` (its arguments checked): a constant zero byte over a
    /// constant stack range leaves those bytes zero, as stores of constant 0 do (the
    /// kernel's STACK_ZERO); the byte value is then precise. Otherwise the bytes stay as
    /// the memory check left them (written, unknown).
    fn memset_zero(&mut self, st: &mut State) {
        let (dst, c, n) = (*st.reg(Reg::R1), *st.reg(Reg::R2), *st.reg(Reg::R3));
        let (Some(c), Some(n), Some(var)) = (c.konst(), n.konst(), dst.var.as_const()) else {
            return;
        };
        if dst.ty != RegType::Stack || c as u8 != 0 || n == 0 {
            return;
        }
        self.mark_precise(st, Reg::R2);
        let base = dst.off + var as i64;
        let frame = &mut st.frames[dst.frame as usize];
        for b in base..base + n as i64 {
            let i = (((b % 8) + 8) % 8) as usize;
            frame.slot_mut(b).bytes[i] = crate::state::SlotByte::Zero;
        }
    }

    /// Bounds of a size argument.
    fn size_arg(
        &self,
        st: &State,
        r: Reg,
        s: RegState,
        kind: Arg,
    ) -> Result<(u64, u64), VerifierError> {
        let rn = r.num();
        if !s.is_scalar() {
            return Err(self.error(
                st,
                format!("R{rn} type={} expected=scalar", s.ty.name()),
                &[r],
            ));
        }
        let v = s.var.full;
        if v.smin < 0 {
            return Err(self.error(
                st,
                format!("R{rn} min value is negative, either use unsigned or 'var &= const'"),
                &[r],
            ));
        }
        if v.umin == 0 && kind == Arg::ConstSize {
            return Err(self.error(
                st,
                format!("R{rn} invalid zero-sized read: u64=[{},{}]", v.umin, v.umax),
                &[r],
            ));
        }
        if v.umax >= 1 << 29 {
            return Err(self.error(
                st,
                format!("R{rn} unbounded memory access, use 'var &= const' or 'if (var < const)'"),
                &[r],
            ));
        }
        let _ = Scalar::unknown;
        Ok((v.umin, v.umax))
    }
}

fn v_name(t: &RegType) -> &'static str {
    t.name()
}
