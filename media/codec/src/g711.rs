//! G.711 µ-law and A-law (ITU-T G.711), on 16-bit linear PCM.
//!
//! The four tables (two decoders of 256 entries, a 16 384-entry µ-law encoder indexed by the
//! top 14 bits and an 8 192-entry A-law encoder indexed by the top 13 bits) are built at
//! compile time by `const fn`s following the reference algorithm (Sun's `g711.c`).

use media::Codec;

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8159;
const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

const fn segment(value: i32, table: &[i32; 8]) -> u32 {
    let mut seg = 0;
    while seg < 8 {
        if value <= table[seg] {
            return seg as u32;
        }
        seg += 1;
    }
    8
}

/// µ-law encoding of a 14-bit value (the 16-bit sample shifted right by 2).
const fn ulaw_compress(pcm14: i32) -> u8 {
    let (mut v, mask) = if pcm14 < 0 { (-pcm14, 0x7F) } else { (pcm14, 0xFF) };
    if v > ULAW_CLIP {
        v = ULAW_CLIP;
    }
    v += ULAW_BIAS >> 2;
    let seg = segment(v, &SEG_UEND);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let uval = ((seg << 4) as i32 | ((v >> (seg + 1)) & 0xF)) as u8;
    uval ^ mask
}

/// A-law encoding of a 13-bit value (the 16-bit sample shifted right by 3).
const fn alaw_compress(pcm13: i32) -> u8 {
    let (v, mask) = if pcm13 >= 0 {
        (pcm13, 0xD5)
    } else {
        (-pcm13 - 1, 0x55)
    };
    let seg = segment(v, &SEG_AEND);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let quant = if seg < 2 { (v >> 1) & 0xF } else { (v >> seg) & 0xF };
    (((seg << 4) as i32 | quant) as u8) ^ mask
}

const fn ulaw_expand(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= ((u & 0x70) >> 4) as u32;
    (if u & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    }) as i16
}

const fn alaw_expand(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as u32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

const ULAW_DECODE: [i16; 256] = {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ulaw_expand(i as u8);
        i += 1;
    }
    table
};

const ALAW_DECODE: [i16; 256] = {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = alaw_expand(i as u8);
        i += 1;
    }
    table
};

/// Indexed by the 14-bit value as an unsigned 14-bit pattern.
const ULAW_ENCODE: [u8; 1 << 14] = {
    let mut table = [0u8; 1 << 14];
    let mut i = 0;
    while i < (1 << 14) {
        // Sign-extend the 14-bit pattern.
        let v = ((i as i32) << 18) >> 18;
        table[i] = ulaw_compress(v);
        i += 1;
    }
    table
};

/// Indexed by the 13-bit value as an unsigned 13-bit pattern.
const ALAW_ENCODE: [u8; 1 << 13] = {
    let mut table = [0u8; 1 << 13];
    let mut i = 0;
    while i < (1 << 13) {
        let v = ((i as i32) << 19) >> 19;
        table[i] = alaw_compress(v);
        i += 1;
    }
    table
};

/// Encodes one sample to µ-law.
#[inline]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    ULAW_ENCODE[((sample >> 2) as u16 & 0x3FFF) as usize]
}

/// Decodes one µ-law byte.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// Encodes one sample to A-law.
#[inline]
pub fn linear_to_alaw(sample: i16) -> u8 {
    ALAW_ENCODE[((sample >> 3) as u16 & 0x1FFF) as usize]
}

/// Decodes one A-law byte.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

/// Appends the encoding of `pcm` to `out`.
pub fn encode(codec: Codec, pcm: &[i16], out: &mut Vec<u8>) {
    match codec {
        Codec::Pcmu => out.extend(pcm.iter().map(|&s| linear_to_ulaw(s))),
        Codec::Pcma => out.extend(pcm.iter().map(|&s| linear_to_alaw(s))),
    }
}

/// Appends the decoding of `data` to `out`.
pub fn decode(codec: Codec, data: &[u8], out: &mut Vec<i16>) {
    match codec {
        Codec::Pcmu => out.extend(data.iter().map(|&c| ulaw_to_linear(c))),
        Codec::Pcma => out.extend(data.iter().map(|&c| alaw_to_linear(c))),
    }
}

/// The byte that encodes digital silence (µ-law `0xFF`, A-law `0xD5`).
pub fn silence_byte(codec: Codec) -> u8 {
    match codec {
        Codec::Pcmu => 0xFF,
        Codec::Pcma => 0xD5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values_decode() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            if code != 0x7F {
                // 0x7F is µ-law's negative zero: it encodes back as 0xFF.
                assert_eq!(linear_to_ulaw(ulaw_to_linear(code)), code, "µ-law {code:#04x}");
            }
            assert_eq!(linear_to_alaw(alaw_to_linear(code)), code, "A-law {code:#04x}");
        }
    }

    #[test]
    fn quantisation_error_stays_within_one_step() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let s32 = i32::from(s);
            let u = i32::from(ulaw_to_linear(linear_to_ulaw(s)));
            let a = i32::from(alaw_to_linear(linear_to_alaw(s)));
            // Steps grow with the segment: a step is at most 1/16 of the magnitude, so the
            // error stays within 1/16 of it plus the fixed steps near zero and the clip above
            // 32124 (µ-law) / 32256 (A-law).
            let bound = s32.abs() / 16 + 40 + (s32.abs() - 32124).max(0);
            assert!((u - s32).abs() <= bound, "µ-law {s} -> {u}");
            assert!((a - s32).abs() <= bound, "A-law {s} -> {a}");
        }
    }

    #[test]
    fn buffers_encode_and_decode_with_both_laws() {
        let pcm = [0i16, 1000, -1000, 20000, -20000];
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut bytes = Vec::new();
            encode(codec, &pcm, &mut bytes);
            assert_eq!(bytes.len(), pcm.len());
            let mut back = Vec::new();
            decode(codec, &bytes, &mut back);
            for (a, b) in pcm.iter().zip(&back) {
                assert!(
                    (i32::from(*a) - i32::from(*b)).abs() <= 700,
                    "{codec:?}: {a} vs {b}"
                );
            }
            let mut silence = Vec::new();
            decode(codec, &[silence_byte(codec)], &mut silence);
            assert!(silence[0].abs() <= 8);
        }
    }
}
