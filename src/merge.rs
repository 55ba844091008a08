//! `lbsim merge`: shard files back into the results of one run.
//!
//! Merging happens in two passes so that nothing is read in bulk, and nothing written, until
//! the shards are known to fit together:
//! 1. [`plan`] finds the shard files, reads only their headers (which carry their own
//!    checksum) and checks that they make up one whole run: one lbsim version, one N, one
//!    list of scenarios, the same overrides; per scenario every K from 1 to N exactly once,
//!    the same scenario text and path; and that text still validates.
//! 2. [`Merge::read`] streams every shard's runs into place — each must be a task of its
//!    shard, once, with the seed that task has — and verifies each file's checksum.
//!
//! The result is the same `ScenarioResults` a single run collects, so the caller writes it
//! with the very code a single run uses, and the files are byte-identical. Every problem
//! found is reported, each naming the file or the scenario and shard it concerns.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::engine::derive_seed;
use crate::report::ScenarioResults;
use crate::scenario::Scenario;
use crate::shard::{ReadError, Shard, ShardHeader, ShardReader, file_name, is_shard_file_name};
use crate::stats::RunResult;

/// Shard files that do not make up one run, or cannot be read: one message per problem.
#[derive(Debug)]
pub struct MergeError(pub Vec<String>);

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.join("\n"))
    }
}

impl std::error::Error for MergeError {}

/// A checked set of shard files: the run's scenarios and, per scenario, its shard files.
pub struct Merge {
    scenarios: Vec<Scenario>,
    shards: Vec<ScenarioShards>,
}

/// The shard files of one scenario, by K, and the header they share (K aside).
struct ScenarioShards {
    files: Vec<PathBuf>,
    header: ShardHeader,
}

/// Finds every shard file under `paths` and checks that they make up one whole run.
///
/// A path is a shard file, or a folder searched for `shard-*.lbsim` in itself and in each
/// folder directly inside it (`DIR/<scenario>/shard-K-of-N.lbsim`, as `lbsim run --shard`
/// writes them).
pub fn plan(paths: &[PathBuf]) -> Result<Merge, MergeError> {
    let files = find_shard_files(paths)?;
    let mut problems = Vec::new();
    let mut headers = Vec::new();
    for path in files {
        match read_header(&path) {
            Ok(header) => headers.push((path, header)),
            Err(error) => problems.push(format!("{}: {error}", path.display())),
        }
    }
    let Some((first_path, first)) = headers.first() else {
        return Err(MergeError(problems));
    };
    let (first_path, first) = (first_path.clone(), first.clone());
    for (path, header) in &headers[1..] {
        if let Some((this, that)) = run_difference(header, &first) {
            problems.push(format!(
                "{} ({this}) and {} ({that}) are not shards of one run",
                path.display(),
                first_path.display()
            ));
        }
    }
    let current = env!("CARGO_PKG_VERSION");
    if first.lbsim_version != current {
        problems.push(format!(
            "{}: simulated by lbsim {}, and this is lbsim {current}: merge with the version \
             that ran the shards",
            first_path.display(),
            first.lbsim_version
        ));
    }
    if !problems.is_empty() {
        return Err(MergeError(problems));
    }

    let mut by_scenario: Vec<Vec<(PathBuf, ShardHeader)>> =
        first.run_scenarios.iter().map(|_| Vec::new()).collect();
    for (path, header) in headers {
        by_scenario[header.scenario_index as usize].push((path, header));
    }
    let mut scenarios = Vec::new();
    let mut shards = Vec::new();
    // Where the next scenario's tasks start; unknown after a scenario with problems.
    let mut next_task = Some(0u64);
    for (name, found) in first.run_scenarios.iter().zip(by_scenario) {
        match check_scenario(name, found, first.shard.count(), next_task) {
            Ok((scenario, group)) => {
                // Known only when this scenario's first task was checked against it.
                next_task = next_task.map(|_| group.header.first_task + group.header.task_count);
                scenarios.push(scenario);
                shards.push(group);
            }
            Err(mut found) => {
                next_task = None;
                problems.append(&mut found);
            }
        }
    }
    if problems.is_empty() {
        Ok(Merge { scenarios, shards })
    } else {
        Err(MergeError(problems))
    }
}

