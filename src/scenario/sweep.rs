//! `[sweep]`: one variant of the scenario per combination of swept values.
//!
//! Expansion works on the parsed document, before serde sees it: each variant is a copy of
//! the document with every swept path set to one of its values (the value keeps its own
//! span, the one in `[sweep]`), then deserialized and validated like a file of its own.
//! So a bad swept value is reported exactly like a bad value written in place, at the
//! sweep's `line:col`, and a key the file leaves at its default (`workload.clients`) can be
//! swept like any other.
//!
//! A key takes a list of values or a range (`{ from = 100, to = 1000, step = 100 }`, see
//! `range.rs`). A range expands to literal text, which is parsed into values (the toml crate
//! builds values only by parsing) kept in an arena the caller owns; each value then carries
//! the range table's span, so from there on a range is a list like any other.
//!
//! Combinations form a cartesian product of *dimensions*, the first varying slowest: each
//! swept key is a dimension of its own, except keys linked by `together` (`together.rs`),
//! which form one dimension, in the position of their first key in file order, and take
//! their values in step. Labels and summary columns keep every key, in file order.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::range::{self, RANGE_KEYS};
use super::raw::{self, Key, Scalar, Shape, Step};
use super::suggest;
use super::together::{self, Named, TOGETHER};

/// More variants than this is almost certainly a mistake (each one is a full simulation
/// per replication), and would take the validator itself a long time to expand.
pub const MAX_VARIANTS: usize = 10_000;

/// A problem with `[sweep]` itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepError {
    pub offset: usize,
    pub path: String,
    pub message: String,
}

/// One swept key and its values.
#[derive(Clone, Debug)]
pub struct SweptKey<'i> {
    /// The dotted path as written (`servers.0.count`).
    pub path: String,
    /// Where the path leads in the document.
    steps: Vec<Step>,
    /// The span of the key in `[sweep]`, given to keys the sweep adds to the document.
    key_span: Range<usize>,
    /// The values, with their spans in `[sweep]`.
    values: Vec<Spanned<DeValue<'i>>>,
    /// Each value as summary.csv shows it.
    pub labels: Vec<String>,
    /// Whether every value is a number.
    pub numeric: bool,
}

/// The sweep of a document: the usable keys, and what was wrong with the others.
#[derive(Clone, Debug, Default)]
pub struct Sweep<'i> {
    pub keys: Vec<SweptKey<'i>>,
    /// For each key of `keys`, its dimension of the product: keys linked by `together`
    /// share one. Dimensions are numbered in the order of their first keys.
    dimensions: Vec<usize>,
    /// The number of values of each dimension.
    sizes: Vec<usize>,
    /// Keys declared in `[sweep]` but rejected (reported in `errors`): an expectation
    /// naming one is not reported again.
    pub rejected: Vec<String>,
    pub errors: Vec<SweepError>,
}

/// One combination: the document to deserialize and how to name it.
#[derive(Clone, Debug)]
pub struct VariantDocument<'i> {
    /// `key=value` pairs joined by `,`, or `base`.
    pub label: String,
    /// The value of each swept key, in key order.
    pub values: Vec<String>,
    /// The document with the values set and `[sweep]` removed.
    pub document: Spanned<DeTable<'i>>,
}

