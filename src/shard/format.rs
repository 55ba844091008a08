//! The shard file, `DIR/<scenario>/shard-K-of-N.lbsim`: one scenario's share of a sharded
//! run, holding everything `lbsim merge` needs to write the very files a single run writes.
//!
//! Why binary rather than JSON: results are histograms and long time series whose floats
//! must survive bit for bit (the CSV figures are printed from them); a fixed little-endian
//! layout round-trips them exactly, is read and written as a stream (a series never sits
//! in memory whole: it goes through [`SpillVec`] on both sides), and the series rows reuse
//! their spill-file encoding ([`Spillable`]), so there is one binary form of a row, not two.
//!
//! Why checksums: a shard file travels (shared volumes, object stores, `scp`), and a bit
//! flipped in a float would otherwise turn silently into a wrong figure. FNV-1a (64-bit)
//! detects every single-byte change; the header has its own checksum so that `lbsim
//! merge` can trust headers before it reads the runs. A truncated, corrupted or foreign
//! file is a [`ReadError`], never a panic and never an allocation sized by the file's claims.
//!
//! Why names for figures, states and reasons: a shard is read back into the same
//! `&'static str`s and figure slots only if the reading lbsim knows them, and a name says
//! which one it does not know. Figures are carried as one table, name and value each, so
//! a new figure needs no change here: a shard whose figures are not this lbsim's (another
//! version) is refused rather than merged into a report a single run would not write.
//!
//! Layout. Integers are little-endian; `str` is a u32 byte length then UTF-8; `opt<T>` is
//! a u8 0, or a u8 1 then T; `f64` is its IEEE bits as a u64.
//! ```text
//! magic            8 bytes   "LBSIMSHD"
//! format_version   u32       FORMAT_VERSION; any other is refused
//! lbsim_version    str       the lbsim that simulated the runs
//! shard            u32 K, u32 N
//! run_scenarios    u32 count, then str × count: the name of every scenario of the run, in order
//! scenario_index   u32       this scenario's position among them
//! first_task       u64       the run-wide index of this scenario's first task
//! task_count       u64       this scenario's tasks in the whole run: variants × replications
//! scenario_path    str       as given on the shard's command line
//! scenario_source  str       the whole scenario file
//! seed             opt<u64>  the --seed override
//! replications     opt<u32>  the --replications override
//! header_checksum  u64       FNV-1a 64 of every byte above
//! tasks            u64 count, then per task, in task order:
//!   index          u64       variant × replications + replication, within the scenario
//!   seed           u64
//!   measured       u64       nanoseconds
//!   counts         u64 × 5   arrived, completed, rejected, failed, in_flight
//!   utilization    f64
//!   figures        u32 count, then per figure in FIGURES order: name str, opt<f64>
//!   servers        u32 count, then per server: name str, group str, zone str,
//!                  completions u64, utilization f64
//!   database       the data tier's nodes, encoded as servers are
//!   events         u32 count, then per event: time u64 ns, server str, from str, to str,
//!                  reason str, detail str (states among STATE_NAMES, reasons among
//!                  REASON_NAMES)
//!   latency, wait  each: sum u128 ns, max u64 ns, u64 bucket count,
//!                  then (value u64 ns, count u64) per non-empty histogram bucket
//!   series         u32 record size (SeriesRow::BYTES), u64 count, records
//!   intervals      u32 record size (IntervalTotals::BYTES), u64 count, records
//!   database_series  the data tier's node rows, encoded as series (server = node index)
//!   tier_times     u32 record size (TierTimes::BYTES), u64 count, records
//! checksum         u64       FNV-1a 64 of every byte above; the file ends here
//! ```

use std::fmt;
use std::io::{self, Read, Write};

use super::Shard;
use crate::engine::{SimDuration, SimTime};
use crate::stats::{
    ClusterEvent, Counts, FIGURES, Figures, IntervalTotals, Kind, LatencyParts, LatencyStats,
    REASON_NAMES, RunResult, STATE_NAMES, SeriesRow, ServerSummary, SpillVec, Spillable, TierTimes,
    known_name,
};

