//! The map contents the packet examples run with, shared by the fast-path test and the
//! packets bench (both include this file by path).
//!
//! Takes an example program's name; gives the elements to set before it runs (map, key,
//! value) and an instance of the object with them set.

#![allow(dead_code)]

use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

/// A map element to set before the run: map, key, value.
pub type Setup = (&'static str, Vec<u8>, Vec<u8>);

/// The load balancer's virtual IP.
pub const VIP: [u8; 4] = [10, 0, 0, 100];

/// An LPM trie key for IPv4: prefix length, then the address.
pub fn lpm4(prefix: u32, addr: [u8; 4]) -> Vec<u8> {
    let mut k = prefix.to_le_bytes().to_vec();
    k.extend_from_slice(&addr);
    k
}

/// The elements example `name` runs with: blocked prefixes and a port for the firewall,
/// the VIP and two backends for the load balancer, none for the others.
pub fn setup(name: &str) -> Vec<Setup> {
    match name {
        "xdp_firewall" => vec![
            ("blocked_src", lpm4(16, [192, 168, 0, 0]), vec![1]),
            ("blocked_src", lpm4(32, [10, 1, 2, 3]), vec![1]),
            ("blocked_ports", 22u16.to_le_bytes().to_vec(), vec![1]),
        ],
        "xdp_lb" => {
            let mut cfg = VIP.to_vec();
            cfg.extend_from_slice(&2u32.to_le_bytes());
            let backend = |last: u8| {
                let mut v = vec![10, 0, 1, last, 2, 0, 0, 0, 1, last];
                v.extend_from_slice(&[0; 14]);
                v
            };
            vec![
                ("config", 0u32.to_le_bytes().to_vec(), cfg),
                ("backends", 0u32.to_le_bytes().to_vec(), backend(1)),
                ("backends", 1u32.to_le_bytes().to_vec(), backend(2)),
            ]
        }
        _ => Vec::new(),
    }
}

/// `object` loaded with the elements of [`setup`] for `name` set (values zero-padded to
/// the maps' value sizes).
pub fn instance_with_setup(object: &Object, name: &str) -> ObjectInstance {
    let instance = ObjectInstance::load(object, &LoadOptions::default()).unwrap();
    for (map, key, value) in setup(name) {
        let m = instance.map(map).unwrap();
        let mut v = value;
        v.resize(m.user_value_size(), 0);
        m.update(&key, &v, 0).unwrap();
    }
    instance
}
