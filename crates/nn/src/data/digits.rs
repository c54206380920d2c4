//! scikit-learn's 8x8 handwritten digits (`sklearn.datasets.load_digits`): 1797
//! images of the digits 0 to 9, each pixel the count of ink pixels (0..16) in a
//! 4x4 block of a 32x32 bitmap. The originals are the test set of the UCI
//! "Optical Recognition of Handwritten Digits" data (Alpaydin & Kaynak, 1998).
//!
//! The images are embedded in the binary (72 kB). `crates/nn/data/README.md`
//! gives the byte format, provenance and licence, and
//! `tests/fixtures/extract_digits.py` regenerates the file.

use nnlab_core::{Error, Result};

use super::array::{ArrayDataset, Splits, Target, check_ratio, split};

static DIGITS_BIN: &[u8] = include_bytes!("../../data/digits.bin");

const MAGIC: &[u8; 4] = b"NNLD";
const HEADER: usize = 6;
pub const SIDE: usize = 8;
const PIXELS: usize = SIDE * SIDE;
const BITS: usize = 5;
/// 64 pixels of 5 bits.
const PACKED: usize = PIXELS * BITS / 8;
const RECORD: usize = PACKED + 1;
/// Pixel values run 0..=16; the network sees them divided by this.
pub const MAX_PIXEL: f32 = 16.0;
pub const CLASSES: usize = 10;
/// Images in scikit-learn's copy.
pub const COUNT: usize = 1797;

/// Decodes a digits file: pixels (0..16, row-major, 64 per image) and labels.
fn decode(bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let bad = |reason: String| Error::InvalidArgument { op: "digits::load", reason };
    if bytes.len() < HEADER || &bytes[..4] != MAGIC {
        return Err(bad("digits.bin does not start with \"NNLD\"".into()));
    }
    let count = u16::from_le_bytes([bytes[4], bytes[5]]) as usize;
    if bytes.len() != HEADER + count * RECORD {
        return Err(bad(format!("digits.bin has {} bytes, expected {} for {count} images", bytes.len(), HEADER + count * RECORD)));
    }
    let mut pixels = Vec::with_capacity(count * PIXELS);
    let mut labels = Vec::with_capacity(count);
    for rec in bytes[HEADER..].chunks_exact(RECORD) {
        // Pixel k is bits 5k..5k+4 of the record's 320-bit little-endian stream.
        for k in 0..PIXELS {
            let bit = k * BITS;
            let (byte, shift) = (bit / 8, bit % 8);
            let lo = rec[byte] as u16;
            let hi = if byte + 1 < PACKED { rec[byte + 1] as u16 } else { 0 };
            let v = (((hi << 8) | lo) >> shift) as u8 & 0x1f;
            if v as f32 > MAX_PIXEL {
                return Err(bad(format!("pixel value {v} above 16")));
            }
            pixels.push(v);
        }
        let label = rec[PACKED];
        if label as usize >= CLASSES {
            return Err(bad(format!("label {label} is not a digit")));
        }
        labels.push(label);
    }
    Ok((pixels, labels))
}

/// All 1797 images, unshuffled, in scikit-learn's order: x `[1, 8, 8]` per
/// example (NCHW without the batch axis) with pixels scaled to [0, 1] by /16,
/// y the digit (`[]`).
pub fn all() -> Result<ArrayDataset> {
    let (pixels, labels) = decode(DIGITS_BIN)?;
    Ok(ArrayDataset {
        x: pixels.iter().map(|&p| p as f32 / MAX_PIXEL).collect(),
        x_shape: vec![1, SIDE, SIDE],
        y: labels.iter().map(|&l| l as f32).collect(),
        y_shape: vec![],
    })
}

/// The digits, shuffled with `seed` and split `train_ratio` (in (0, 1]) for
/// training. Target: `Classes(10)`.
pub fn load(train_ratio: f32, seed: u64) -> Result<Splits> {
    check_ratio("digits::load", train_ratio)?;
    Ok(split(all()?, Target::Classes(CLASSES), train_ratio, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `tests/fixtures/extract_digits.py` prints for scikit-learn's copy.
    const PIXEL_SUM: u64 = 561_718;
    const LABEL_WEIGHTED_PIXEL_SUM: u64 = 2_525_954;
    const HISTOGRAM: [usize; 10] = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];

    #[test]
    fn digits_match_scikit_learn() {
        let (pixels, labels) = decode(DIGITS_BIN).unwrap();
        assert_eq!(labels.len(), COUNT);
        assert_eq!(pixels.len(), COUNT * 64);
        assert_eq!(pixels.iter().map(|&p| p as u64).sum::<u64>(), PIXEL_SUM);
        let weighted: u64 = pixels.chunks(64).zip(&labels).map(|(img, &l)| l as u64 * img.iter().map(|&p| p as u64).sum::<u64>()).sum();
        assert_eq!(weighted, LABEL_WEIGHTED_PIXEL_SUM);
        let mut hist = [0usize; 10];
        labels.iter().for_each(|&l| hist[l as usize] += 1);
        assert_eq!(hist, HISTOGRAM);
        assert!(hist.iter().all(|c| (174..=183).contains(c)));
        // The first image, a zero, as scikit-learn stores it.
        assert_eq!(&pixels[..16], &[0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]);
        assert_eq!(labels[0], 0);
    }

    #[test]
    fn digits_load_splits_and_scales() {
        let s = load(0.8, 5).unwrap();
        assert_eq!(s.target, Target::Classes(10));
        assert_eq!((s.train.len(), s.test.len()), (1438, 359));
        for d in [&s.train, &s.test] {
            assert_eq!(d.x_shape, vec![1, 8, 8]);
            assert!(d.y_shape.is_empty());
            assert_eq!(d.x.len(), d.len() * 64);
            assert!(d.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
            assert!(d.y.iter().all(|&y| y.fract() == 0.0 && (0.0..10.0).contains(&y)));
        }
        let total: f32 = s.train.x.iter().chain(&s.test.x).sum();
        assert!((total * 16.0 - PIXEL_SUM as f32).abs() < 1.0);
        assert_eq!(load(0.8, 5).unwrap().train.y, s.train.y);
        assert_ne!(load(0.8, 6).unwrap().train.y, s.train.y);
        assert!(matches!(load(0.0, 1), Err(Error::InvalidArgument { .. })));
        assert!(matches!(load(f32::NAN, 1), Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn digits_decode_rejects_damaged_files() {
        assert!(decode(b"").is_err());
        assert!(decode(b"XXXX\x00\x00").is_err());
        assert!(decode(&DIGITS_BIN[..DIGITS_BIN.len() - 1]).is_err());
        let mut bad = DIGITS_BIN.to_vec();
        bad[HEADER + PACKED] = 10;
        assert!(decode(&bad).is_err());
        assert_eq!(decode(b"NNLD\x00\x00").unwrap(), (vec![], vec![]));
    }
}