const MAGIC: &[u8; 8] = b"LBSIMSHD";

/// The layout above. Raise it with any change to the layout or to a record encoding.
pub const FORMAT_VERSION: u32 = 4;

/// Everything a shard file says besides the runs: which run and scenario they belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardHeader {
    pub lbsim_version: String,
    pub shard: Shard,
    /// The name of every scenario of the run, in input order.
    pub run_scenarios: Vec<String>,
    /// This scenario's position in `run_scenarios` (checked to be in range).
    pub scenario_index: u32,
    /// The run-wide index of this scenario's first task.
    pub first_task: u64,
    /// This scenario's tasks in the whole run.
    pub task_count: u64,
    pub scenario_path: String,
    pub scenario_source: String,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
}

/// Why a shard file could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// The file ends before its content does.
    Truncated,
    /// Content no lbsim writes: another file, another format version, corruption.
    Invalid(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(error) => write!(f, "cannot read: {error}"),
            ReadError::Truncated => write!(f, "truncated: the file ends early"),
            ReadError::Invalid(message) => write!(f, "{message}"),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            ReadError::Truncated
        } else {
            ReadError::Io(error)
        }
    }
}

fn invalid(message: impl Into<String>) -> ReadError {
    ReadError::Invalid(message.into())
}

/// FNV-1a, 64-bit.
#[derive(Copy, Clone)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Writes a shard file: `header`, then `tasks` (index within the scenario, result).
pub fn write(
    out: &mut dyn Write,
    header: &ShardHeader,
    tasks: &[(u64, RunResult)],
) -> io::Result<()> {
    let mut encoder = Encoder {
        out,
        hash: Fnv::new(),
    };
    encoder.bytes(MAGIC)?;
    encoder.u32(FORMAT_VERSION)?;
    encoder.str(&header.lbsim_version)?;
    encoder.u32(header.shard.index())?;
    encoder.u32(header.shard.count())?;
    encoder.u32(length(header.run_scenarios.len())?)?;
    for name in &header.run_scenarios {
        encoder.str(name)?;
    }
    encoder.u32(header.scenario_index)?;
    encoder.u64(header.first_task)?;
    encoder.u64(header.task_count)?;
    encoder.str(&header.scenario_path)?;
    encoder.str(&header.scenario_source)?;
    encoder.option(header.seed.map(u64::to_le_bytes))?;
    encoder.option(header.replications.map(u32::to_le_bytes))?;
    encoder.checksum()?;
    encoder.u64(tasks.len() as u64)?;
    for (index, run) in tasks {
        encoder.u64(*index)?;
        encoder.run(run)?;
    }
    encoder.checksum()
}

fn length(len: usize) -> io::Result<u32> {
    u32::try_from(len).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too long"))
}

struct Encoder<'w> {
    out: &'w mut dyn Write,
    hash: Fnv,
}

