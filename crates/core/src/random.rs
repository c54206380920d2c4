//! Philox4x32-10 counter-based random numbers, bit-identical to the GPU kernel
//! (`nnlab-gpu/src/kernels/philox.wgsl`): element i of a draw uses counter
//! (i, stream, 0, 0) and key (seed lo, seed hi).

pub use nnlab_gpu::RandomKind;

pub fn philox(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for _ in 0..10 {
        let p0 = 0xD251_1F53u64 * c[0] as u64;
        let p1 = 0xCD9E_8D57u64 * c[2] as u64;
        c = [(p1 >> 32) as u32 ^ c[1] ^ k[0], p1 as u32, (p0 >> 32) as u32 ^ c[3] ^ k[1], p0 as u32];
        k = [k[0].wrapping_add(0x9E37_79B9), k[1].wrapping_add(0xBB67_AE85)];
    }
    c
}

fn unit(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / 16_777_216.0)
}

pub fn sample(len: usize, kind: RandomKind, seed: u64, stream: u32) -> Vec<f32> {
    let key = [seed as u32, (seed >> 32) as u32];
    (0..len)
        .map(|i| {
            let w = philox([i as u32, stream, 0, 0], key);
            match kind {
                RandomKind::Uniform { low, high } => low + (high - low) * unit(w[0]),
                RandomKind::Normal { mean, std } => {
                    let u1 = ((w[0] >> 8) as f32 + 1.0) * (1.0 / 16_777_216.0);
                    let u2 = unit(w[1]);
                    mean + std * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
                }
                RandomKind::Bernoulli { p } => (unit(w[0]) < p) as u8 as f32,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn philox_known_answer() {
        // Random123's published known-answer vector for philox4x32_10 with zero counter and key.
        assert_eq!(super::philox([0; 4], [0; 2]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
    }
}