impl<'i> Sweep<'i> {
    /// Reads `[sweep]` from a document, checking every key against the file's shape and the
    /// document (a group index must exist), and every value list or range. The values of
    /// ranges are parsed from text written into `arena`, which must outlive the sweep.
    pub fn plan(document: &DeTable<'i>, arena: &'i mut String) -> Sweep<'i> {
        let mut sweep = Sweep::default();
        let Some(table) = document.get("sweep") else {
            return sweep;
        };
        let DeValue::Table(table) = table.get_ref() else {
            sweep.errors.push(SweepError {
                offset: table.span().start,
                path: "sweep".to_string(),
                message: format!(
                    "expected a table of \"dotted.key\" = [values], found {}",
                    table.get_ref().type_str()
                ),
            });
            return sweep;
        };
        let mut entries = Vec::new();
        flatten(table, None, &mut entries);
        let entries = sweep.expand_ranges(entries, arena);
        for (key, values) in entries {
            let path = key.get_ref().clone();
            match sweep.check(document, &key, &values) {
                Some(swept) => sweep.keys.push(swept),
                None => sweep.rejected.push(path),
            }
        }
        let groups = match table.get(TOGETHER) {
            Some(value) => sweep.link(value),
            None => Vec::new(),
        };
        sweep.set_dimensions(&groups);
        let count = sweep
            .sizes
            .iter()
            .try_fold(1usize, |n, &size| n.checked_mul(size));
        if count.is_none_or(|n| n > MAX_VARIANTS) {
            let shown = count.map_or_else(|| "too many".to_string(), |n| n.to_string());
            let offset = document.get("sweep").map_or(0, |s| s.span().start);
            sweep.errors.push(SweepError {
                offset,
                path: "sweep".to_string(),
                message: format!(
                    "the sweep makes {shown} variants, at most {MAX_VARIANTS} are allowed"
                ),
            });
            let keys = std::mem::take(&mut sweep.keys);
            sweep.rejected.extend(keys.into_iter().map(|k| k.path));
            sweep.set_dimensions(&[]);
        }
        sweep
    }

    /// Reads `together`: records its errors, rejects the keys of its bad groups, and
    /// returns its good groups as indices into the remaining `keys`.
    fn link(&mut self, value: &Spanned<DeValue<'i>>) -> Vec<Vec<usize>> {
        let named: Vec<Named<'_>> = self
            .keys
            .iter()
            .map(|k| Named {
                path: &k.path,
                count: k.values.len(),
            })
            .collect();
        let links = together::read(value, &named, &self.rejected);
        self.errors.extend(links.errors);
        // Index of each kept key after the rejected ones are taken out.
        let mut kept = Vec::with_capacity(self.keys.len());
        let mut next = 0;
        for index in 0..self.keys.len() {
            if links.rejected.contains(&index) {
                kept.push(None);
            } else {
                kept.push(Some(next));
                next += 1;
            }
        }
        let keys = std::mem::take(&mut self.keys);
        for (index, key) in keys.into_iter().enumerate() {
            if kept[index].is_some() {
                self.keys.push(key);
            } else {
                self.rejected.push(key.path);
            }
        }
        links
            .groups
            .iter()
            .map(|group| group.iter().filter_map(|&k| kept[k]).collect())
            .collect()
    }

    /// Numbers the dimensions: a key in none of `groups` is one of its own; a group is one,
    /// placed at its first key in file order.
    fn set_dimensions(&mut self, groups: &[Vec<usize>]) {
        self.dimensions.clear();
        self.sizes.clear();
        for (index, key) in self.keys.iter().enumerate() {
            let group = groups.iter().find(|g| g.contains(&index));
            let leader = group.and_then(|g| g.iter().copied().min()).unwrap_or(index);
            if leader < index {
                let dimension = self.dimensions[leader];
                self.dimensions.push(dimension);
            } else {
                self.dimensions.push(self.sizes.len());
                self.sizes.push(key.values.len());
            }
        }
    }

    /// Replaces every range entry by the list it stands for, or drops it (recording its
    /// errors and rejecting its key) when it is not a valid range.
    fn expand_ranges(
        &mut self,
        entries: Vec<(Spanned<String>, Spanned<DeValue<'i>>)>,
        arena: &'i mut String,
    ) -> Vec<(Spanned<String>, Spanned<DeValue<'i>>)> {
        // First every range's literals, in one TOML document: `r<index> = [...]`.
        for (index, (key, values)) in entries.iter().enumerate() {
            let DeValue::Table(table) = values.get_ref() else {
                continue;
            };
            let key_path =
                raw::display_path(&[Step::Key("sweep".into()), Step::Key(key.get_ref().clone())]);
            match range::expand(table, &values.span(), &key_path) {
                Ok(literals) => {
                    arena.push_str(&format!("r{index} = [{}]\n", literals.join(", ")));
                }
                Err(errors) => {
                    self.errors.extend(errors);
                    self.rejected.push(key.get_ref().clone());
                }
            }
        }
        let arena: &'i str = arena;
        let parsed = DeTable::parse(arena)
            .map(Spanned::into_inner)
            .unwrap_or_default();
        // Then each range entry becomes its list, every value spanning the range table.
        entries
            .into_iter()
            .enumerate()
            .filter_map(|(index, (key, values))| {
                if !matches!(values.get_ref(), DeValue::Table(_)) {
                    return Some((key, values));
                }
                let span = values.span();
                let Some(DeValue::Array(list)) = parsed
                    .get(format!("r{index}").as_str())
                    .map(Spanned::get_ref)
                else {
                    return None;
                };
                let list = list
                    .iter()
                    .map(|value| Spanned::new(span.clone(), value.get_ref().clone()))
                    .collect();
                Some((key, Spanned::new(span, DeValue::Array(list))))
            })
            .collect()
    }

    /// Checks one `"path" = [values]` entry; `None` (with errors recorded) when unusable.
    fn check(
        &mut self,
        document: &DeTable<'i>,
        key: &Spanned<String>,
        values: &Spanned<DeValue<'i>>,
    ) -> Option<SweptKey<'i>> {
        let path = key.get_ref();
        let key_path = raw::display_path(&[Step::Key("sweep".into()), Step::Key(path.clone())]);
        let errors_before = self.errors.len();
        let mut error = |offset: usize, path: String, message: String| {
            self.errors.push(SweepError {
                offset,
                path,
                message,
            });
        };
        let steps = match resolve(path, document) {
            Ok(steps) => Some(steps),
            Err(message) => {
                error(key.span().start, key_path.clone(), message);
                None
            }
        };
        if self.keys.iter().any(|k| k.path == *path) {
            error(
                key.span().start,
                key_path.clone(),
                "this key is swept twice".to_string(),
            );
        }
        let DeValue::Array(array) = values.get_ref() else {
            error(
                values.span().start,
                key_path,
                format!(
                    "expected an array of values, found {}",
                    values.get_ref().type_str()
                ),
            );
            return None;
        };
        if array.is_empty() {
            error(
                values.span().start,
                key_path.clone(),
                "expected at least one value".to_string(),
            );
        }
        let mut labels: Vec<String> = Vec::new();
        // First index of each label, to find duplicates in O(n log n).
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut numeric = true;
        for (index, value) in array.iter().enumerate() {
            let value_path = format!("{key_path}[{index}]");
            let Some(scalar) = Scalar::from_value(value.get_ref()) else {
                error(
                    value.span().start,
                    value_path,
                    format!(
                        "expected a string, number or boolean, found {}",
                        value.get_ref().type_str()
                    ),
                );
                continue;
            };
            numeric &= scalar.is_number();
            let label = scalar.to_string();
            if let Some(&first) = seen.get(&label) {
                error(
                    value.span().start,
                    value_path,
                    format!("duplicate value {label} (also at index {first})"),
                );
            } else {
                seen.insert(label.clone(), index);
            }
            labels.push(label);
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(SweptKey {
            path: path.clone(),
            steps: steps?,
            key_span: key.span(),
            values: array.iter().cloned().collect(),
            labels,
            numeric,
        })
    }

    /// The swept keys' paths, in file order.
    pub fn paths(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.path.clone()).collect()
    }

    /// For each swept key, in file order, its dimension of the product: keys that vary
    /// together share one.
    pub fn dimensions(&self) -> &[usize] {
        &self.dimensions
    }

    /// The index in `keys` of the swept key `path`.
    pub fn index_of(&self, path: &str) -> Option<usize> {
        self.keys.iter().position(|k| k.path == path)
    }

    /// The other keys that vary together with key `key` (by index), in file order.
    pub fn partners(&self, key: usize) -> Vec<usize> {
        let dimension = self.dimensions.get(key);
        (0..self.keys.len())
            .filter(|&k| k != key && self.dimensions.get(k) == dimension)
            .collect()
    }

    /// The number of variants: the product of the dimensions' value counts (1 without a
    /// sweep).
    pub fn variant_count(&self) -> usize {
        self.sizes.iter().product()
    }

    /// Variant `index` of [`Sweep::variant_count`]: the first dimension varies slowest.
    pub fn variant(&self, document: &Spanned<DeTable<'i>>, index: usize) -> VariantDocument<'i> {
        let mut table = document.clone();
        table.get_mut().remove("sweep");
        if self.keys.is_empty() {
            return VariantDocument {
                label: "base".to_string(),
                values: Vec::new(),
                document: table,
            };
        }
        let mut choices = vec![0; self.sizes.len()];
        let mut rest = index;
        for (choice, &size) in choices.iter_mut().zip(&self.sizes).rev() {
            let count = size.max(1);
            *choice = rest % count;
            rest /= count;
        }
        let mut values = Vec::with_capacity(self.keys.len());
        let mut pairs = Vec::with_capacity(self.keys.len());
        for (key, &dimension) in self.keys.iter().zip(&self.dimensions) {
            let choice = choices.get(dimension).copied().unwrap_or_default();
            let (Some(value), Some(label)) = (key.values.get(choice), key.labels.get(choice))
            else {
                continue;
            };
            set(table.get_mut(), &key.steps, &key.key_span, value.clone());
            pairs.push(format!("{}={label}", key.path));
            values.push(label.clone());
        }
        VariantDocument {
            label: pairs.join(","),
            values,
            document: table,
        }
    }
}

