//! An append-only sequence kept in memory while it is small, then in an unnamed temporary
//! file, so that a run's memory stays flat however long it is. A day at one time-series
//! row per second and server is 86,400 rows per server — gigabytes for a large fleet — and
//! the rows are only ever read back in order, to be written out or drawn.
//!
//! Records are stored in a fixed-size binary form that round-trips exactly
//! ([`Spillable`]), so spilling changes no output byte. Spilling is only a saving: if the
//! temporary file cannot be written (a full disk), records stay in memory and the output
//! is the same.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Records kept in memory before they move to the file.
const IN_MEMORY: usize = 1 << 14;

/// A record with an exact fixed-size binary form.
pub trait Spillable: Sized {
    const BYTES: usize;
    fn encode(&self, out: &mut [u8]);
    fn decode(bytes: &[u8]) -> Self;
}

#[derive(Debug)]
pub struct SpillVec<T> {
    /// Records not yet spilled, after those in the file.
    recent: Vec<T>,
    spilled: Option<Spill>,
    /// Writing the file failed once: keep everything in memory from then on.
    spill_failed: bool,
}

#[derive(Debug)]
struct Spill {
    writer: BufWriter<File>,
    /// Records completely written and flushed; the file may hold a torn tail after a
    /// failure.
    records: u64,
}

impl<T> Default for SpillVec<T> {
    fn default() -> Self {
        SpillVec {
            recent: Vec::new(),
            spilled: None,
            spill_failed: false,
        }
    }
}

impl<T: Spillable> SpillVec<T> {
    /// Appends a record; the oldest move to a temporary file once memory holds enough.
    pub fn push(&mut self, record: T) {
        self.recent.push(record);
        if self.recent.len() >= IN_MEMORY && !self.spill_failed {
            match self.spill() {
                Ok(()) => self.recent.clear(),
                Err(_) => self.spill_failed = true,
            }
        }
    }

    /// Writes `recent` to the file; the caller clears it on success.
    fn spill(&mut self) -> io::Result<()> {
        let spill = match &mut self.spilled {
            Some(spill) => spill,
            None => self.spilled.insert(Spill {
                writer: BufWriter::new(tempfile::tempfile()?),
                records: 0,
            }),
        };
        let mut bytes = vec![0u8; T::BYTES];
        for record in &self.recent {
            record.encode(&mut bytes);
            spill.writer.write_all(&bytes)?;
        }
        spill.writer.flush()?;
        spill.records += self.recent.len() as u64;
        Ok(())
    }

    /// The number of records.
    pub fn len(&self) -> u64 {
        self.spilled.as_ref().map_or(0, |s| s.records) + self.recent.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `visit` on every record in order.
    pub fn for_each(&self, mut visit: impl FnMut(&T) -> io::Result<()>) -> io::Result<()>
    where
        T: Clone,
    {
        for record in self.iter()? {
            visit(&record?)?;
        }
        Ok(())
    }

    /// Every record in order, read one at a time: for a reader that walks two sequences
    /// side by side (a run's server rows and its database nodes' rows).
    pub fn iter(&self) -> io::Result<Records<'_, T>> {
        let file = match &self.spilled {
            Some(spill) => {
                // A second handle reads the file independently of the writer, whose buffer
                // was flushed after the last spill.
                let mut file = spill.writer.get_ref().try_clone()?;
                file.seek(SeekFrom::Start(0))?;
                Some((BufReader::new(file), spill.records))
            }
            None => None,
        };
        Ok(Records {
            file,
            recent: self.recent.iter(),
            bytes: vec![0u8; T::BYTES],
        })
    }

    /// Every record, in memory: for tests of small sequences.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<T>
    where
        T: Clone,
    {
        let mut records = Vec::new();
        self.for_each(|r| {
            records.push(r.clone());
            Ok(())
        })
        .expect("reading the spill file");
        records
    }
}

/// The records of a [`SpillVec`], those in its file first.
pub struct Records<'a, T> {
    /// The file's reader and the records left in it.
    file: Option<(BufReader<File>, u64)>,
    recent: std::slice::Iter<'a, T>,
    bytes: Vec<u8>,
}

impl<T: Spillable + Clone> Iterator for Records<'_, T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        if let Some((reader, left)) = &mut self.file {
            if *left > 0 {
                *left -= 1;
                let read = reader.read_exact(&mut self.bytes);
                return Some(read.map(|()| T::decode(&self.bytes)));
            }
            self.file = None;
        }
        self.recent.next().cloned().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Copy, Clone, Debug, PartialEq)]
    struct Pair(u32, f64);

    impl Spillable for Pair {
        const BYTES: usize = 12;
        fn encode(&self, out: &mut [u8]) {
            out[..4].copy_from_slice(&self.0.to_le_bytes());
            out[4..].copy_from_slice(&self.1.to_bits().to_le_bytes());
        }
        fn decode(bytes: &[u8]) -> Self {
            Pair(
                u32::from_le_bytes(bytes[..4].try_into().unwrap()),
                f64::from_bits(u64::from_le_bytes(bytes[4..].try_into().unwrap())),
            )
        }
    }

    #[test]
    fn records_round_trip_exactly_through_the_file() {
        let original: Vec<Pair> = (0..(IN_MEMORY as u32 * 2 + 10))
            .map(|i| Pair(i, f64::from(i) / 3.0))
            .collect();
        let mut store = SpillVec::default();
        for &r in &original {
            store.push(r);
        }
        assert!(store.spilled.is_some());
        assert!(store.recent.len() < IN_MEMORY);
        assert_eq!(store.len(), original.len() as u64);
        assert_eq!(store.to_vec(), original);
        // Reading twice gives the same records: iteration does not consume the file.
        assert_eq!(store.to_vec(), original);
    }

    #[test]
    fn a_short_sequence_stays_in_memory() {
        let mut store = SpillVec::default();
        store.push(Pair(1, 0.5));
        assert!(store.spilled.is_none());
        assert_eq!(store.to_vec(), vec![Pair(1, 0.5)]);
    }
}
