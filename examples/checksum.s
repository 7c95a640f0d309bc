# Internet checksum (RFC 1071) of the input: r1 = data, r2 = its length.
# Returns the one's-complement checksum; 0 when the input carries a valid
# checksum (e.g. an IPv4 header).
    r0 = 0
    r3 = 0                      # byte offset
loop:
    r4 = r3
    r4 += 1
    if r4 >= r2 goto tail       # fewer than two bytes left
    r5 = r1
    r5 += r3
    r6 = *(u16 *)(r5 + 0)
    r6 = be16 r6                # network byte order
    r0 += r6
    r3 += 2
    goto loop
tail:
    if r3 >= r2 goto fold       # odd length: pad the last byte
    r5 = r1
    r5 += r3
    r6 = *(u8 *)(r5 + 0)
    r6 <<= 8
    r0 += r6
fold:                           # three folds of the carries: enough below 2^48
    r6 = r0
    r6 >>= 16
    r0 &= 0xffff
    r0 += r6
    r6 = r0
    r6 >>= 16
    r0 &= 0xffff
    r0 += r6
    r6 = r0
    r6 >>= 16
    r0 &= 0xffff
    r0 += r6
    r0 ^= 0xffff
    exit