/// Every shard file under `paths`, each folder's in name order.
fn find_shard_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, MergeError> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
        } else if path.is_dir() {
            let found = shard_files_in(path).and_then(|mut found| {
                for folder in folders_in(path)? {
                    found.extend(shard_files_in(&folder)?);
                }
                Ok(found)
            });
            match found {
                Ok(found) => files.extend(found),
                Err(error) => problems.push(format!("{}: cannot read: {error}", path.display())),
            }
        } else {
            problems.push(format!("{}: no such file or folder", path.display()));
        }
    }
    if files.is_empty() && problems.is_empty() {
        let listed: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        problems.push(format!(
            "{}: no shard files (<scenario>/shard-K-of-N.lbsim) found",
            listed.join(" ")
        ));
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(MergeError(problems))
    }
}

fn sorted_entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if keep(&path) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn shard_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    sorted_entries(dir, |path| {
        path.is_file()
            && path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(is_shard_file_name)
    })
}

fn folders_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    sorted_entries(dir, Path::is_dir)
}

fn read_header(path: &Path) -> Result<ShardHeader, ReadError> {
    let file = File::open(path)?;
    Ok(ShardReader::open(BufReader::new(file))?.header().clone())
}

/// How `header`'s run differs from `first`'s, if it does: what each says.
fn run_difference(header: &ShardHeader, first: &ShardHeader) -> Option<(String, String)> {
    let overrides = |h: &ShardHeader| {
        let seed = h.seed.map_or("no --seed".into(), |s| format!("--seed {s}"));
        let replications = h.replications.map_or("no --replications".into(), |r| {
            format!("--replications {r}")
        });
        format!("{seed}, {replications}")
    };
    let scenarios = |h: &ShardHeader| format!("scenarios {}", h.run_scenarios.join(", "));
    let describe: [&dyn Fn(&ShardHeader) -> String; 4] = [
        &|h| format!("lbsim {}", h.lbsim_version),
        &|h| format!("N = {}", h.shard.count()),
        &scenarios,
        &overrides,
    ];
    describe
        .iter()
        .map(|describe| (describe(header), describe(first)))
        .find(|(this, that)| this != that)
}

