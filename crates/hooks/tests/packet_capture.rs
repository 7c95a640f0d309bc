//! pcap and pcapng readers and writers: round trips, both byte orders and resolutions,
//! several interfaces, and malformed files (clear errors naming the record and offset,
//! never a panic).

use proptest::prelude::*;
use userbpf_hooks::packet::capture::{read_all, CaptureErrorKind};
use userbpf_hooks::packet::pcapng::PcapngWriter;
use userbpf_hooks::packet::{CaptureReader, CaptureWriter, Format, Timestamp};

fn ts(secs: u64, nanos: u32) -> Timestamp {
    Timestamp { secs, nanos }
}

fn frames() -> Vec<Vec<u8>> {
    vec![
        vec![0xaa; 60],
        (0..=255u8).collect(),
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    ]
}

fn write(format: Format) -> Vec<u8> {
    let mut w = CaptureWriter::new(Vec::new(), format).unwrap();
    for (i, f) in frames().iter().enumerate() {
        w.write(
            ts(1_700_000_000 + i as u64, 123_456_789),
            f,
            f.len() as u32 + 4,
            0,
            1,
        )
        .unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn pcap_round_trip_nanos_and_micros() {
    for nanos in [false, true] {
        let bytes = write(Format::Pcap {
            nanos,
            big_endian: false,
        });
        let r = CaptureReader::new(&bytes[..]).unwrap();
        assert_eq!(
            r.format(),
            Format::Pcap {
                nanos,
                big_endian: false
            }
        );
        let packets = read_all(&bytes).unwrap();
        assert_eq!(packets.len(), 3);
        for (i, (p, f)) in packets.iter().zip(frames()).enumerate() {
            assert_eq!(p.data, f);
            assert_eq!(p.orig_len, f.len() as u32 + 4);
            assert_eq!(p.link_type, 1);
            assert_eq!(p.record, i as u64);
            assert_eq!(p.timestamp.secs, 1_700_000_000 + i as u64);
            assert_eq!(
                p.timestamp.nanos,
                if nanos { 123_456_789 } else { 123_456_000 }
            );
        }
        assert_eq!(packets[1].offset, 24 + 16 + 60);
    }
}

/// A big-endian classic pcap written by hand.
fn big_endian_pcap(nanos: bool) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(if nanos { 0xa1b2_3c4du32 } else { 0xa1b2_c3d4 }).to_be_bytes());
    b.extend_from_slice(&2u16.to_be_bytes());
    b.extend_from_slice(&4u16.to_be_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_be_bytes());
    b.extend_from_slice(&1u32.to_be_bytes());
    for (i, f) in frames().iter().enumerate() {
        b.extend_from_slice(&(10 + i as u32).to_be_bytes());
        b.extend_from_slice(&500u32.to_be_bytes());
        b.extend_from_slice(&(f.len() as u32).to_be_bytes());
        b.extend_from_slice(&(f.len() as u32).to_be_bytes());
        b.extend_from_slice(f);
    }
    b
}

#[test]
fn pcap_big_endian() {
    for nanos in [false, true] {
        let bytes = big_endian_pcap(nanos);
        let r = CaptureReader::new(&bytes[..]).unwrap();
        assert_eq!(
            r.format(),
            Format::Pcap {
                nanos,
                big_endian: true
            }
        );
        let packets: Vec<_> = r.collect::<Result<_, _>>().unwrap();
        assert_eq!(packets.len(), 3);
        assert_eq!(packets[2].data, frames()[2]);
        assert_eq!(
            packets[1].timestamp,
            ts(11, if nanos { 500 } else { 500_000 })
        );
    }
}

#[test]
fn pcapng_round_trip() {
    let bytes = write(Format::Pcapng);
    let r = CaptureReader::new(&bytes[..]).unwrap();
    assert_eq!(r.format(), Format::Pcapng);
    let packets = read_all(&bytes).unwrap();
    assert_eq!(packets.len(), 3);
    for (i, (p, f)) in packets.iter().zip(frames()).enumerate() {
        assert_eq!(p.data, f);
        assert_eq!(p.timestamp, ts(1_700_000_000 + i as u64, 123_456_789));
        // Block 0 is the SHB, block 1 the IDB.
        assert_eq!(p.record, i as u64 + 2);
    }
}