/// `"a.b" = [..]` and `a.b = [..]` (nested tables) both become the entry `a.b`; a joined
/// key spans from its first part to its last. A table is a range, not a level of nesting,
/// where the key names a single value of the file or the table holds a range key. The
/// reserved `together` of `[sweep]` itself is no entry.
fn flatten<'i>(
    table: &DeTable<'i>,
    prefix: Option<&Spanned<String>>,
    out: &mut Vec<(Spanned<String>, Spanned<DeValue<'i>>)>,
) {
    for (key, value) in table.iter() {
        if prefix.is_none() && key.get_ref() == TOGETHER {
            continue;
        }
        let key = match prefix {
            Some(prefix) => Spanned::new(
                prefix.span().start..key.span().end,
                format!("{}.{}", prefix.get_ref(), key.get_ref()),
            ),
            None => Spanned::new(key.span(), key.get_ref().to_string()),
        };
        match value.get_ref() {
            DeValue::Table(nested) if !is_range(key.get_ref(), nested) => {
                flatten(nested, Some(&key), out);
            }
            _ => out.push((key, value.clone())),
        }
    }
}

/// Whether a table swept under `path` is a range: `path` names a single value of the file
/// (`workload.rate`, `servers.0.count`), or the table holds `from`, `to` or `step`.
fn is_range(path: &str, table: &DeTable<'_>) -> bool {
    if table
        .iter()
        .any(|(k, _)| RANGE_KEYS.contains(&k.get_ref().as_ref()))
    {
        return true;
    }
    let mut keys: &[Key] = raw::SCENARIO_KEYS;
    let mut segments = path.split('.');
    while let Some(segment) = segments.next() {
        let Some(key) = keys.iter().find(|k| k.name == segment) else {
            return false;
        };
        match key.shape {
            Shape::Value | Shape::Scenario => return segments.next().is_none(),
            Shape::Table(sub_keys) => keys = sub_keys,
            Shape::Groups(sub_keys) => {
                if segments.next().is_none() {
                    return false;
                }
                keys = sub_keys;
            }
        }
    }
    false
}

