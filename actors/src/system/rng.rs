//! [`AgentRng`]: a fast generator of a system's own, the same on every machine.

use std::convert::Infallible;
use std::hash::{Hash, Hasher};

use rand_core::{SeedableRng, TryRng};
use rand_xoshiro::Xoroshiro128PlusPlus;

use crate::ids::SystemId;

/// A system's random number generator, from [`SystemContext::rng`]: xoroshiro128++,
/// seeded from a run seed and the system's id, so every system draws its own stream and
/// a run repeats exactly for the same seed. Not for cryptography.
///
/// It implements [`rand_core::Rng`] (through [`TryRng`]), so the `rand` crate's
/// distributions take it; the methods here cover what simulations draw most.
///
/// ```
/// use exokern_actors::system::AgentRng;
/// use exokern_actors::SystemId;
///
/// let id = SystemId::new("agent-7")?;
/// let mut a = AgentRng::for_system(42, &id);
/// let mut b = AgentRng::for_system(42, &id);
/// let draws: Vec<u64> = (0..5).map(|_| a.below(6)).collect();
/// assert_eq!(draws, (0..5).map(|_| b.below(6)).collect::<Vec<_>>());
/// assert!(draws.iter().all(|&d| d < 6));
/// # Ok::<(), exokern_actors::IdError>(())
/// ```
///
/// [`SystemContext::rng`]: crate::system::SystemContext::rng
#[derive(Debug, Clone)]
pub struct AgentRng(Xoroshiro128PlusPlus);

impl AgentRng {
    /// The generator of system `id` in a run seeded with `seed`.
    pub fn for_system(seed: u64, id: &SystemId) -> AgentRng {
        // FxHasher is fixed (no per-process key), so the stream is the same everywhere.
        let mut hasher = rustc_hash::FxHasher::default();
        id.as_str().hash(&mut hasher);
        let mixed = seed.rotate_left(29) ^ hasher.finish();
        AgentRng(Xoroshiro128PlusPlus::seed_from_u64(mixed))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        match self.0.try_next_u64() {
            Ok(bits) => bits,
        }
    }

    /// A number drawn uniformly from `0..n`, without bias (Lemire's method); 0 when `n`
    /// is 0.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        loop {
            let wide = u128::from(self.next_u64()) * u128::from(n);
            let low = wide as u64;
            if low >= n || low >= n.wrapping_neg() % n {
                return (wide >> 64) as u64;
            }
        }
    }

    /// A number drawn uniformly from `[0, 1)`.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

impl TryRng for AgentRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0.try_next_u32()
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0.try_next_u64()
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.try_fill_bytes(dst)
    }
}