fn block(order_be: bool, t: u32, body: &[u8]) -> Vec<u8> {
    let u32b = |v: u32| {
        if order_be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let padded = body.len().div_ceil(4) * 4;
    let len = 12 + padded as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&u32b(t));
    b.extend_from_slice(&u32b(len));
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&u32b(len));
    b
}

/// A hand-made pcapng: a big-endian section with two interfaces (Ethernet in
/// microseconds; Linux SLL with if_tsresol 2^-10 and an offset), an EPB on each, an SPB, a
/// name-resolution block to skip; then a little-endian section with one interface.
fn multi_section() -> Vec<u8> {
    let be = true;
    let u16b = |v: u16| v.to_be_bytes();
    let u32b = |v: u32| v.to_be_bytes();
    let mut f = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&u32b(0x1a2b_3c4d));
    shb.extend_from_slice(&u16b(1));
    shb.extend_from_slice(&u16b(0));
    shb.extend_from_slice(&(-1i64).to_be_bytes());
    f.extend(block(be, 0x0a0d_0d0a, &shb));
    let mut idb0 = Vec::new();
    idb0.extend_from_slice(&u16b(1));
    idb0.extend_from_slice(&u16b(0));
    idb0.extend_from_slice(&u32b(100));
    f.extend(block(be, 1, &idb0));
    let mut idb1 = Vec::new();
    idb1.extend_from_slice(&u16b(113));
    idb1.extend_from_slice(&u16b(0));
    idb1.extend_from_slice(&u32b(0));
    idb1.extend_from_slice(&u16b(9));
    idb1.extend_from_slice(&u16b(1));
    idb1.extend_from_slice(&[0x8a, 0, 0, 0]);
    idb1.extend_from_slice(&u16b(14));
    idb1.extend_from_slice(&u16b(8));
    idb1.extend_from_slice(&5i64.to_be_bytes());
    idb1.extend_from_slice(&[0; 4]);
    f.extend(block(be, 1, &idb1));
    let epb = |iface: u32, t: u64, data: &[u8]| {
        let mut b = Vec::new();
        b.extend_from_slice(&u32b(iface));
        b.extend_from_slice(&u32b((t >> 32) as u32));
        b.extend_from_slice(&u32b(t as u32));
        b.extend_from_slice(&u32b(data.len() as u32));
        b.extend_from_slice(&u32b(data.len() as u32));
        b.extend_from_slice(data);
        block(be, 6, &b)
    };
    f.extend(epb(0, 3_000_001, &[0x11; 20]));
    f.extend(epb(1, 3 * 1024 + 512, &[0x22; 17]));
    f.extend(block(be, 4, &[0, 0, 0, 0]));
    let mut spb = Vec::new();
    spb.extend_from_slice(&u32b(150));
    spb.extend_from_slice(&[0x33; 150]);
    f.extend(block(be, 3, &spb));
    // A second, little-endian section.
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let id = w.add_interface(1).unwrap();
    w.write_packet(id, ts(7, 8), &[0x44; 30], 30).unwrap();
    f.extend(w.finish().unwrap());
    f
}

#[test]
fn pcapng_sections_interfaces_and_blocks() {
    let packets = read_all(&multi_section()).unwrap();
    assert_eq!(packets.len(), 4);
    assert_eq!(packets[0].data, vec![0x11; 20]);
    assert_eq!(packets[0].timestamp, ts(3, 1000));
    assert_eq!((packets[0].interface, packets[0].link_type), (0, 1));
    assert_eq!(packets[1].data, vec![0x22; 17]);
    assert_eq!((packets[1].interface, packets[1].link_type), (1, 113));
    assert_eq!(packets[1].timestamp, ts(3 + 5, 500_000_000));
    // The SPB is cut to interface 0's snapshot length.
    assert_eq!(packets[2].data, vec![0x33; 100]);
    assert_eq!(packets[2].orig_len, 150);
    assert_eq!(packets[3].data, vec![0x44; 30]);
    assert_eq!(packets[3].timestamp, ts(7, 8));
    assert_eq!(packets[3].record, 9);
}

#[test]
fn pcapng_writer_declares_interfaces_on_first_use() {
    let mut w = CaptureWriter::new(Vec::new(), Format::Pcapng).unwrap();
    w.write(ts(1, 0), &[1; 20], 20, 5, 1).unwrap();
    w.write(ts(2, 0), &[2; 20], 20, 9, 1).unwrap();
    w.write(ts(3, 0), &[3; 20], 20, 5, 1).unwrap();
    let bytes = w.finish().unwrap();
    let p = read_all(&bytes).unwrap();
    assert_eq!(
        p.iter().map(|p| p.interface).collect::<Vec<_>>(),
        vec![0, 1, 0]
    );
}

