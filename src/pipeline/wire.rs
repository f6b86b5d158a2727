//! The wire format of the pipelined protocol: the header that stands for a pipelined message.
//!
//! A header is the only message of the protocol the application's envelope carries, so a receiver
//! must tell it from data by its bytes alone: the 128-bit magic, the version and a check word over
//! the fields. Kept apart from the send and receive paths, which both build or read it.

use crate::datatype::TypeInfo;

/// Bytes of a protocol header.
pub const HEADER_LEN: usize = 80;
/// The first 16 bytes of every header (random).
pub(super) const MAGIC: [u8; 16] = [
    0x6d, 0x70, 0x69, 0x76, 0x65, 0x9c, 0x3e, 0xd1, 0x47, 0x0b, 0xf2, 0x85, 0x2a, 0xe6, 0x13, 0xb8,
];
pub(super) const VERSION: u32 = 1;

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(super) struct Header {
    pub(super) magic: [u8; 16],
    pub(super) version: u32,
    /// Tag of the chunks on the private communicator.
    pub(super) xtag: i32,
    /// The sender's rank on the private communicator.
    pub(super) src: i32,
    pub(super) _pad: i32,
    pub(super) chunk: u64,
    pub(super) total: u64,
    pub(super) check: u64,
    pub(super) _rest: [u8; 24],
}

const _: () = assert!(std::mem::size_of::<Header>() == HEADER_LEN);

impl Header {
    pub(super) fn check_word(&self) -> u64 {
        self.total.rotate_left(17)
            ^ self.chunk.rotate_left(41)
            ^ ((self.xtag as u32 as u64) << 32 | self.src as u32 as u64)
            ^ 0x9E37_79B9_7F4A_7C15
    }

    pub(super) fn valid(&self) -> bool {
        self.magic == MAGIC && self.version == VERSION && self.check == self.check_word() && self.chunk > 0 && self.src >= 0
    }
}

/// Whether a datatype is a predefined contiguous one (MPI_DOUBLE, MPI_BYTE, ...; not the pair types):
/// its elements are a plain byte stream, which the protocol cuts into chunks at any byte.
pub(crate) fn linear(t: &TypeInfo) -> bool {
    t.named && t.size > 0 && t.size == t.extent && t.true_lb == 0 && t.true_extent == t.extent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let mut h = Header { magic: MAGIC, version: VERSION, xtag: 7, src: 3, chunk: 1 << 20, total: 16 << 20, ..Default::default() };
        assert!(!h.valid(), "no check word yet");
        h.check = h.check_word();
        assert!(h.valid());
        let mut g = h;
        g.total += 1;
        assert!(!g.valid(), "the check word covers the size");
        let mut g = h;
        g.magic[15] ^= 1;
        assert!(!g.valid());
    }

    #[test]
    fn linear_types() {
        let t = |size, extent, lb, textent, named| TypeInfo { size, extent, true_lb: lb, true_extent: textent, named };
        assert!(linear(&t(8, 8, 0, 8, true)), "MPI_DOUBLE");
        assert!(!linear(&t(12, 16, 0, 12, true)), "MPI_DOUBLE_INT has a hole");
        assert!(!linear(&t(8, 8, 0, 8, false)), "derived types take the general way");
    }
}