/// Checks one scenario's shard files — every K once, one scenario text — and validates the
/// scenario again from its saved text.
fn check_scenario(
    name: &str,
    found: Vec<(PathBuf, ShardHeader)>,
    n: u32,
    expected_first_task: Option<u64>,
) -> Result<(Scenario, ScenarioShards), Vec<String>> {
    let mut problems = Vec::new();
    let Some((first_path, first)) = found.first().cloned() else {
        return Err(vec![format!(
            "{name}: no shard files found: every shard ({}, ...) is missing",
            file_name(1, n)
        )]);
    };
    let mut by_k: BTreeMap<u32, PathBuf> = BTreeMap::new();
    for (path, header) in found {
        let k = header.shard.index();
        if let Some(other) = by_k.get(&k) {
            problems.push(format!(
                "{name}: shard {k} of {n} found twice: {} and {}",
                other.display(),
                path.display()
            ));
            continue;
        }
        if header.scenario_source != first.scenario_source {
            problems.push(format!(
                "{name}: {} ran a different scenario text than {}",
                path.display(),
                first_path.display()
            ));
        } else if header.scenario_path != first.scenario_path {
            problems.push(format!(
                "{name}: {} ran the scenario file {}, and {} ran {}",
                path.display(),
                header.scenario_path,
                first_path.display(),
                first.scenario_path
            ));
        } else if (header.first_task, header.task_count) != (first.first_task, first.task_count) {
            problems.push(format!(
                "{name}: {} numbers its tasks differently from {}",
                path.display(),
                first_path.display()
            ));
        }
        by_k.insert(k, path);
    }
    let missing: Vec<u32> = (1..=n).filter(|k| !by_k.contains_key(k)).take(10).collect();
    if !missing.is_empty() {
        let absent = n as usize - by_k.len();
        let listed: Vec<String> = missing.iter().map(u32::to_string).collect();
        let more = if absent > missing.len() {
            format!(" and {} more", absent - missing.len())
        } else {
            String::new()
        };
        let (noun, expected) = if absent == 1 {
            ("shard", format!(" (expected {})", file_name(missing[0], n)))
        } else {
            ("shards", String::new())
        };
        problems.push(format!(
            "{name}: missing {noun} {}{more} of {n}{expected}",
            listed.join(", ")
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let scenario = Scenario::from_source(&first.scenario_source, Path::new(&first.scenario_path))
        .map_err(|errors| {
        vec![format!(
            "{name}: the scenario saved in {} no longer validates:\n{errors}",
            first_path.display()
        )]
    })?;
    let replications = first.replications.unwrap_or(scenario.replications);
    let task_count = scenario.variants.len() as u64 * u64::from(replications);
    if scenario.name != name {
        problems.push(format!(
            "{name}: the scenario saved in {} is now named {:?}",
            first_path.display(),
            scenario.name
        ));
    } else if first.task_count != task_count {
        problems.push(format!(
            "{name}: {} counts {} tasks, and the scenario has {task_count} \
             ({} variants × {replications} replications)",
            first_path.display(),
            first.task_count,
            scenario.variants.len()
        ));
    } else if let Some(expected) = expected_first_task
        && first.first_task != expected
    {
        problems.push(format!(
            "{name}: {} starts at task {}, and the scenarios before it end at {expected}",
            first_path.display(),
            first.first_task
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((
        scenario,
        ScenarioShards {
            files: by_k.into_values().collect(),
            header: first,
        },
    ))
}

impl Merge {
    /// Reads every run into its place: `runs[variant][replication]` per scenario, as a
    /// single run collects them.
    pub fn read(&self) -> Result<Vec<ScenarioResults<'_>>, MergeError> {
        let mut problems = Vec::new();
        let mut results = Vec::new();
        for (scenario, shards) in self.scenarios.iter().zip(&self.shards) {
            match read_scenario(scenario, shards) {
                Ok(runs) => results.push(ScenarioResults { scenario, runs }),
                Err(mut found) => problems.append(&mut found),
            }
        }
        if problems.is_empty() {
            Ok(results)
        } else {
            Err(MergeError(problems))
        }
    }
}

fn read_scenario(
    scenario: &Scenario,
    shards: &ScenarioShards,
) -> Result<Vec<Vec<RunResult>>, Vec<String>> {
    let header = &shards.header;
    let replications = header.replications.unwrap_or(scenario.replications);
    let master = header.seed.unwrap_or(scenario.seed);
    // The count was checked against the validated scenario: no allocation on a file's word.
    let mut slots: Vec<Option<RunResult>> = (0..header.task_count).map(|_| None).collect();
    let mut problems = Vec::new();
    for path in &shards.files {
        let placed = read_shard(path, header, &mut |index, shard, run| {
            let slot = usize::try_from(index)
                .ok()
                .and_then(|i| slots.get_mut(i))
                .ok_or_else(|| {
                    format!("task {index} of a scenario of {} tasks", header.task_count)
                })?;
            if !shard.owns(header.first_task + index) {
                return Err(format!("task {index}, which is not one of shard {shard}'s"));
            }
            if slot.is_some() {
                return Err(format!("task {index} a second time"));
            }
            let replication = (index % u64::from(replications)) as u32;
            let expected = derive_seed(master, replication);
            if run.seed != expected {
                return Err(format!(
                    "task {index} run with seed {}, where its seed is {expected}",
                    run.seed
                ));
            }
            *slot = Some(run);
            Ok(())
        });
        if let Err(problem) = placed {
            problems.push(format!("{}: {problem}", path.display()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let n = header.shard.count();
    let missing: Vec<String> = slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| slot.is_none())
        .map(|(index, _)| {
            let (variant, replication) =
                (index / replications as usize, index % replications as usize);
            let k = ((header.first_task + index as u64) % u64::from(n)) as u32 + 1;
            format!(
                "{}: task {index} (variant {}, replication {replication}) is missing from {}",
                scenario.name,
                scenario.variants[variant].label,
                file_name(k, n)
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut runs = slots.into_iter().flatten();
    Ok(scenario
        .variants
        .iter()
        .map(|_| runs.by_ref().take(replications as usize).collect())
        .collect())
}

/// Streams the runs of the shard file at `path` to `place`, after checking its header is
/// the one `plan` read; the file's checksum is verified after its last run.
fn read_shard(
    path: &Path,
    expected: &ShardHeader,
    place: &mut dyn FnMut(u64, Shard, RunResult) -> Result<(), String>,
) -> Result<(), String> {
    let file = File::open(path).map_err(|e| ReadError::from(e).to_string())?;
    let mut reader = ShardReader::open(BufReader::new(file)).map_err(|e| e.to_string())?;
    let header = reader.header().clone();
    let same_but_k = ShardHeader {
        shard: expected.shard,
        ..header.clone()
    };
    if same_but_k != *expected {
        return Err("changed while being merged".into());
    }
    while let Some((index, run)) = reader.next_task().map_err(|e| e.to_string())? {
        place(index, header.shard, run).map_err(|problem| format!("holds {problem}"))?;
    }
    Ok(())
}
