/* Program structure the loader cannot link (checked function by function, without the
 * loader): jumps out of the program or into the second half of an lddw, and a last
 * instruction that is neither exit nor a jump. */
#include "suite.h"

CASE("xdp", __failure __msg("jump out of range from insn 1 to 7"), jump_forward_out_of_range, "r0 = 0; if r0 == 0 goto +5; exit;")
CASE("xdp", __failure __msg("jump out of range from insn 0 to -1"), jump_backward_out_of_range, "goto -2; r0 = 0; exit;")
/* Reported in instruction order with reachability: here the lddw itself is never reached. */
CASE("xdp", __failure __msg("unreachable insn 1"), jump_into_lddw, "goto +1; r0 = 1 ll; r0 = 0; exit;")
CASE("xdp", __failure __msg("jump into the middle of ldimm64 insn 2"), jump_into_reached_lddw,
     "r0 = 0; if r0 == 0 goto +1; r0 = 1 ll; r0 = 0; exit;")
CASE("xdp", __success, jump_over_lddw, "r0 = 0; if r0 == 0 goto +2; r0 = 1 ll; exit;")
CASE("xdp", __failure __msg("last insn is not an exit or jmp"), fall_off_end, "r0 = 0;")
CASE("xdp", __success, last_insn_is_jump_back, "r0 = 0; goto +1; exit; goto -2;")
CASE("xdp", __failure __msg("jump out of range from insn 1 to 3"), jump_just_past_end, "r0 = 0; if r0 == 0 goto +1; exit;")
CASE("xdp", __failure __msg("last insn is not an exit or jmp"), ends_with_conditional_fallthrough,
     "r0 = 0; if r0 == 1 goto -2;")