impl Encoder<'_> {
    fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    fn u32(&mut self, value: u32) -> io::Result<()> {
        self.bytes(&value.to_le_bytes())
    }

    fn u64(&mut self, value: u64) -> io::Result<()> {
        self.bytes(&value.to_le_bytes())
    }

    fn f64(&mut self, value: f64) -> io::Result<()> {
        self.u64(value.to_bits())
    }

    fn str(&mut self, text: &str) -> io::Result<()> {
        self.u32(length(text.len())?)?;
        self.bytes(text.as_bytes())
    }

    fn option<const N: usize>(&mut self, value: Option<[u8; N]>) -> io::Result<()> {
        match value {
            None => self.bytes(&[0]),
            Some(bytes) => {
                self.bytes(&[1])?;
                self.bytes(&bytes)
            }
        }
    }

    /// The hash of everything written so far (itself included in later hashes).
    fn checksum(&mut self) -> io::Result<()> {
        let sum = self.hash.0;
        self.u64(sum)
    }

    fn run(&mut self, run: &RunResult) -> io::Result<()> {
        self.u64(run.seed)?;
        self.u64(run.measured.as_nanos())?;
        let c = &run.counts;
        for count in [c.arrived, c.completed, c.rejected, c.failed, c.in_flight] {
            self.u64(count)?;
        }
        self.f64(run.utilization)?;
        self.figures(&run.figures)?;
        self.servers(&run.servers)?;
        self.servers(&run.database)?;
        self.u32(length(run.events.len())?)?;
        for event in &run.events {
            self.u64(event.time.as_nanos())?;
            self.str(&event.server)?;
            self.str(event.from)?;
            self.str(event.to)?;
            self.str(event.reason)?;
            self.str(&event.detail)?;
        }
        self.latency(&run.latency)?;
        self.latency(&run.wait)?;
        self.records(&run.series)?;
        self.records(&run.intervals)?;
        self.records(&run.database_series)?;
        self.records(&run.tier_times)
    }

    fn servers(&mut self, servers: &[ServerSummary]) -> io::Result<()> {
        self.u32(length(servers.len())?)?;
        for server in servers {
            self.str(&server.name)?;
            self.str(&server.group)?;
            self.str(&server.zone)?;
            self.u64(server.completions)?;
            self.f64(server.utilization)?;
        }
        Ok(())
    }

    fn figures(&mut self, figures: &Figures) -> io::Result<()> {
        self.u32(length(FIGURES.len())?)?;
        for (declaration, value) in FIGURES.iter().zip(figures.values()) {
            self.str(declaration.name)?;
            self.option(value.map(|v| v.to_bits().to_le_bytes()))?;
        }
        Ok(())
    }

    fn latency(&mut self, stats: &LatencyStats) -> io::Result<()> {
        let parts = stats.to_parts();
        self.bytes(&parts.sum_nanos.to_le_bytes())?;
        self.u64(parts.max_nanos)?;
        self.u64(parts.buckets.len() as u64)?;
        for (value, count) in parts.buckets {
            self.u64(value)?;
            self.u64(count)?;
        }
        Ok(())
    }

    fn records<T: Spillable + Clone>(&mut self, records: &SpillVec<T>) -> io::Result<()> {
        self.u32(length(T::BYTES)?)?;
        self.u64(records.len())?;
        let mut bytes = vec![0u8; T::BYTES];
        records.for_each(|record| {
            record.encode(&mut bytes);
            self.bytes(&bytes)
        })
    }
}

/// Reads a shard file as a stream: the header when opened, then one task at a time.
pub struct ShardReader<R> {
    decoder: Decoder<R>,
    header: ShardHeader,
    /// Tasks not yet read; `None` once the trailing checksum has been verified.
    remaining: Option<u64>,
}

impl<R: Read> ShardReader<R> {
    /// Reads and checks the header (magic, format version, header checksum).
    pub fn open(input: R) -> Result<Self, ReadError> {
        let mut decoder = Decoder {
            input,
            hash: Fnv::new(),
        };
        let mut magic = [0u8; 8];
        decoder
            .bytes(&mut magic)
            .map_err(|_| invalid("not a shard file (too short)"))?;
        if &magic != MAGIC {
            return Err(invalid("not a shard file (no LBSIMSHD signature)"));
        }
        let version = decoder.u32()?;
        if version != FORMAT_VERSION {
            return Err(invalid(format!(
                "shard format version {version}; this lbsim reads version {FORMAT_VERSION}"
            )));
        }
        let lbsim_version = decoder.str()?;
        let (k, n) = (decoder.u32()?, decoder.u32()?);
        let names = decoder.u32()?;
        let mut run_scenarios = Vec::new();
        for _ in 0..names {
            run_scenarios.push(decoder.str()?);
        }
        let scenario_index = decoder.u32()?;
        let first_task = decoder.u64()?;
        let task_count = decoder.u64()?;
        let scenario_path = decoder.str()?;
        let scenario_source = decoder.str()?;
        let seed = decoder.option::<8>()?.map(u64::from_le_bytes);
        let replications = decoder.option::<4>()?.map(u32::from_le_bytes);
        decoder.checksum("header")?;
        let shard = Shard::new(k, n).map_err(|e| invalid(format!("shard {e}")))?;
        if replications == Some(0) {
            return Err(invalid("a run with --replications 0"));
        }
        if scenario_index as usize >= run_scenarios.len() {
            return Err(invalid(format!(
                "scenario #{scenario_index} of a run of {} scenarios",
                run_scenarios.len()
            )));
        }
        let header = ShardHeader {
            lbsim_version,
            shard,
            run_scenarios,
            scenario_index,
            first_task,
            task_count,
            scenario_path,
            scenario_source,
            seed,
            replications,
        };
        let tasks = decoder.u64()?;
        Ok(ShardReader {
            decoder,
            header,
            remaining: Some(tasks),
        })
    }