fn error_of(bytes: &[u8]) -> String {
    match CaptureReader::new(bytes) {
        Err(e) => e.to_string(),
        Ok(r) => match r.collect::<Result<Vec<_>, _>>() {
            Err(e) => e.to_string(),
            Ok(p) => panic!("no error, {} packets", p.len()),
        },
    }
}

#[test]
fn malformed_files_name_record_and_offset() {
    assert_eq!(
        error_of(b"GIF89a......................"),
        "file header at offset 0: not a pcap or pcapng file: magic [47, 49, 46, 38]"
    );
    assert!(error_of(b"\xd4\xc3").contains("truncated file magic"));
    let good = write(Format::Pcap {
        nanos: true,
        big_endian: false,
    });
    // Cut inside the second record's data.
    let cut = &good[..24 + 16 + 60 + 16 + 10];
    assert_eq!(
        error_of(cut),
        "record 1 at offset 100: truncated packet data: need 256 bytes, 10 left in the file"
    );
    // Cut inside the third record's header.
    let cut = &good[..24 + 16 + 60 + 16 + 256 + 5];
    assert_eq!(
        error_of(cut),
        "record 2 at offset 372: truncated record header: need 16 bytes, 5 left in the file"
    );
    // An absurd captured length.
    let mut bad = good.clone();
    bad[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    assert!(error_of(&bad).starts_with("record 0 at offset 24: captured length 2147483647"));
    // A pcapng block with a bad length.
    let mut ng = write(Format::Pcapng);
    let shb_len = 28;
    let idb_len = u32::from_le_bytes(ng[shb_len + 4..shb_len + 8].try_into().unwrap()) as usize;
    let epb = shb_len + idb_len;
    ng[epb + 4..epb + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let e = error_of(&ng);
    assert!(
        e.starts_with(&format!("record 2 at offset {epb}: block total length")),
        "{e}"
    );
    // A captured length beyond its block.
    let mut ng = write(Format::Pcapng);
    ng[epb + 20..epb + 24].copy_from_slice(&5000u32.to_le_bytes());
    let e = error_of(&ng);
    assert!(e.contains("captured length 5000 overruns its block"), "{e}");
    // A packet on an undeclared interface.
    let mut ng = write(Format::Pcapng);
    ng[epb + 8..epb + 12].copy_from_slice(&3u32.to_le_bytes());
    let e = error_of(&ng);
    assert!(
        e.contains("packet on interface 3, but the section declares 1 interface(s)"),
        "{e}"
    );
    // Trailing length that disagrees.
    let mut ng = write(Format::Pcapng);
    let n = ng.len();
    ng[n - 4..].copy_from_slice(&8u32.to_le_bytes());
    let e = error_of(&ng);
    assert!(e.contains("trailing block length 8 differs"), "{e}");
    // A truncated pcapng.
    let ng = write(Format::Pcapng);
    let e = error_of(&ng[..ng.len() - 3]);
    assert!(e.contains("truncated block"), "{e}");
    assert!(matches!(
        CaptureReader::new(&b"\x0a\x0d\x0d\x0a\x1c\0\0\0\x4d\x3c\x2b\x1a\x02\0"[..])
            .err()
            .map(|e| e.kind),
        Some(CaptureErrorKind::Truncated { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Flipped bytes and truncation never panic: every outcome is packets or an error
    /// that names a record or the header.
    #[test]
    fn corrupted_files_never_panic(
        which in 0usize..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut bytes = match which {
            0 => write(Format::Pcap { nanos: false, big_endian: false }),
            1 => big_endian_pcap(true),
            2 => write(Format::Pcapng),
            _ => multi_section(),
        };
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= v;
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        match CaptureReader::new(&bytes[..]) {
            Err(e) => prop_assert!(!e.to_string().is_empty()),
            Ok(r) => {
                for p in r {
                    match p {
                        Ok(p) => prop_assert!(p.data.len() <= 262_144),
                        Err(e) => {
                            prop_assert!(e.record.is_some() || e.offset == 0);
                            prop_assert!(e.offset <= bytes.len() as u64);
                            break;
                        }
                    }
                }
            }
        }
    }
}