/// Resolves a dotted sweep path against the file's shape ([`raw::SCENARIO_KEYS`]) and the
/// document: every key must be one the file may hold, every group index must exist, and
/// the path must end at a single value.
fn resolve(path: &str, document: &DeTable<'_>) -> Result<Vec<Step>, String> {
    let mut keys: &[Key] = raw::SCENARIO_KEYS;
    let mut table: Option<&DeTable<'_>> = Some(document);
    let mut steps = Vec::new();
    let mut walked = String::new();
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let Some(key) = keys.iter().find(|k| k.name == segment) else {
            let valid: Vec<&str> = keys
                .iter()
                .filter(|k| !matches!(k.shape, Shape::Scenario))
                .map(|k| k.name)
                .collect();
            let place = if walked.is_empty() {
                "the scenario".to_string()
            } else {
                format!("{walked:?}")
            };
            return Err(match raw::moved_key(segment) {
                Some(moved) => format!("{place} has no key {segment:?} to sweep; {moved}"),
                None => format!(
                    "{place} has no key {segment:?} to sweep, {}",
                    suggest::expected_one_of(segment, &valid)
                ),
            });
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(key.name);
        steps.push(Step::Key(key.name.to_string()));
        let value = table.and_then(|t| t.get(key.name)).map(|v| v.get_ref());
        let sub_keys = match key.shape {
            Shape::Scenario => {
                return Err(format!(
                    "{:?} applies to the whole scenario, not to one variant, so it cannot \
                     be swept",
                    key.name
                ));
            }
            Shape::Value => {
                return match segments.peek() {
                    None => Ok(steps),
                    Some(_) => Err(format!(
                        "{walked:?} is a single value, it has no keys below it"
                    )),
                };
            }
            Shape::Table(sub_keys) => {
                table = match value {
                    None => None,
                    Some(DeValue::Table(t)) => Some(t),
                    Some(other) => {
                        return Err(format!(
                            "{walked:?} is a {} in the file, not a table",
                            other.type_str()
                        ));
                    }
                };
                sub_keys
            }
            Shape::Groups(sub_keys) => {
                let example = sub_keys.get(1).or(sub_keys.first()).map_or("", |k| k.name);
                let groups: &[Spanned<DeValue<'_>>] = match value {
                    None => &[],
                    Some(DeValue::Array(array)) => array,
                    Some(other) => {
                        return Err(format!(
                            "{walked:?} is a {} in the file, not an array of tables",
                            other.type_str()
                        ));
                    }
                };
                let index_text = segments.next().unwrap_or_default();
                let canonical = index_text == "0"
                    || (!index_text.starts_with('0')
                        && !index_text.is_empty()
                        && index_text.bytes().all(|b| b.is_ascii_digit()));
                let index = index_text.parse::<usize>().ok().filter(|_| canonical);
                let Some(index) = index else {
                    return Err(format!(
                        "expected a group index after {walked:?} (like \"{walked}.0.{example}\"), \
                         found {index_text:?}"
                    ));
                };
                let Some(group) = groups.get(index) else {
                    let have = match groups.len() {
                        0 => format!("the file has no [[{walked}]]"),
                        1 => format!("the file has one [[{walked}]] group, {walked}.0"),
                        n => format!(
                            "the file has {n} [[{walked}]] groups, {walked}.0 to {walked}.{}",
                            n - 1
                        ),
                    };
                    return Err(format!("there is no group {walked}.{index}: {have}"));
                };
                let DeValue::Table(group) = group.get_ref() else {
                    return Err(format!(
                        "{walked}.{index} is a {} in the file, not a table",
                        group.get_ref().type_str()
                    ));
                };
                walked.push_str(&format!(".{index}"));
                steps.push(Step::Index(index));
                table = Some(group);
                sub_keys
            }
        };
        if segments.peek().is_none() {
            let example = sub_keys.first().map_or("", |k| k.name);
            return Err(format!(
                "{walked:?} is a table: sweep one of its keys, like \"{walked}.{example}\""
            ));
        }
        keys = sub_keys;
    }
    Err("expected a dotted key path".to_string())
}

