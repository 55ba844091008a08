//! Which runs a shard simulates. The run's task list — every scenario × variant ×
//! replication, in input order — is dealt out like cards: task `i` goes to shard
//! `(i mod N) + 1`. Dealing rather than cutting into N blocks keeps the slices balanced
//! even when scenarios differ in size (neighbouring tasks are usually variants of one
//! scenario, so each shard gets a share of every scenario), and it depends on nothing but
//! the task list, so every machine computes the same slices without talking to another.

use std::fmt;
use std::str::FromStr;

/// Shard `K` of `N` (`1 <= K <= N`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count`; an error says why the pair is not one.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 {
            return Err(format!("{index}/{count}: N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(format!(
                "{index}/{count}: K must be between 1 and N = {count}"
            ));
        }
        Ok(Shard { index, count })
    }

    /// K, from 1.
    pub fn index(self) -> u32 {
        self.index
    }

    /// N, the number of shards.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether task `task` (0-based, in the run's task order) belongs to this shard.
    pub fn owns(self, task: u64) -> bool {
        task % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let expected = || format!("expected K/N (shard K of N, 1 <= K <= N), found {text:?}");
        let (k, n) = text.split_once('/').ok_or_else(expected)?;
        let k: u32 = k.trim().parse().map_err(|_| expected())?;
        let n: u32 = n.trim().parse().map_err(|_| expected())?;
        Shard::new(k, n)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(n: u32) -> Vec<Shard> {
        (1..=n).map(|k| Shard::new(k, n).unwrap()).collect()
    }

    #[test]
    fn every_task_belongs_to_exactly_one_shard() {
        for n in 1..=7 {
            for task in 0..100 {
                let owners = shards(n).into_iter().filter(|s| s.owns(task)).count();
                assert_eq!(owners, 1, "task {task} with {n} shards");
            }
        }
    }

    #[test]
    fn slices_are_dealt_round_robin_and_differ_in_size_by_at_most_one() {
        let three = shards(3);
        let slice = |shard: Shard| (0..10).filter(|&t| shard.owns(t)).collect::<Vec<u64>>();
        assert_eq!(slice(three[0]), vec![0, 3, 6, 9]);
        assert_eq!(slice(three[1]), vec![1, 4, 7]);
        assert_eq!(slice(three[2]), vec![2, 5, 8]);
        for n in 1..=9 {
            for tasks in 0..30 {
                let sizes: Vec<usize> = shards(n)
                    .into_iter()
                    .map(|s| (0..tasks).filter(|&t| s.owns(t)).count())
                    .collect();
                let (min, max) = (sizes.iter().min(), sizes.iter().max());
                assert!(
                    max.unwrap() - min.unwrap() <= 1,
                    "{tasks} tasks, {n}: {sizes:?}"
                );
            }
        }
    }

    #[test]
    fn k_of_n_parses_and_prints_back() {
        let shard: Shard = "2/5".parse().unwrap();
        assert_eq!((shard.index(), shard.count()), (2, 5));
        assert_eq!(shard.to_string(), "2/5");
    }

    #[test]
    fn a_shard_outside_one_to_n_or_not_k_of_n_is_rejected_with_the_reason() {
        for text in ["0/3", "4/3", "x", "3", "1/0", "-1/3", "1/3/3", "", "1/"] {
            let error = text.parse::<Shard>().unwrap_err();
            assert!(!error.is_empty(), "{text}");
        }
        assert!(
            "4/3"
                .parse::<Shard>()
                .unwrap_err()
                .contains("between 1 and N = 3")
        );
        assert!("x".parse::<Shard>().unwrap_err().contains("expected K/N"));
    }
}