    pub fn header(&self) -> &ShardHeader {
        &self.header
    }

    /// The next task (index within the scenario, result); `None` after the last one, once
    /// the file's checksum has been verified and nothing follows it.
    pub fn next_task(&mut self) -> Result<Option<(u64, RunResult)>, ReadError> {
        match self.remaining {
            None => Ok(None),
            Some(0) => {
                self.decoder.checksum("file")?;
                let mut extra = [0u8; 1];
                if self.decoder.input.read(&mut extra)? != 0 {
                    return Err(invalid("unexpected bytes after the end of the shard"));
                }
                self.remaining = None;
                Ok(None)
            }
            Some(n) => {
                self.remaining = Some(n - 1);
                let index = self.decoder.u64()?;
                Ok(Some((index, self.decoder.run()?)))
            }
        }
    }
}

struct Decoder<R> {
    input: R,
    hash: Fnv,
}

/// The check of a time-series row of a run of `count` `what` (servers, database nodes):
/// it names one of them.
fn rows_of(count: usize, what: &'static str) -> impl Fn(&SeriesRow) -> Result<(), ReadError> {
    move |row| {
        if row.server.index() < count {
            Ok(())
        } else {
            Err(invalid(format!(
                "a time-series row of #{} in a run of {count} {what}",
                row.server.0
            )))
        }
    }
}

impl<R: Read> Decoder<R> {
    fn bytes(&mut self, buffer: &mut [u8]) -> Result<(), ReadError> {
        self.input.read_exact(buffer)?;
        self.hash.update(buffer);
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut buffer = [0u8; N];
        self.bytes(&mut buffer)?;
        Ok(buffer)
    }

    fn u32(&mut self) -> Result<u32, ReadError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, ReadError> {
        self.array().map(u64::from_le_bytes)
    }

    fn f64(&mut self) -> Result<f64, ReadError> {
        self.u64().map(f64::from_bits)
    }

    fn str(&mut self) -> Result<String, ReadError> {
        let len = self.u32()?;
        // Grows with what is actually there: a corrupted length cannot allocate gigabytes.
        let mut bytes = Vec::new();
        (&mut self.input)
            .take(u64::from(len))
            .read_to_end(&mut bytes)?;
        if bytes.len() != len as usize {
            return Err(ReadError::Truncated);
        }
        self.hash.update(&bytes);
        String::from_utf8(bytes).map_err(|_| invalid("text that is not UTF-8"))
    }

    fn option<const N: usize>(&mut self) -> Result<Option<[u8; N]>, ReadError> {
        match self.array::<1>()? {
            [0] => Ok(None),
            [1] => self.array().map(Some),
            [tag] => Err(invalid(format!("option tag {tag}"))),
        }
    }

    fn checksum(&mut self, what: &str) -> Result<(), ReadError> {
        let expected = self.hash.0;
        if self.u64()? == expected {
            Ok(())
        } else {
            Err(invalid(format!(
                "{what} checksum mismatch: the file is corrupted"
            )))
        }
    }