/// Sets the value at `steps` (as resolved), adding the key (and any missing table on the
/// way) when the file leaves it out; added keys carry the sweep key's span.
fn set<'i>(
    table: &mut DeTable<'i>,
    steps: &[Step],
    key_span: &Range<usize>,
    value: Spanned<DeValue<'i>>,
) -> bool {
    match steps {
        [Step::Key(key)] => {
            match table.get_mut(key.as_str()) {
                Some(existing) => *existing = value,
                None => {
                    table.insert(
                        Spanned::new(key_span.clone(), Cow::Owned(key.clone())),
                        value,
                    );
                }
            }
            true
        }
        [Step::Key(key), Step::Index(index), rest @ ..] => {
            let Some(DeValue::Array(array)) = table.get_mut(key.as_str()).map(|v| v.get_mut())
            else {
                return false;
            };
            match array.get_mut(*index).map(|g| g.get_mut()) {
                Some(DeValue::Table(group)) => set(group, rest, key_span, value),
                _ => false,
            }
        }
        [Step::Key(key), rest @ ..] => {
            if table.get(key.as_str()).is_none() {
                table.insert(
                    Spanned::new(key_span.clone(), Cow::Owned(key.clone())),
                    Spanned::new(key_span.clone(), DeValue::Table(DeTable::new())),
                );
            }
            match table.get_mut(key.as_str()).map(|v| v.get_mut()) {
                Some(DeValue::Table(inner)) => set(inner, rest, key_span, value),
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan<'a>(source: &'a str, arena: &'a mut String) -> (Spanned<DeTable<'a>>, Sweep<'a>) {
        let document = DeTable::parse(source).expect("valid TOML");
        let sweep = Sweep::plan(document.get_ref(), arena);
        (document, sweep)
    }

    /// The plan's errors as `path: message`.
    fn messages(sweep: &Sweep<'_>) -> Vec<String> {
        sweep
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect()
    }

    fn resolve_error(source: &str, path: &str) -> String {
        let document = DeTable::parse(source).expect("valid TOML");
        resolve(path, document.get_ref()).expect_err("an error")
    }

    const BASE: &str = "duration = \"1s\"\n[workload]\nrate = 10\n[[servers]]\ncount = 2\n";

    #[test]
    fn no_sweep_is_one_base_variant() {
        let mut arena = String::new();
        let (document, sweep) = plan(BASE, &mut arena);
        assert_eq!(sweep.variant_count(), 1);
        let variant = sweep.variant(&document, 0);
        assert_eq!(variant.label, "base");
        assert!(variant.values.is_empty());
    }

    #[test]
    fn combinations_vary_the_first_key_slowest() {
        let source = format!(
            "{BASE}[sweep]\n\"balancer.algorithm\" = [\"random\", \"ip-hash\"]\n\
             \"workload.rate\" = [600, 0.5, 900]\n"
        );
        let mut arena = String::new();
        let (document, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors, []);
        assert_eq!(sweep.paths(), ["balancer.algorithm", "workload.rate"]);
        assert_eq!(sweep.variant_count(), 6);
        let labels: Vec<String> = (0..6).map(|i| sweep.variant(&document, i).label).collect();
        assert_eq!(
            labels,
            [
                "balancer.algorithm=random,workload.rate=600",
                "balancer.algorithm=random,workload.rate=0.5",
                "balancer.algorithm=random,workload.rate=900",
                "balancer.algorithm=ip-hash,workload.rate=600",
                "balancer.algorithm=ip-hash,workload.rate=0.5",
                "balancer.algorithm=ip-hash,workload.rate=900",
            ]
        );
        assert_eq!(sweep.variant(&document, 4).values, ["ip-hash", "0.5"]);
    }

    #[test]
    fn a_variant_sets_the_swept_values_and_drops_the_sweep_table() {
        let source = format!("{BASE}[sweep]\n\"servers.0.count\" = [5]\n");
        let mut arena = String::new();
        let (document, sweep) = plan(&source, &mut arena);
        let variant = sweep.variant(&document, 0);
        let table = variant.document.get_ref();
        assert!(table.get("sweep").is_none());
        let count = table["servers"].get_ref()[0].get_ref()["count"].clone();
        assert_eq!(count.get_ref().as_integer().map(|i| i.as_str()), Some("5"));
        assert_eq!(
            &source[count.span()],
            "5",
            "the value keeps its span in [sweep]"
        );
    }

    #[test]
    fn an_absent_key_and_table_are_added() {
        let source = format!(
            "{BASE}[sweep]\n\"workload.clients\" = [1, 2]\n\"balancer.algorithm\" = [\"random\"]\n"
        );
        let mut arena = String::new();
        let (document, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors, []);
        let variant = sweep.variant(&document, 1);
        let table = variant.document.get_ref();
        let clients = &table["workload"].get_ref()["clients"];
        assert_eq!(&source[clients.span()], "2");
        let algorithm = &table["balancer"].get_ref()["algorithm"];
        assert_eq!(algorithm.get_ref().as_str(), Some("random"));
    }

    #[test]
    fn unquoted_dotted_keys_sweep_the_same_path() {
        let source = format!("{BASE}[sweep]\nbalancer.algorithm = [\"random\"]\n");
        let mut arena = String::new();
        let (_, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors, []);
        assert_eq!(sweep.paths(), ["balancer.algorithm"]);
    }

    #[test]
    fn a_misspelled_key_is_named_with_the_closest_valid_one() {
        assert_eq!(
            resolve_error(BASE, "workload.clinets"),
            "\"workload\" has no key \"clinets\" to sweep, expected one of \"rate\", \
             \"arrivals\", \"service\", \"clients\", \"trace\", \"client_zones\", \"sessions\"; did you mean \"clients\"?"
        );
        assert!(resolve_error(BASE, "balancr.algorithm").ends_with("did you mean \"balancer\"?"));
    }

    #[test]
    fn a_key_that_moved_says_where_it_went() {
        assert_eq!(
            resolve_error(BASE, "health_check.panic_threshold"),
            "\"health_check\" has no key \"panic_threshold\" to sweep; `panic_threshold` is \
             a key of [balancer]: the panic threshold is the cluster's (Envoy's \
             healthy_panic_threshold), and outlier ejections count against it too"
        );
    }

    #[test]
    fn a_missing_group_index_is_an_error_naming_the_groups() {
        assert_eq!(
            resolve_error(BASE, "servers.3.count"),
            "there is no group servers.3: the file has one [[servers]] group, servers.0"
        );
        assert!(resolve_error(BASE, "servers.count").starts_with("expected a group index"));
        assert!(resolve_error(BASE, "servers.01.count").starts_with("expected a group index"));
    }

    #[test]
    fn scenario_wide_keys_tables_and_paths_through_values_cannot_be_swept() {
        assert!(resolve_error(BASE, "seed").contains("whole scenario"));
        assert!(resolve_error(BASE, "workload").contains("is a table"));
        assert!(resolve_error(BASE, "servers.0").contains("is a table"));
        assert!(resolve_error(BASE, "workload.rate.x").contains("single value"));
        assert!(resolve_error("workload = 3", "workload.rate").contains("not a table"));
    }

    #[test]
    fn bad_value_lists_are_reported_at_the_value() {
        let source = format!(
            "{BASE}[sweep]\n\"workload.rate\" = 5\n\"workload.clients\" = []\n\
             \"servers.0.count\" = [1, [2], 1]\n"
        );
        let mut arena = String::new();
        let (_, sweep) = plan(&source, &mut arena);
        let messages = messages(&sweep);
        assert_eq!(
            messages,
            [
                "sweep.\"workload.rate\": expected an array of values, found integer",
                "sweep.\"workload.clients\": expected at least one value",
                "sweep.\"servers.0.count\"[1]: expected a string, number or boolean, found array",
                "sweep.\"servers.0.count\"[2]: duplicate value 1 (also at index 0)",
            ]
        );
        assert!(sweep.keys.is_empty());
        assert_eq!(sweep.rejected.len(), 3);
    }

    #[test]
    fn a_range_sweeps_like_the_list_it_stands_for() {
        let source = format!(
            "{BASE}[sweep]\n\"workload.rate\" = {{ from = 0.1, to = 0.3, step = 0.1 }}\n\
             servers.0.count = {{ from = 1, to = 2, step = 1 }}\n"
        );
        let mut arena = String::new();
        let (document, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors, []);
        assert_eq!(sweep.paths(), ["workload.rate", "servers.0.count"]);
        assert_eq!(sweep.keys[0].labels, ["0.1", "0.2", "0.3"]);
        assert_eq!(sweep.keys[1].labels, ["1", "2"]);
        assert!(sweep.keys.iter().all(|k| k.numeric));
        let variant = sweep.variant(&document, 5);
        assert_eq!(variant.label, "workload.rate=0.3,servers.0.count=2");
        let rate = &variant.document.get_ref()["workload"].get_ref()["rate"];
        assert_eq!(rate.get_ref().as_float().map(|f| f.as_str()), Some("0.3"));
        assert!(
            source[rate.span()].starts_with("{ from = 0.1"),
            "a range value is located at its range"
        );
        let count = &variant.document.get_ref()["servers"].get_ref()[0].get_ref()["count"];
        assert_eq!(count.get_ref().as_integer().map(|i| i.as_str()), Some("2"));
    }

    #[test]
    fn a_range_can_be_written_as_a_nested_table() {
        let source =
            format!("{BASE}[sweep.workload]\nclients = {{ from = 10, to = 30, step = 10 }}\n");
        let mut arena = String::new();
        let (_, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors, []);
        assert_eq!(sweep.paths(), ["workload.clients"]);
        assert_eq!(sweep.keys[0].labels, ["10", "20", "30"]);
    }

    #[test]
    fn a_bad_range_is_reported_and_its_key_rejected() {
        let source = format!(
            "{BASE}[sweep]\n\"workload.rate\" = {{ from = 5, to = 1, step = 0 }}\n\
             \"workload.rat\" = {{ from = 1, to = 2, step = 1 }}\n"
        );
        let mut arena = String::new();
        let (_, sweep) = plan(&source, &mut arena);
        let messages = messages(&sweep);
        assert_eq!(
            messages,
            [
                "sweep.\"workload.rate\".step: expected a positive step, found 0",
                "sweep.\"workload.rate\".from: expected from at most to (1), found 5",
                "sweep.\"workload.rat\": \"workload\" has no key \"rat\" to sweep, expected \
                 one of \"rate\", \"arrivals\", \"service\", \"clients\", \"trace\", \"client_zones\", \"sessions\"; \
                 did you \
                 mean \"rate\"?",
            ]
        );
        assert!(sweep.keys.is_empty());
        assert_eq!(sweep.rejected, ["workload.rate", "workload.rat"]);
    }

    #[test]
    fn linked_keys_are_one_dimension_at_their_first_key() {
        // count and speed vary together, at count's place: before the algorithm.
        let source = format!(
            "{BASE}[sweep]\n\"servers.0.count\" = [4, 1]\n\
             \"balancer.algorithm\" = [\"random\", \"round-robin\", \"ip-hash\"]\n\
             \"servers.0.speed\" = {{ from = 1, to = 4, step = 3 }}\n\
             together = [[\"servers.0.speed\", \"servers.0.count\"]]\n"
        );
        let mut arena = String::new();
        let (document, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors, []);
        assert_eq!(
            sweep.paths(),
            ["servers.0.count", "balancer.algorithm", "servers.0.speed"],
            "`together` is no swept key, and the keys keep file order"
        );
        assert_eq!(sweep.dimensions(), [0, 1, 0]);
        assert_eq!(sweep.partners(0), [2]);
        assert_eq!(sweep.partners(1), Vec::<usize>::new());
        assert_eq!(
            sweep.variant_count(),
            6,
            "2 pairs × 3 algorithms, not 2 × 3 × 2"
        );
        let labels: Vec<String> = (0..6).map(|i| sweep.variant(&document, i).label).collect();
        assert_eq!(
            labels,
            [
                "servers.0.count=4,balancer.algorithm=random,servers.0.speed=1",
                "servers.0.count=4,balancer.algorithm=round-robin,servers.0.speed=1",
                "servers.0.count=4,balancer.algorithm=ip-hash,servers.0.speed=1",
                "servers.0.count=1,balancer.algorithm=random,servers.0.speed=4",
                "servers.0.count=1,balancer.algorithm=round-robin,servers.0.speed=4",
                "servers.0.count=1,balancer.algorithm=ip-hash,servers.0.speed=4",
            ]
        );
        let variant = sweep.variant(&document, 4);
        assert_eq!(variant.values, ["1", "round-robin", "4"]);
        let server = variant.document.get_ref()["servers"].get_ref()[0].clone();
        let server = server.get_ref();
        assert_eq!(
            server["count"].get_ref().as_integer().map(|i| i.as_str()),
            Some("1")
        );
        assert_eq!(
            server["speed"].get_ref().as_integer().map(|i| i.as_str()),
            Some("4")
        );
    }

    #[test]
    fn a_group_takes_the_place_of_its_first_key_in_file_order() {
        let source = format!(
            "{BASE}[sweep]\n\"workload.rate\" = [1, 2]\n\"servers.0.count\" = [3, 4, 5]\n\
             \"workload.clients\" = [6, 7]\n\
             together = [[\"workload.clients\", \"workload.rate\"]]\n"
        );
        let mut arena = String::new();
        let (document, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors, []);
        assert_eq!(sweep.dimensions(), [0, 1, 0]);
        let values: Vec<Vec<String>> = (0..sweep.variant_count())
            .map(|i| sweep.variant(&document, i).values)
            .collect();
        let expected: Vec<Vec<&str>> = vec![
            vec!["1", "3", "6"],
            vec!["1", "4", "6"],
            vec!["1", "5", "6"],
            vec!["2", "3", "7"],
            vec!["2", "4", "7"],
            vec!["2", "5", "7"],
        ];
        assert_eq!(values, expected);
    }

    #[test]
    fn a_bad_group_is_reported_and_its_keys_rejected() {
        let source = format!(
            "{BASE}[sweep]\n\"workload.rate\" = [1, 2, 3]\n\"servers.0.count\" = [3, 4]\n\
             \"workload.clients\" = [6, 7]\n\
             together = [[\"servers.0.count\", \"workload.rate\"]]\n"
        );
        let mut arena = String::new();
        let (document, sweep) = plan(&source, &mut arena);
        let messages = messages(&sweep);
        assert_eq!(
            messages,
            [
                "sweep.together[0][1]: \"workload.rate\" has 3 values but \"servers.0.count\" \
                 has 2: keys that vary together need as many values each"
            ]
        );
        let at = &source[sweep.errors[0].offset..];
        assert!(
            at.starts_with("\"workload.rate\"]]"),
            "located at the entry: {at}"
        );
        assert_eq!(sweep.paths(), ["workload.clients"]);
        assert_eq!(sweep.rejected, ["workload.rate", "servers.0.count"]);
        assert_eq!(sweep.variant_count(), 2);
        assert_eq!(sweep.variant(&document, 1).label, "workload.clients=7");
    }

    #[test]
    fn together_counts_as_one_dimension_against_the_variant_limit() {
        let values: Vec<String> = (0..101).map(|i| i.to_string()).collect();
        let list = values.join(", ");
        let source = format!(
            "{BASE}[sweep]\n\"workload.rate\" = [{list}]\n\"workload.clients\" = [{list}]\n\
             together = [[\"workload.rate\", \"workload.clients\"]]\n"
        );
        let mut arena = String::new();
        let (_, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors, []);
        assert_eq!(sweep.variant_count(), 101);
    }

    #[test]
    fn too_many_combinations_are_refused() {
        let values: Vec<String> = (0..101).map(|i| i.to_string()).collect();
        let list = values.join(", ");
        let source = format!(
            "{BASE}[sweep]\n\"workload.rate\" = [{list}]\n\"workload.clients\" = [{list}]\n"
        );
        let mut arena = String::new();
        let (_, sweep) = plan(&source, &mut arena);
        assert_eq!(sweep.errors.len(), 1);
        assert!(sweep.errors[0].message.contains("10201 variants"));
        assert_eq!(sweep.variant_count(), 1);
    }
}