    fn run(&mut self) -> Result<RunResult, ReadError> {
        let seed = self.u64()?;
        let measured = SimDuration::from_nanos(self.u64()?);
        let counts = Counts {
            arrived: self.u64()?,
            completed: self.u64()?,
            rejected: self.u64()?,
            failed: self.u64()?,
            in_flight: self.u64()?,
        };
        let utilization = self.f64()?;
        let figures = self.figures()?;
        let servers = self.servers()?;
        let database = self.servers()?;
        let mut events = Vec::new();
        for _ in 0..self.u32()? {
            events.push(ClusterEvent {
                time: SimTime::from_nanos(self.u64()?),
                server: self.str()?,
                from: self.name(STATE_NAMES, "server state")?,
                to: self.name(STATE_NAMES, "server state")?,
                reason: self.name(REASON_NAMES, "reason for a change")?,
                detail: self.str()?,
            });
        }
        let latency = self.latency()?;
        let wait = self.latency()?;
        let series = self.records(rows_of(servers.len(), "servers"))?;
        let intervals = self.records(|_: &IntervalTotals| Ok(()))?;
        let database_series = self.records(rows_of(database.len(), "database nodes"))?;
        let tier_times = self.records(|_: &TierTimes| Ok(()))?;
        Ok(RunResult {
            seed,
            measured,
            counts,
            latency,
            wait,
            utilization,
            servers,
            database,
            series,
            intervals,
            database_series,
            tier_times,
            events,
            figures,
        })
    }

    /// A name read back as the `&'static str` of `names` it equals.
    fn name(&mut self, names: &[&'static str], what: &str) -> Result<&'static str, ReadError> {
        let name = self.str()?;
        known_name(names, &name).ok_or_else(|| {
            invalid(format!(
                "unknown {what} {name:?}: the shard comes from another lbsim"
            ))
        })
    }

    /// The figures table, refused unless it names this lbsim's figures in its order.
    fn servers(&mut self) -> Result<Vec<ServerSummary>, ReadError> {
        let mut servers = Vec::new();
        for _ in 0..self.u32()? {
            servers.push(ServerSummary {
                name: self.str()?,
                group: self.str()?,
                zone: self.str()?,
                completions: self.u64()?,
                utilization: self.f64()?,
            });
        }
        Ok(servers)
    }

    fn figures(&mut self) -> Result<Figures, ReadError> {
        let count = self.u32()?;
        if count as usize != FIGURES.len() {
            return Err(invalid(format!(
                "{count} figures where this lbsim has {}: the shard comes from another lbsim",
                FIGURES.len()
            )));
        }
        let mut values = [None; FIGURES.len()];
        for (slot, declaration) in values.iter_mut().zip(&FIGURES) {
            let name = self.str()?;
            if name != declaration.name {
                return Err(invalid(format!(
                    "figure {name:?} where this lbsim has {:?}: the shard comes from another lbsim",
                    declaration.name
                )));
            }
            *slot = self
                .option::<8>()?
                .map(|bits| f64::from_bits(u64::from_le_bytes(bits)));
            if declaration.kind == Kind::Count && slot.is_none() {
                return Err(invalid(format!("count {name:?} without a value")));
            }
        }
        Ok(Figures::from_values(values))
    }

    fn latency(&mut self) -> Result<LatencyStats, ReadError> {
        let sum_nanos = u128::from_le_bytes(self.array()?);
        let max_nanos = self.u64()?;
        let mut buckets = Vec::new();
        for _ in 0..self.u64()? {
            buckets.push((self.u64()?, self.u64()?));
        }
        LatencyStats::from_parts(&LatencyParts {
            buckets,
            sum_nanos,
            max_nanos,
        })
        .map_err(invalid)
    }

    /// Streams records into a [`SpillVec`], checking each with `check`.
    fn records<T: Spillable>(
        &mut self,
        check: impl Fn(&T) -> Result<(), ReadError>,
    ) -> Result<SpillVec<T>, ReadError> {
        let size = self.u32()?;
        if size as usize != T::BYTES {
            return Err(invalid(format!(
                "records of {size} bytes where this lbsim's are {}",
                T::BYTES
            )));
        }
        let mut records = SpillVec::default();
        let mut bytes = vec![0u8; T::BYTES];
        for _ in 0..self.u64()? {
            self.bytes(&mut bytes)?;
            let record = T::decode(&bytes);
            check(&record)?;
            records.push(record);
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ServerId;
    use crate::stats::{Instances, IntervalCounts, Percentiles};

    fn header() -> ShardHeader {
        ShardHeader {
            lbsim_version: "0.1.0".into(),
            shard: Shard::new(2, 3).unwrap(),
            run_scenarios: vec!["a".into(), "small".into()],
            scenario_index: 1,
            first_task: 8,
            task_count: 4,
            scenario_path: "scenarios/small.toml".into(),
            scenario_source: "name = \"small\"\n# é\n".into(),
            seed: Some(7),
            replications: None,
        }
    }

    /// A change of `server` just after `seconds`, naming states and reason by position.
    fn event(seconds: u64, server: &str, from: usize, to: usize, reason: usize) -> ClusterEvent {
        ClusterEvent {
            time: SimTime::from_nanos(seconds * 1_000_000_000 + 7),
            server: server.into(),
            from: STATE_NAMES[from],
            to: STATE_NAMES[to],
            reason: REASON_NAMES[reason],
            detail: if reason == 10 {
                "2 -> 3 cpu=0.812".to_string()
            } else {
                String::new()
            },
        }
    }

    /// Every figure applicable, with a value of its own.
    fn figures() -> Figures {
        let mut figures = Figures::default();
        for (i, declaration) in FIGURES.iter().enumerate() {
            match declaration.kind {
                Kind::Count => figures.add(declaration.figure, 3 + i as u64),
                Kind::Real { .. } => figures.set(declaration.figure, 1.0 / (3.0 + i as f64)),
            }
        }
        figures
    }

    fn run(rows: u32) -> RunResult {
        let mut latency = LatencyStats::new();
        let mut wait = LatencyStats::new();
        for ms in 1..50 {
            latency.record(SimDuration::from_millis(ms));
            wait.record(SimDuration::from_nanos(ms * 7919));
        }
        let mut series = SpillVec::default();
        let mut intervals = SpillVec::default();
        let mut database_series = SpillVec::default();
        let mut tier_times = SpillVec::default();
        for i in 0..rows {
            let time = SimTime::from_nanos(u64::from(i / 2 + 1) * 1_000_000_000);
            series.push(SeriesRow {
                time,
                server: ServerId(i % 2),
                queue_length: i % 5,
                busy_workers: 1,
                utilization: f64::from(i) / 7.0,
                completions: i,
                latency_ms: (i % 3 != 0).then_some(Percentiles {
                    p50: 1.0 / 3.0,
                    p90: 2.5,
                    p99: f64::from(i),
                }),
                counts: IntervalCounts {
                    arrivals: i + 1,
                    rejected: i % 2,
                    failed: i % 3,
                },
                in_flight: i % 4,
                state: ["ready", "draining", "down"][i as usize % 3],
                health: ["healthy", "ejected"][i as usize % 2],
            });
            if i % 2 == 1 {
                database_series.push(SeriesRow {
                    time,
                    server: ServerId(0),
                    queue_length: i % 3,
                    busy_workers: 4,
                    utilization: f64::from(i) / 11.0,
                    completions: 2 * i,
                    latency_ms: None,
                    counts: IntervalCounts {
                        arrivals: 2 * i + 1,
                        rejected: 0,
                        failed: 1,
                    },
                    in_flight: 5,
                    state: ["ready", "down"][i as usize % 4 / 2],
                    health: ["primary", ""][i as usize % 4 / 2],
                });
                tier_times.push(TierTimes {
                    time,
                    completions: i,
                    response_ns: u128::from(i) * 9_000_001,
                    database_ns: u128::from(i) * 4_000_003,
                });
                intervals.push(IntervalTotals {
                    time,
                    counts: IntervalCounts {
                        arrivals: 2 * i,
                        rejected: 1,
                        failed: 0,
                    },
                    completions: i,
                    in_flight: 3,
                    queue_length: i % 5,
                    busy_workers: 2,
                    utilization: 0.75,
                    latency_ms: None,
                    instances: Instances {
                        provisioning: i % 3,
                        ready: 4,
                        draining: i % 2,
                    },
                    capacity: 400.0 + f64::from(i),
                });
            }
        }
        RunResult {
            seed: 99,
            measured: SimDuration::from_secs(55),
            counts: Counts {
                arrived: 10,
                completed: 7,
                rejected: 1,
                failed: 1,
                in_flight: 1,
            },
            latency,
            wait,
            utilization: 0.1 + 0.2,
            servers: ["web-0", "web-1"]
                .iter()
                .map(|name| ServerSummary {
                    name: (*name).into(),
                    group: "web".into(),
                    zone: "a".into(),
                    completions: 3,
                    utilization: 1.0 / 3.0,
                })
                .collect(),
            database: vec![ServerSummary {
                name: "db-s0-primary".into(),
                group: "db-s0".into(),
                zone: String::new(),
                completions: 5,
                utilization: 0.25,
            }],
            series,
            intervals,
            database_series,
            tier_times,
            events: if rows > 0 {
                vec![
                    event(3, "web-0", 2, 3, 0),
                    event(3, "web-1", 2, 4, 3),
                    event(9, "web-1", 4, 1, 4),
                    event(12, "web-2", 0, 1, 7),
                    ClusterEvent {
                        from: "replica",
                        to: "primary",
                        reason: "promotion",
                        ..event(13, "db-s0-replica-0", 0, 0, 0)
                    },
                ]
            } else {
                Vec::new()
            },
            figures: figures(),
        }
    }

    fn encode(tasks: &[(u64, RunResult)]) -> Vec<u8> {
        let mut bytes = Vec::new();
        write(&mut bytes, &header(), tasks).unwrap();
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<(ShardHeader, Vec<(u64, RunResult)>), ReadError> {
        let mut reader = ShardReader::open(bytes)?;
        let mut tasks = Vec::new();
        while let Some(task) = reader.next_task()? {
            tasks.push(task);
        }
        Ok((reader.header().clone(), tasks))
    }

    fn rows<T: Spillable + Copy>(records: &SpillVec<T>) -> Vec<T> {
        let mut all = Vec::new();
        records
            .for_each(|r| {
                all.push(*r);
                Ok(())
            })
            .unwrap();
        all
    }

    #[test]
    fn a_shard_round_trips_every_field_exactly() {
        // Enough rows for the series to spill to disk on both sides.
        let tasks = vec![(1, run(40_000)), (3, run(0))];
        let (header_back, back) = decode(&encode(&tasks)).unwrap();
        assert_eq!(header_back, header());
        assert_eq!(back.len(), 2);
        for ((index, original), (index_back, run_back)) in tasks.iter().zip(&back) {
            assert_eq!(index, index_back);
            assert_eq!(run_back.seed, original.seed);
            assert_eq!(run_back.measured, original.measured);
            assert_eq!(run_back.counts, original.counts);
            assert_eq!(
                run_back.utilization.to_bits(),
                original.utilization.to_bits()
            );
            assert_eq!(run_back.servers, original.servers);
            assert_eq!(run_back.database, original.database);
            assert_eq!(run_back.latency.to_parts(), original.latency.to_parts());
            assert_eq!(run_back.wait.to_parts(), original.wait.to_parts());
            assert_eq!(rows(&run_back.series), rows(&original.series));
            assert_eq!(rows(&run_back.intervals), rows(&original.intervals));
            assert_eq!(
                rows(&run_back.database_series),
                rows(&original.database_series)
            );
            assert_eq!(rows(&run_back.tier_times), rows(&original.tier_times));
            assert_eq!(run_back.events, original.events);
            assert_eq!(run_back.figures, original.figures);
        }
        assert_eq!(back[0].1.events.len(), 5);
    }

    #[test]
    fn an_unknown_state_or_reason_is_an_error_naming_it() {
        let mut odd = run(0);
        odd.events.push(ClusterEvent {
            from: "sleeping",
            ..event(1, "web-0", 0, 2, 0)
        });
        let error = decode(&encode(&[(0, odd)])).unwrap_err();
        assert!(
            error.to_string().contains("server state \"sleeping\""),
            "{error}"
        );
        let mut odd = run(0);
        odd.events.push(ClusterEvent {
            reason: "whim",
            ..event(1, "web-0", 0, 2, 0)
        });
        let error = decode(&encode(&[(0, odd)])).unwrap_err();
        assert!(
            error.to_string().contains("reason for a change \"whim\""),
            "{error}"
        );
    }

    #[test]
    fn figures_of_another_lbsim_are_refused() {
        let bytes = encode(&[(0, run(0))]);
        // The first task follows the header and the task count; its figures follow its
        // index, seed, measured time, five counts and utilization.
        let task = encode(&[]).len() - 8;
        let at = task + 8 * 9;
        let mut ours = Vec::new();
        Encoder {
            out: &mut ours,
            hash: Fnv::new(),
        }
        .figures(&figures())
        .unwrap();
        assert!(bytes[at..].starts_with(&ours));
        let mut foreign = bytes[..at].to_vec();
        let mut encoder = Encoder {
            out: &mut foreign,
            hash: Fnv::new(),
        };
        encoder.u32(1).unwrap();
        encoder.str("bogus_figure").unwrap();
        encoder.option::<8>(None).unwrap();
        foreign.extend_from_slice(&bytes[at + ours.len()..bytes.len() - 8]);
        let mut hash = Fnv::new();
        hash.update(&foreign);
        foreign.extend(hash.0.to_le_bytes());
        let error = decode(&foreign).unwrap_err();
        assert!(error.to_string().contains("another lbsim"), "{error}");
    }

    #[test]
    fn an_empty_shard_is_a_header_and_no_tasks() {
        let (header_back, tasks) = decode(&encode(&[])).unwrap();
        assert_eq!(header_back, header());
        assert!(tasks.is_empty());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode(&[(1, run(6))]);
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "{len} of {} bytes",
                bytes.len()
            );
        }
        assert!(matches!(
            decode(&bytes[..bytes.len() - 3]),
            Err(ReadError::Truncated)
        ));
    }

    #[test]
    fn every_changed_byte_is_an_error_not_a_panic() {
        let bytes = encode(&[(1, run(6))]);
        for at in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut corrupted = bytes.clone();
                corrupted[at] ^= flip;
                assert!(decode(&corrupted).is_err(), "byte {at} ^ {flip:#x}");
            }
        }
    }

    #[test]
    fn bytes_after_the_end_are_an_error() {
        let mut bytes = encode(&[]);
        bytes.push(0);
        let error = decode(&bytes).unwrap_err();
        assert!(error.to_string().contains("after the end"), "{error}");
    }

    #[test]
    fn another_file_or_format_version_is_refused_by_name() {
        let error = decode(b"summary.csv,variant\n").unwrap_err();
        assert!(error.to_string().contains("not a shard file"), "{error}");
        let mut bytes = encode(&[]);
        let next = FORMAT_VERSION + 1;
        bytes[8..12].copy_from_slice(&next.to_le_bytes());
        let error = decode(&bytes).unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&format!("format version {next}")),
            "{error}"
        );
    }
}
